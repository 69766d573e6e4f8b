/**
 * The operator gates end to end: a `cohesix dev --manifest configs/full.toml` process over raw Secure9P
 * (NineClient), and cohsh over the TCP console and 9P against a hive booted from the same manifest.
 * The gated control node is /queen/ctl (rule `queen-ctl`); /queen/lifecycle/ctl is the non-gated
 * control sink whose writes /replay re-applies (the /host sample nodes are the /host provider's).
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { withDevPorts } from "../support/dev.ts";
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { EINVAL, EPERM } from "../../src/secure9p/errors.ts";
import { O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";
import { bootConfigFromManifest } from "../../src/codegen/mod.ts";
import { runEmbeddedSession } from "../../src/host/demo/embedded.ts";
import type { TransportKind } from "../../src/host/cohsh/connect.ts";
import type { CohshSession } from "../../src/host/cohsh/shell.ts";

const FULL_TOML = new URL("../../configs/full.toml", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();
const SPAWN = '{"spawn":"heartbeat","ticks":100}\n';

class Q {
  constructor(readonly c: NineClient, readonly root: number) {}
  async write(path: string, text: string): Promise<number> {
    const f = this.c.newFid();
    await this.c.walk(this.root, f, path.split("/").filter((p) => p !== ""));
    try {
      await this.c.open(f, O_WRONLY);
      return await this.c.write(f, 0, enc.encode(text));
    } catch (e) {
      if (e instanceof NineError) return -e.errno;
      throw e;
    } finally {
      await this.c.clunk(f);
    }
  }
  async read(path: string): Promise<string> {
    const f = this.c.newFid();
    await this.c.walk(this.root, f, path.split("/").filter((p) => p !== ""));
    try {
      await this.c.open(f, O_RDONLY);
      return dec.decode(await this.c.readAll(f));
    } finally {
      await this.c.clunk(f);
    }
  }
}

async function attach(port: number, role: string): Promise<Q> {
  const c = await NineClient.dial("127.0.0.1", port);
  const root = c.newFid();
  await c.attach(root, role, "");
  return new Q(c, root);
}

/** One dev process: the gate flow, then two control writes replayed; returns the replay status. */
async function devRun(): Promise<Record<string, number | string>> {
  let status: Record<string, number | string> = {};
  await withDevPorts(async ({ ninepPort }) => {
    const queen = await attach(ninepPort, "queen");
    const observer = await attach(ninepPort, "observer");
    try {
      assertStringIncludes(await queen.read("/proc/boot"), "manifest=");
      assertEquals(await queen.write("/queen/ctl", SPAWN), -EPERM);
      const approval = '{"id":"op-1","target":"/queen/ctl","decision":"approve"}\n';
      assertEquals(await queen.write("/actions/queue", approval), approval.length);
      assertStringIncludes(await queen.read("/actions/op-1/status"), "state=queued\n");
      assertEquals(await queen.write("/queen/ctl", SPAWN), SPAWN.length);
      assertStringIncludes(await queen.read("/actions/op-1/status"), "state=consumed\n");
      assertEquals(await queen.write("/queen/ctl", SPAWN), -EPERM);
      // Non-queen writes: refused by the role table, no approval queued.
      assertEquals(await observer.write("/actions/queue", approval.replace("op-1", "op-2")), -EPERM);
      assertEquals(await observer.write("/replay/ctl", '{"from":0}'), -EPERM);
      assert(!(await queen.read("/log/queen.log")).includes("approval=op-2"));
      // Two control writes after cursor `from`, then replay.
      const from = JSON.parse(await queen.read("/replay/status")).window_end as number;
      assertEquals(await queen.write("/queen/lifecycle/ctl", "cordon reason=maintenance"), 25);
      assertEquals(await queen.write("/queen/lifecycle/ctl", "resume"), 6);
      assertEquals(await queen.write("/replay/ctl", `{"from":${from + 3}}`), -EINVAL);
      assertEquals(await queen.write("/replay/ctl", `{"from":${from}}`), `{"from":${from}}`.length);
      status = JSON.parse(await queen.read("/replay/status"));
      const journal = (await queen.read("/audit/journal")).trim().split("\n").map((l) => JSON.parse(l));
      const denials = journal.filter((r) => r.kind === "write" && r.result === "EPERM");
      assertEquals(denials.map((r) => [r.path, r.role, r.ticket]), [["/queen/ctl", "queen", "none"], [
        "/queen/ctl",
        "queen",
        "none",
      ]]);
      assert(journal.some((r) => r.kind === "deny" && r.role === "observer" && r.path === "/actions/queue"));
    } finally {
      queen.c.close();
      observer.c.close();
    }
  }, ["--manifest", FULL_TOML]);
  return status;
}

Deno.test("cohesix dev --manifest configs/full.toml over 9P: gated write EPERM, approved once (status consumed), EPERM again; replay of two control writes gives entries 2 and the same hash in two hives", async () => {
  const a = await devRun();
  const b = await devRun();
  assertEquals(a.entries, 2);
  assertEquals(a.targets, 1);
  assertEquals(b.hash, a.hash);
  assertEquals(String(a.hash).length, 16);
});

async function ack(s: CohshSession, line: string): Promise<string> {
  return (await s.execute(line))?.ackLine ?? "";
}

for (const transport of ["tcp", "9p"] as TransportKind[]) {
  Deno.test(`cohsh over ${transport} against configs/full.toml: spawn refused without approval, approved once via echo to /actions/queue, replay status by cat`, async () => {
    const boot = await bootConfigFromManifest(FULL_TOML);
    await runEmbeddedSession(transport, async (s) => {
      assertEquals(await ack(s, "attach queen"), "OK ATTACH role=queen");
      assertStringIncludes(await ack(s, "spawn heartbeat ticks=5"), "error=EPERM");
      assertEquals(
        await ack(s, 'echo {"id":"c1","target":"/queen/ctl","decision":"approve"} > /actions/queue'),
        "OK ECHO path=/actions/queue bytes=54",
      );
      assertStringIncludes(await ack(s, "spawn heartbeat ticks=5"), "OK SPAWN");
      assertStringIncludes(
        (await s.execute("cat /actions/c1/status"))?.lines.join("\n") ?? "",
        "state=consumed",
      );
      assertStringIncludes(await ack(s, "spawn heartbeat ticks=5"), "error=EPERM");
      assertStringIncludes(
        await ack(s, 'echo {"id":"c2","target":"/queen/ctl","decision":"perhaps"} > /actions/queue'),
        "error=EINVAL",
      );
      assertStringIncludes(await ack(s, "ls /actions"), "entries=2");
      assertEquals(await ack(s, "lifecycle cordon"), "OK LIFECYCLE action=cordon");
      assertEquals(await ack(s, "lifecycle resume"), "OK LIFECYCLE action=resume");
      assertEquals(await ack(s, 'echo {"from":1} > /replay/ctl'), "OK ECHO path=/replay/ctl bytes=10");
      const st = (await s.execute("cat /replay/status"))?.lines.find((l) => l.startsWith("{")) ?? "";
      assertEquals(JSON.parse(st).entries, 2);
      assertStringIncludes(await ack(s, 'echo {"from":4} > /replay/ctl'), "error=EINVAL");
      const log = (await s.execute("log"))?.lines ?? [];
      assert(log.includes("policy outcome=deny path=/queen/ctl rule=queen-ctl"));
      assert(log.includes("policy outcome=consumed path=/queen/ctl approval=c1"));
    }, boot);
  });
}
