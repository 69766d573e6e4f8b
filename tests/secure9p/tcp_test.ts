/** TCP transport: our client against our server on loopback, parked reads via the poll timer. */
import { NineServer } from "../../src/secure9p/server.ts";
import { StaticNamespace } from "../../src/secure9p/static_namespace.ts";
import { serveTcp } from "../../src/secure9p/host/tcp.ts";
import { NineClient, TransportError } from "../../src/secure9p/host/client.ts";
import { O_RDONLY } from "../../src/secure9p/namespace.ts";
import { assert, assertEquals } from "../support/assert.ts";

Deno.test("serveTcp serves pipelined sessions and answers parked reads when data arrives", async () => {
  const ns = new StaticNamespace();
  const data = new Uint8Array(200_000).map((_, i) => i % 253);
  ns.addFile(0, "data", data, true);
  const pipe = ns.addPipe(0, "events");
  const server = new NineServer(ns, {
    msize: 8192,
    maxWalk: 8,
    maxSessions: 8,
    maxFidsPerSession: 16,
    maxTagsPerSession: 8,
  });
  const h = serveTcp(server, { port: 0, pollMs: 2 });
  try {
    const clients = await Promise.all([0, 1, 2].map(() => NineClient.dial("127.0.0.1", h.port)));
    assertEquals(h.sessions(), 3);
    const reads = clients.map(async (c) => {
      const root = c.newFid();
      await c.attach(root, "queen", "");
      const f = c.newFid();
      await c.walk(root, f, ["data"]);
      await c.open(f, O_RDONLY);
      return await c.readAll(f, 8);
    });
    for (const got of await Promise.all(reads)) assertEquals(got, data);

    const c = clients[0];
    const p = c.newFid();
    await c.walk(1, p, ["events"]);
    await c.open(p, O_RDONLY);
    const waiting = c.read(p, 0, 64);
    await new Promise((r) => setTimeout(r, 20));
    ns.push(pipe, new TextEncoder().encode("ping"), 0, 4);
    assertEquals(new TextDecoder().decode(await waiting), "ping");
    for (const x of clients) x.close();
  } finally {
    await h.close();
  }
  assertEquals([ns.sessions, ns.refs], [0, 0]);
});

Deno.test("serveTcp close ends connected clients with a TransportError", async () => {
  const server = new NineServer(new StaticNamespace(), {
    msize: 8192,
    maxWalk: 8,
    maxSessions: 2,
    maxFidsPerSession: 8,
    maxTagsPerSession: 4,
  });
  const h = serveTcp(server, { port: 0 });
  const c = await NineClient.dial("127.0.0.1", h.port);
  await h.close();
  const err = await c.attach(c.newFid(), "queen", "").catch((e) => e);
  assert(err instanceof TransportError, String(err));
  c.close();
  await c.closed();
});

Deno.test("serveTcp takes pipelined full-size Twrites and small requests between them byte-exact", async () => {
  const ns = new StaticNamespace();
  ns.addFile(0, "log", new Uint8Array(0), false);
  const server = new NineServer(ns, {
    msize: 8192,
    maxWalk: 8,
    maxSessions: 2,
    maxFidsPerSession: 16,
    maxTagsPerSession: 16,
  });
  const h = serveTcp(server, { port: 0 });
  try {
    const c = await NineClient.dial("127.0.0.1", h.port);
    const root = c.newFid();
    await c.attach(root, "queen", "");
    const f = c.newFid();
    await c.walk(root, f, ["log"]);
    await c.open(f, 2); // O_RDWR
    const data = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    const chunk = c.ioChunk;
    for (let round = 0; round < 2; round++) {
      // Big frames (the transport's large read buffer), then small ones (back to the small one).
      const writes: Promise<number>[] = [];
      for (let off = 0; off < data.length; off += chunk) {
        writes.push(c.write(f, off, data.subarray(off, Math.min(data.length, off + chunk))));
      }
      let total = 0;
      for (const n of await Promise.all(writes)) total += n;
      assertEquals(total, data.length);
      const g = c.newFid();
      await c.walk(root, g, ["log"]);
      assertEquals((await c.getattr(g)).size, data.length);
      await c.clunk(g);
    }
    const back = c.newFid();
    await c.walk(root, back, ["log"]);
    await c.open(back, O_RDONLY);
    assertEquals(await c.readAll(back, 4), data);
    c.close();
  } finally {
    await h.close();
  }
  assertEquals([ns.sessions, ns.refs], [0, 0]);
});
