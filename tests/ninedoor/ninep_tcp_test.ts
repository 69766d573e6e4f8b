/**
 * NineDoor over real 9P2000.L on TCP (NineServer + serveTcp + NineClient, ephemeral port):
 * spawn → telemetry lines → kill → directory gone, the open reader's fid gets Closed (EBADF),
 * the revocation is in /log/queen.log; a worker without a ticket is refused with EPERM.
 */
import { assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { NineServer } from "../../src/secure9p/server.ts";
import { serveTcp } from "../../src/secure9p/host/tcp.ts";
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { EBADF, ENOENT, EPERM } from "../../src/secure9p/errors.ts";
import { O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function errnoOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NineError) return e.errno;
    throw e;
  }
  return 0;
}

Deno.test("NineDoor over 9P TCP: spawn, telemetry, kill, retained then Closed reader and revocation line", async () => {
  const nd = new NineDoor(defaultBootConfig());
  nd.advance(0);
  const server = new NineServer(nd, {
    msize: 8192,
    maxWalk: 8,
    maxSessions: 4,
    maxFidsPerSession: 32,
    maxTagsPerSession: 8,
  });
  const tcp = serveTcp(server, { port: 0 });
  const c = await NineClient.dial("127.0.0.1", tcp.port);
  try {
    const root = c.newFid();
    await c.attach(root, "queen", "");
    const ctl = c.newFid();
    await c.walk(root, ctl, ["queen", "ctl"]);
    await c.open(ctl, O_WRONLY);
    assertEquals(await c.write(ctl, 0, enc.encode('{"spawn":"heartbeat","ticks":50}\n')), 33);

    const tel = c.newFid();
    await c.walk(root, tel, ["worker", "worker-1", "telemetry"]);
    await c.open(tel, O_RDONLY);
    nd.advance(1000);
    nd.advance(2000);
    assertEquals(dec.decode(await c.read(tel, 0, 4096)), "heartbeat 1\nheartbeat 2\n");
    // Resume at the cursor: only what came after.
    nd.advance(3000);
    assertEquals(dec.decode(await c.read(tel, 24, 4096)), "heartbeat 3\n");

    assertEquals(await c.write(ctl, 0, enc.encode('{"kill":"worker-1"}\n')), 20);
    // Exited: the final contents stay readable for workers.retain_s (60 s), then the reader is Closed.
    assertEquals(dec.decode(await c.read(tel, 0, 4096)), "heartbeat 1\nheartbeat 2\nheartbeat 3\n");
    nd.advance(62999);
    assertEquals(dec.decode(await c.read(tel, 36, 4096)), "");
    nd.advance(63000);
    assertEquals(await errnoOf(c.read(tel, 36, 4096)), EBADF);
    const dir = c.newFid();
    await c.walk(root, dir, ["worker"]);
    await c.open(dir, O_RDONLY);
    assertEquals((await c.readdirAll(dir)).map((e) => e.name).filter((n) => n !== "." && n !== ".."), []);
    assertEquals(await errnoOf(c.walk(root, c.newFid(), ["worker", "worker-1"])), ENOENT);

    const log = c.newFid();
    await c.walk(root, log, ["log", "queen.log"]);
    await c.open(log, O_RDONLY);
    assertStringIncludes(
      dec.decode(await c.readAll(log)),
      "revoke worker=worker-1 reason=killed tick=3 ops=0\n",
    );

    assertEquals(await errnoOf(c.attach(c.newFid(), "worker-heartbeat", "")), EPERM);
  } finally {
    c.close();
    await tcp.close();
  }
});

Deno.test("NineDoor over 9P TCP refuses an unknown role at attach", async () => {
  const nd = new NineDoor(defaultBootConfig());
  const server = new NineServer(nd, {
    msize: 8192,
    maxWalk: 8,
    maxSessions: 2,
    maxFidsPerSession: 8,
    maxTagsPerSession: 4,
  });
  const tcp = serveTcp(server, { port: 0 });
  const c = await NineClient.dial("127.0.0.1", tcp.port);
  try {
    await assertRejects(() => c.attach(c.newFid(), "emperor", ""), /EPERM/);
  } finally {
    c.close();
    await tcp.close();
  }
});
