/**
 * The observability files over raw Secure9P against the `cohesix dev` runtime (HostedHive, the
 * default manifest): an observer connection watches a queen connection come and go in /proc/root and
 * /proc/9p/session, sees a refused write counted in /proc/pressure/policy, and a worker's telemetry
 * read counted in /proc/ingest. The files are read-only nodes: even the queen's write is refused.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";
import { EPERM, EROFS } from "../../src/secure9p/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function readText(c: NineClient, root: number, path: string): Promise<string> {
  const fid = c.newFid();
  await c.walk(root, fid, path.split("/").filter(Boolean));
  await c.open(fid, O_RDONLY);
  const text = dec.decode(await c.read(fid, 0, 4096));
  await c.clunk(fid);
  return text;
}

async function writeErrno(c: NineClient, root: number, path: string, text: string): Promise<number> {
  const fid = c.newFid();
  try {
    await c.walk(root, fid, path.split("/").filter(Boolean));
    await c.open(fid, O_WRONLY);
    await c.write(fid, 0, enc.encode(text));
    return 0;
  } catch (e) {
    if (e instanceof NineError) return e.errno;
    throw e;
  } finally {
    await c.clunk(fid).catch(() => {});
  }
}

Deno.test("9P: an observer sees the queen's session in /proc/root and /proc/9p/session, refusals in /proc/pressure and reads in /proc/ingest", async () => {
  const clock = { now: 1000 };
  const hive = HostedHive.start({ ninepPort: 0, noConsole: true, boot: BOOT_CONFIG, clock: () => clock.now, tickMs: 5 });
  const obs = await NineClient.dial("127.0.0.1", hive.ninepPort);
  try {
    const oroot = obs.newFid();
    await obs.attach(oroot, "observer", "");
    assertEquals(await readText(obs, oroot, "/proc/root/reachable"), "reachable=no\n");
    assertEquals(await readText(obs, oroot, "/proc/root/cut_reason"), "cut_reason=network_unreachable\n");
    const queen = await NineClient.dial("127.0.0.1", hive.ninepPort);
    const qroot = queen.newFid();
    await queen.attach(qroot, "queen", "");
    assertEquals(await readText(obs, oroot, "/proc/root/reachable"), "reachable=yes\n");
    assertEquals(await readText(obs, oroot, "/proc/9p/session/active"), "active=2\n");
    assertEquals(await readText(obs, oroot, "/proc/9p/session/1/owner"), "owner=queen/-\n");
    // Tattach already served a request (the root's qid), so the session is ACTIVE from its attach on.
    assertEquals(await readText(obs, oroot, "/proc/9p/session/1/state"), "state=ACTIVE\n");
    assertEquals(await readText(obs, oroot, "/proc/9p/session/1/since_ms"), "since_ms=1000\n");
    // The observer's role is read-only: its write is refused (policy), and the files themselves are read-only.
    assertEquals(await writeErrno(obs, oroot, "/queen/ctl", '{"spawn":"heartbeat","ticks":10}\n'), EPERM);
    assertEquals(await readText(obs, oroot, "/proc/pressure/policy"), "policy=1\n");
    assertEquals(await writeErrno(queen, qroot, "/proc/root/reachable", "reachable=no\n"), EROFS);
    assertEquals(await writeErrno(queen, qroot, "/queen/ctl", '{"spawn":"heartbeat","ticks":10}\n'), 0);
    clock.now = 3000;
    hive.hive.advance(clock.now);
    assert((await readText(queen, qroot, "/worker/worker-1/telemetry")).startsWith("heartbeat 1\n"));
    assertEquals(await readText(obs, oroot, "/proc/ingest/p50_ms"), "p50_ms=1000 samples=1\n", "the first heartbeat waited 1 s");
    queen.close();
  } finally {
    obs.close();
    await hive.stop();
  }
});
