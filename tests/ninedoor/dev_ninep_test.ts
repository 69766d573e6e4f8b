/**
 * The integration path: the `cohesix dev` runtime (HostedHive) serving NineDoor on an
 * ephemeral 9P TCP port with an injected clock. Spawn heartbeat → telemetry lines appear →
 * kill → directory gone, the reader's fid gets Closed (EBADF), revocation line in the log.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { EBADF } from "../../src/secure9p/errors.ts";
import { O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function until(ok: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("HostedHive serves NineDoor over 9P: heartbeat lifecycle, retained then Closed reader, revocation", async () => {
  let now = 0;
  const hive = HostedHive.start({
    ninepPort: 0,
    noConsole: true,
    boot: defaultBootConfig(),
    clock: () => now,
    tickMs: 5,
  });
  const c = await NineClient.dial("127.0.0.1", hive.ninepPort);
  try {
    const root = c.newFid();
    await c.attach(root, "queen", "");
    const ctl = c.newFid();
    await c.walk(root, ctl, ["queen", "ctl"]);
    await c.open(ctl, O_WRONLY);
    await c.write(ctl, 0, enc.encode('{"spawn":"heartbeat","ticks":100}\n'));
    const tel = c.newFid();
    await c.walk(root, tel, ["worker", "worker-1", "telemetry"]);
    await c.open(tel, O_RDONLY);
    now = 2000; // the runtime's timer hands this to Hive.advance
    await until(
      async () => dec.decode(await c.read(tel, 0, 4096)) === "heartbeat 1\nheartbeat 2\n",
      "two heartbeats",
    );
    await c.write(ctl, 0, enc.encode('{"kill":"worker-1"}\n'));
    // The exited worker's telemetry stays readable until workers.retain_s (60 s) has passed.
    assertEquals(dec.decode(await c.read(tel, 0, 4096)), "heartbeat 1\nheartbeat 2\n");
    now = 2000 + 60000;
    const readErrno = async () => {
      try {
        await c.read(tel, 24, 4096);
        return 0;
      } catch (e) {
        return e instanceof NineError ? e.errno : -1;
      }
    };
    await until(async () => (await readErrno()) === EBADF, "the retained telemetry to close");
    const dir = c.newFid();
    await c.walk(root, dir, ["worker"]);
    await c.open(dir, O_RDONLY);
    assertEquals((await c.readdirAll(dir)).map((e) => e.name).filter((n) => n !== "." && n !== ".."), []);
    const log = c.newFid();
    await c.walk(root, log, ["log", "queen.log"]);
    await c.open(log, O_RDONLY);
    assertStringIncludes(
      dec.decode(await c.readAll(log)),
      "revoke worker=worker-1 reason=killed tick=2 ops=0\n",
    );
  } finally {
    c.close();
    await hive.stop();
  }
});
