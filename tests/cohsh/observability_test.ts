/**
 * The observability files through cohsh, over the TCP console and over 9P, against a hosted hive
 * booted from the default manifest: `cat` of /proc/root, /proc/9p/session, /proc/pressure and
 * /proc/ingest answers `key=value` data, `ls` lists exactly the gated nodes, and a refused command
 * moves the policy counter.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { runEmbeddedSession } from "../../src/host/demo/embedded.ts";
import type { TransportKind } from "../../src/host/cohsh/connect.ts";
import type { CohshSession } from "../../src/host/cohsh/shell.ts";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";

const TRANSPORTS: TransportKind[] = ["tcp", "9p"];

async function ack(s: CohshSession, line: string): Promise<string> {
  return (await s.execute(line))?.ackLine ?? "";
}

async function listing(s: CohshSession, path: string): Promise<string[]> {
  const r = await s.execute(`ls ${path}`);
  assert(r?.ackLine.startsWith("OK LS"), r?.ackLine);
  // cohsh lists names sorted.
  return r!.lines.filter((l) => l !== r!.ackLine && l !== "END").sort();
}

for (const transport of TRANSPORTS) {
  Deno.test(`cohsh over ${transport}: /proc/root, /proc/9p/session, /proc/pressure and /proc/ingest read as key=value`, async () => {
    await runEmbeddedSession(transport, async (s) => {
      assertEquals(await ack(s, "attach queen"), "OK ATTACH role=queen");
      assertEquals(await listing(s, "/proc/root"), ["reachable", "last_seen_ms", "cut_reason"].sort());
      assertEquals(await listing(s, "/proc/pressure"), ["counters", "busy", "quota", "cut", "policy"].sort());
      assertEquals(await listing(s, "/proc/ingest"), ["p50_ms", "p95_ms", "backpressure", "dropped", "queued", "watch"].sort());
      assertEquals((await listing(s, "/proc/9p/session")).length, 1 + BOOT_CONFIG.limits.maxSessions, "active + a directory per slot");
      assertEquals(await ack(s, "cat /proc/root/reachable"), "OK CAT path=/proc/root/reachable data=reachable=yes");
      assertEquals(await ack(s, "cat /proc/root/cut_reason"), "OK CAT path=/proc/root/cut_reason data=cut_reason=none");
      assertEquals(await ack(s, "cat /proc/root/last_seen_ms"), "OK CAT path=/proc/root/last_seen_ms data=last_seen_ms=0");
      assertEquals(await ack(s, "cat /proc/9p/session/active"), "OK CAT path=/proc/9p/session/active data=active=1");
      assertEquals(await ack(s, "cat /proc/9p/session/0/state"), "OK CAT path=/proc/9p/session/0/state data=state=ACTIVE");
      assertEquals(await ack(s, "cat /proc/9p/session/0/owner"), "OK CAT path=/proc/9p/session/0/owner data=owner=queen/-");
      assertEquals(await ack(s, "cat /proc/pressure/policy"), "OK CAT path=/proc/pressure/policy data=policy=0");
      assertEquals(await ack(s, "cat /proc/ingest/queued"), "OK CAT path=/proc/ingest/queued data=queued=0");
      assertEquals(await ack(s, "cat /proc/ingest/p95_ms"), "OK CAT path=/proc/ingest/p95_ms data=p95_ms=0 samples=0");
      // The files are read-only nodes: a write is refused.
      const refused = await ack(s, "echo x > /proc/root/reachable");
      assert(refused.startsWith("ERR"), refused);
    });
  });
}
