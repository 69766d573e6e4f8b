/**
 * Sharding and lifecycle over raw Secure9P against the `cohesix dev` runtime (HostedHive): the
 * 256 shard directories, a worker's telemetry at /shard/<label>/worker/<id> and its legacy alias
 * (one ring), a worker's view limited to its own shard, every invalid lifecycle transition answered
 * EINVAL with the state unchanged, and a cordoned hive refusing a worker's Tattach with EPERM.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type BootConfig, defaultBootConfig } from "../../src/guest/boot.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { EINVAL, ENOENT, EPERM } from "../../src/secure9p/errors.ts";
import { O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";
import { keyPair } from "../../src/host/ticket/codec.ts";
import { testTicket } from "../support/tickets.ts";
import { LIFECYCLE_ACTIONS, LIFECYCLE_STATES } from "../../src/guest/ninedoor/providers/lifecycle.ts";
import { shardLabel } from "../../src/guest/ninedoor/shard.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const KEY = keyPair(new Uint8Array(32).fill(7));

const VALID: Record<string, string[]> = {
  cordon: ["ONLINE", "DEGRADED"],
  drain: ["DRAINING"],
  quiesce: ["ONLINE", "DEGRADED", "DRAINING"],
  resume: ["BOOTING", "DEGRADED", "DRAINING", "QUIESCED", "OFFLINE"],
  reset: ["DEGRADED", "ONLINE", "DRAINING", "QUIESCED", "OFFLINE"],
};

async function withHive(boot: BootConfig, body: (c: NineClient, root: number, clock: { now: number }) => Promise<void>) {
  const clock = { now: 0 };
  const hive = HostedHive.start({ ninepPort: 0, noConsole: true, boot, clock: () => clock.now, tickMs: 5 });
  const c = await NineClient.dial("127.0.0.1", hive.ninepPort);
  try {
    const root = c.newFid();
    await c.attach(root, "queen", "");
    await body(c, root, clock);
  } finally {
    c.close();
    await hive.stop();
  }
}

async function errno(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (e) {
    if (e instanceof NineError) return e.errno;
    throw e;
  }
}

async function open(c: NineClient, root: number, path: string, flags: number): Promise<number> {
  const fid = c.newFid();
  await c.walk(root, fid, path.split("/").filter(Boolean));
  await c.open(fid, flags);
  return fid;
}

async function readText(c: NineClient, root: number, path: string): Promise<string> {
  const fid = await open(c, root, path, O_RDONLY);
  const text = dec.decode(await c.read(fid, 0, 4096));
  await c.clunk(fid);
  return text;
}

async function writeText(c: NineClient, root: number, path: string, text: string): Promise<number> {
  const fid = c.newFid();
  try {
    await c.walk(root, fid, path.split("/").filter(Boolean));
    await c.open(fid, O_WRONLY);
    return await c.write(fid, 0, enc.encode(text));
  } catch (e) {
    if (e instanceof NineError) return -e.errno;
    throw e;
  } finally {
    await c.clunk(fid).catch(() => {});
  }
}

async function until(ok: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function lifecycleBoot(state: string): BootConfig {
  const b = defaultBootConfig();
  b.lifecycle = { initialState: state, autoTransitions: [] };
  return b;
}

Deno.test("9P: /shard lists 256 labels; a worker's telemetry is at /shard/<sha256 label>/worker/<id> and its /worker alias", async () => {
  const boot = defaultBootConfig();
  boot.ticketKeys = [KEY];
  await withHive(boot, async (c, root, clock) => {
    const dir = c.newFid();
    await c.walk(root, dir, ["shard"]);
    await c.open(dir, O_RDONLY);
    const labels = (await c.readdirAll(dir)).map((e) => e.name).filter((n) => n !== "." && n !== "..");
    assertEquals(labels, [...Array(256).keys()].map((i) => i.toString(16).padStart(2, "0")));
    assertEquals(await writeText(c, root, "/queen/ctl", '{"spawn":"heartbeat","ticks":100}\n{"spawn":"heartbeat","ticks":100}\n'), 68);
    assertEquals([shardLabel("worker-1", 8), shardLabel("worker-2", 8)], ["13", "1c"]);
    clock.now = 2000;
    await until(async () => (await readText(c, root, "/shard/13/worker/worker-1/telemetry")) === "heartbeat 1\nheartbeat 2\n", "heartbeats");
    assertEquals(await readText(c, root, "/worker/worker-1/telemetry"), "heartbeat 1\nheartbeat 2\n");
    assertEquals(await errno(c.walk(root, c.newFid(), ["shard", "1c", "worker", "worker-1"])), ENOENT);
    assertEquals(await readText(c, root, "/shard/1c/worker/worker-2/telemetry"), "heartbeat 1\nheartbeat 2\n");
  });
});

Deno.test("9P: a worker reaches only its own shard; the other shards and other workers are Permission", async () => {
  const boot = defaultBootConfig();
  boot.ticketKeys = [KEY];
  const clock = { now: 0 };
  const hive = HostedHive.start({ ninepPort: 0, noConsole: true, boot, clock: () => clock.now, tickMs: 5 });
  const q = await NineClient.dial("127.0.0.1", hive.ninepPort);
  const w = await NineClient.dial("127.0.0.1", hive.ninepPort);
  try {
    const qroot = q.newFid();
    await q.attach(qroot, "queen", "");
    assertEquals(await writeText(q, qroot, "/queen/ctl", '{"spawn":"heartbeat","ticks":100}\n{"spawn":"heartbeat","ticks":100}\n'), 68);
    const root = w.newFid();
    await w.attach(root, "worker-heartbeat", testTicket("worker-heartbeat", "worker-1", "00000000000000ab", KEY.secretKey));
    assertEquals(await writeText(w, root, "/shard/13/worker/worker-1/telemetry", "own shard\n"), 10);
    assertEquals(await writeText(w, root, "/worker/worker-1/telemetry", "alias\n"), 6);
    assertEquals(await readText(q, qroot, "/shard/13/worker/worker-1/telemetry"), "own shard\nalias\n");
    // A multi-name Twalk that stops early is a partial walk (the client reports ENOENT); one name at
    // a time shows the refusal itself: /shard may be walked (an ancestor of the worker's rule), not read,
    // and no other label may be entered.
    assert(await writeText(w, root, "/shard/1c/worker/worker-2/telemetry", "not mine\n") < 0);
    const sh = w.newFid();
    await w.walk(root, sh, ["shard"]);
    assertEquals(await errno(w.walk(sh, w.newFid(), ["1c"])), EPERM);
    assertEquals(await errno(w.walk(sh, w.newFid(), ["13"])), 0);
    assertEquals(await errno(w.open(sh, O_RDONLY)), EPERM);
    assertEquals(await readText(q, qroot, "/shard/1c/worker/worker-2/telemetry"), "");
  } finally {
    q.close();
    w.close();
    await hive.stop();
  }
});

Deno.test("9P: every invalid lifecycle transition is EINVAL and leaves the state; every valid one moves it", async () => {
  let invalid = 0;
  let valid = 0;
  for (const from of LIFECYCLE_STATES) {
    await withHive(lifecycleBoot(from), async (c, root) => {
      for (const action of LIFECYCLE_ACTIONS) {
        if (VALID[action].includes(from)) continue;
        assertEquals(await writeText(c, root, "/queen/lifecycle/ctl", `${action}\n`), -EINVAL, `${action} from ${from}`);
        assertEquals(await readText(c, root, "/proc/lifecycle/state"), `state=${from}\n`);
        invalid++;
      }
    });
    for (const action of LIFECYCLE_ACTIONS) {
      if (!VALID[action].includes(from)) continue;
      await withHive(lifecycleBoot(from), async (c, root) => {
        assertEquals(await writeText(c, root, "/queen/lifecycle/ctl", `${action}\n`), action.length + 1);
        assert((await readText(c, root, "/proc/lifecycle/state")) !== `state=${from}\n`, `${action} from ${from}`);
        assertEquals(await readText(c, root, "/proc/lifecycle/reason"), `reason=${action}\n`);
      });
      valid++;
    }
  }
  assertEquals([invalid, valid], [14, 16]);
});

Deno.test("9P: a cordoned hive refuses a worker's Tattach with EPERM; resume lets it attach", async () => {
  const boot = defaultBootConfig();
  boot.ticketKeys = [KEY];
  await withHive(boot, async (c, root) => {
    assertEquals(await writeText(c, root, "/queen/ctl", '{"spawn":"heartbeat","ticks":100}\n'), 34);
    assertEquals(await writeText(c, root, "/queen/lifecycle/ctl", "cordon\n"), 7);
    const tk = testTicket("worker-heartbeat", "worker-1", "00000000000000ac", KEY.secretKey);
    assertEquals(await errno(c.attach(c.newFid(), "worker-heartbeat", tk)), EPERM);
    const log = await readText(c, root, "/log/queen.log");
    assert(log.includes("lifecycle denied action=worker-attach state=DRAINING reason=gate-denied\n"), log);
    assertEquals(await writeText(c, root, "/queen/lifecycle/ctl", "resume\n"), 7);
    assertEquals(await errno(c.attach(c.newFid(), "worker-heartbeat", tk)), 0);
  });
});
