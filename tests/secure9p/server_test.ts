/** Server core over the in-process transport: operations, red lines, tags, flow control, fuzz. */
import fc from "fast-check";
import * as C from "../../src/secure9p/codec.ts";
import * as E from "../../src/secure9p/errors.ts";
import { NineServer, type ServerLimits } from "../../src/secure9p/server.ts";
import { StaticNamespace } from "../../src/secure9p/static_namespace.ts";
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { InProcessConn } from "../../src/secure9p/host/conn.ts";
import { encodeReq } from "../../src/secure9p/host/client.ts";
import { O_RDONLY, O_RDWR, O_WRONLY } from "../../src/secure9p/namespace.ts";
import { assert, assertEquals, assertRejects } from "../support/assert.ts";

const LIMITS: ServerLimits = {
  msize: 8192,
  maxWalk: 8,
  maxSessions: 4,
  maxFidsPerSession: 32,
  maxTagsPerSession: 4,
};
const text = new TextEncoder();

function fixture(limits: ServerLimits = LIMITS) {
  const ns = new StaticNamespace();
  const etc = ns.addDir(0, "etc");
  ns.addFile(etc, "motd", text.encode("hello 9p\n"), true);
  ns.addFile(0, "rw", new Uint8Array(0), false);
  const pipe = ns.addPipe(0, "events");
  const server = new NineServer(ns, limits);
  return { ns, server, pipe };
}

async function client(server: NineServer, msize = 8192) {
  const conn = new InProcessConn(server);
  const c = await NineClient.connect(conn, { msize });
  const root = c.newFid();
  await c.attach(root, "queen", "");
  return { c, conn, root };
}

async function errnoOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NineError) return e.errno;
    throw e;
  }
  throw new Error("expected an Rlerror");
}

/** Raw session: feed frames, collect decoded replies as [type, tag, first number]. */
class Raw {
  s: number;
  out = new Uint8Array(70000);
  constructor(public server: NineServer) {
    this.s = server.openSession();
  }
  send(frame: Uint8Array): [number, number, number][] {
    this.server.input(this.s, frame, 0, frame.length);
    const n = this.server.output(this.s, this.out, 0, this.out.length);
    const replies: [number, number, number][] = [];
    const f = new C.Fcall();
    let p = 0;
    while (p < n) {
      const size = C.getU32(this.out, p);
      assertEquals(C.decode(this.out, p, size, f), 0);
      replies.push([f.type, f.tag, f.nCount > 0 ? f.n[0] : 0]);
      p += size;
    }
    return replies;
  }
  req(type: number, tag: number, nums: (number | bigint)[], strs: string[] = [], data?: Uint8Array) {
    return this.send(encodeReq(type, tag, { nums, strs, data }, 1 << 20));
  }
}

Deno.test("NineServer grants at most 8192 when 65536 is asked", async () => {
  const { server } = fixture({ ...LIMITS, msize: 65536 });
  const conn = new InProcessConn(server);
  const c = await NineClient.connect(conn, { msize: 65536 });
  assertEquals(c.msize, 8192);
  c.close();
});

Deno.test("NineServer walks, opens, reads, writes, stats and lists the namespace", async () => {
  const { server, ns } = fixture();
  const { c, root } = await client(server);
  const motd = c.newFid();
  const qids = await c.walk(root, motd, ["etc", "motd"]);
  assertEquals(qids.map((q) => q.type), [0x80, 0]);
  const { iounit } = await c.open(motd, O_RDONLY);
  assertEquals(iounit, 8192 - 11);
  assertEquals(new TextDecoder().decode(await c.readAll(motd)), "hello 9p\n");
  const attr = await c.getattr(motd);
  assertEquals([attr.size, attr.mode, attr.nlink], [9, 0o100444, 1]);

  const rw = c.newFid();
  await c.walk(root, rw, ["rw"]);
  await c.open(rw, O_RDWR);
  const payload = new Uint8Array(20000).map((_, i) => (i * 7) % 256);
  for (let off = 0; off < payload.length; off += c.ioChunk) {
    const part = payload.subarray(off, off + c.ioChunk);
    assertEquals(await c.write(rw, off, part), part.length);
  }
  assertEquals(await c.readAll(rw, 4), payload);

  const dir = c.newFid();
  await c.walk(root, dir, []);
  await c.open(dir, O_RDONLY);
  assertEquals((await c.readdirAll(dir)).map((e) => [e.name, e.type]), [["etc", 4], ["rw", 8], [
    "events",
    8,
  ]]);
  const fs = await c.statfs(root);
  assertEquals([fs.type, fs.namelen], [0x01021997, 255]);
  for (const fid of [motd, rw, dir, root]) await c.clunk(fid);
  assertEquals(ns.refs, 0);
  c.close();
});

Deno.test("NineServer creates, makes directories and removes through the namespace", async () => {
  const { server, ns } = fixture();
  const { c, root } = await client(server);
  const d = c.newFid();
  await c.walk(root, d, []);
  const q = await c.mkdir(d, "logs", 0o755, 0);
  assertEquals(q.type, 0x80);
  const f = c.newFid();
  await c.walk(root, f, ["logs"]);
  await c.create(f, "a.txt", O_WRONLY, 0o644);
  assertEquals(await c.write(f, 0, text.encode("abc")), 3);
  await c.clunk(f);
  const again = c.newFid();
  await c.walk(root, again, ["logs", "a.txt"]);
  assertEquals((await c.getattr(again)).size, 3);
  await c.remove(again);
  assertEquals(await errnoOf(c.walk(root, c.newFid(), ["logs", "a.txt"])), E.ENOENT);
  await c.unlinkat(d, "logs");
  assertEquals(await errnoOf(c.walk(root, c.newFid(), ["logs"])), E.ENOENT);
  await c.clunk(d);
  await c.clunk(root);
  assertEquals(ns.refs, 0);
  c.close();
});

Deno.test("NineServer refuses the red lines with deterministic errnos and keeps serving", async () => {
  const { server } = fixture();
  const { c, root } = await client(server);
  const nine = ["etc", "etc", "etc", "etc", "etc", "etc", "etc", "etc", "etc"];
  assertEquals(await errnoOf(c.walk(root, c.newFid(), nine)), E.EINVAL);
  assertEquals(await errnoOf(c.walk(root, c.newFid(), [".."])), E.EINVAL);
  assertEquals(await errnoOf(c.walk(root, c.newFid(), ["etc", ".."])), E.EINVAL);
  assertEquals(await errnoOf(c.walk(root, c.newFid(), ["."])), E.EINVAL);
  assertEquals(await errnoOf(c.walk(root, c.newFid(), [""])), E.EINVAL);
  assertEquals(await errnoOf(c.walk(root, c.newFid(), ["etc/motd"])), E.EINVAL);
  assertEquals(await errnoOf(c.walk(root, c.newFid(), ["nope"])), E.ENOENT);
  // Partial walk: the qids up to the failure, and no new fid.
  const partial = c.newFid();
  assertEquals(await errnoOf(c.walk(root, partial, ["etc", "nope"])), E.ENOENT);
  assertEquals(await errnoOf(c.getattr(partial)), E.EBADF);
  // A clunked fid number is retired.
  const f = c.newFid();
  await c.walk(root, f, ["etc"]);
  await c.clunk(f);
  assertEquals(await errnoOf(c.walk(root, f, [])), E.EINVAL);
  assertEquals(await errnoOf(c.clunk(f)), E.EBADF);
  assertEquals(await errnoOf(c.getattr(f)), E.EBADF);
  // An fid in use cannot be a new fid; a read needs an open fid; a read-only file refuses writes.
  const busy = c.newFid();
  await c.walk(root, busy, []);
  assertEquals(await errnoOf(c.walk(root, busy, ["etc"])), E.EBUSY);
  const motd = c.newFid();
  await c.walk(root, motd, ["etc", "motd"]);
  assertEquals(await errnoOf(c.read(motd, 0, 10)), E.EBADF);
  assertEquals(await errnoOf(c.open(motd, O_WRONLY)), E.EPERM);
  await c.open(motd, O_RDONLY);
  assertEquals(await errnoOf(c.write(motd, 0, text.encode("x"))), E.EBADF);
  assertEquals(await errnoOf(c.open(motd, O_RDONLY)), E.EBUSY);
  // Still serving this session and another one.
  assertEquals((await c.read(motd, 0, 5)).length, 5);
  const other = await client(server);
  assertEquals((await other.c.walk(other.root, other.c.newFid(), ["etc", "motd"])).length, 2);
  other.c.close();
  c.close();
});

Deno.test("NineServer answers malformed frames per frame and a second session is still served", () => {
  const { server } = fixture();
  const raw = new Raw(server);
  assertEquals(raw.req(C.Tversion, 1, [65536], ["9P2000.L"]), [[C.Rversion, 1, 8192]]);
  // Attach before... already versioned: attach then hostile frames.
  assertEquals(raw.req(C.Tattach, 2, [1, C.NOFID, 0], ["queen", ""])[0][0], C.Rattach);
  // Truncated body: a Twalk whose size covers only half a field.
  assertEquals(raw.send(new Uint8Array([9, 0, 0, 0, C.Twalk, 3, 0, 1, 0])), [[C.Rlerror, 3, E.EPROTO]]);
  // Bogus type, and an R-message sent to the server.
  assertEquals(raw.send(new Uint8Array([7, 0, 0, 0, 250, 4, 0])), [[C.Rlerror, 4, E.EOPNOTSUPP]]);
  assertEquals(raw.send(new Uint8Array([7, 0, 0, 0, C.Rclunk, 5, 0])), [[C.Rlerror, 5, E.EOPNOTSUPP]]);
  // A known message the server does not implement.
  assertEquals(raw.req(C.Tsymlink, 6, [1, 0], ["a", "b"]), [[C.Rlerror, 6, E.EOPNOTSUPP]]);
  // A partial walk answers the qids walked (one here) and makes no new fid.
  assertEquals(raw.req(C.Twalk, 9, [1, 5, 2], ["etc", "nope"]), [[C.Rwalk, 9, 1]]);
  assertEquals(raw.req(C.Tgetattr, 10, [5, 0x7ff]), [[C.Rlerror, 10, E.EBADF]]);
  // Oversized frame: refused with EMSGSIZE, its body discarded, the next frame served.
  const big = encodeReq(C.Twrite, 7, { nums: [1, 0, 9000], data: new Uint8Array(9000) }, 1 << 20);
  assertEquals(raw.send(big), [[C.Rlerror, 7, E.EMSGSIZE]]);
  assertEquals(raw.req(C.Tclunk, 8, [1]), [[C.Rclunk, 8, 0]]);
  assertEquals(server.closed(raw.s), false);
  // A size below the header cannot be answered or skipped: the session ends.
  raw.send(new Uint8Array([3, 0, 0, 0]));
  assertEquals(server.closed(raw.s), true);
  const second = new Raw(server);
  assertEquals(second.req(C.Tversion, 1, [8192], ["9P2000.L"]), [[C.Rversion, 1, 8192]]);
  assertEquals(second.req(C.Tattach, 2, [1, C.NOFID, 0], ["queen", ""])[0][0], C.Rattach);
});

Deno.test("NineServer requires Tversion first and answers an unknown version with 'unknown'", () => {
  const { server } = fixture();
  const raw = new Raw(server);
  assertEquals(raw.req(C.Tattach, 1, [1, C.NOFID, 0], ["queen", ""]), [[C.Rlerror, 1, E.EINVAL]]);
  const f = new C.Fcall();
  server.input(raw.s, encodeReq(C.Tversion, 2, { nums: [8192], strs: ["9P2000"] }, 8192), 0, 19);
  const n = server.output(raw.s, raw.out, 0, raw.out.length);
  assertEquals(C.decode(raw.out, 0, n, f), 0);
  assertEquals(new TextDecoder().decode(f.sBuf.subarray(f.sOff[0], f.sOff[0] + f.sLen[0])), "unknown");
  assertEquals(raw.req(C.Tattach, 3, [1, C.NOFID, 0], ["queen", ""]), [[C.Rlerror, 3, E.EINVAL]]);
  assertEquals(raw.req(C.Tversion, 4, [100], ["9P2000.L"]), [[C.Rlerror, 4, E.EINVAL]]);
});

Deno.test("NineServer refuses an attach the namespace refuses and a full session table", async () => {
  const { server, ns } = fixture({ ...LIMITS, maxSessions: 2 });
  ns.refuseRole = "intruder";
  const conn = new InProcessConn(server);
  const c = await NineClient.connect(conn);
  assertEquals(await errnoOf(c.attach(c.newFid(), "intruder", "")), E.EPERM);
  const fid = c.newFid();
  await c.attach(fid, "queen", "");
  assertEquals(await errnoOf(c.attach(fid, "queen", "")), E.EBUSY);
  const second = server.openSession();
  assert(second >= 0);
  assertEquals(server.openSession(), -1);
  server.closeSession(second);
  c.close();
  assertEquals(ns.sessions, 0);
  assertEquals(ns.refs, 0);
});

Deno.test("NineServer parks EAGAIN reads, serves them on poll and cancels them on Tflush", () => {
  const { server, ns, pipe } = fixture();
  const raw = new Raw(server);
  raw.req(C.Tversion, 0, [8192], ["9P2000.L"]);
  raw.req(C.Tattach, 1, [1, C.NOFID, 0], ["queen", ""]);
  raw.req(C.Twalk, 2, [1, 2, 1], ["events"]);
  raw.req(C.Tlopen, 3, [2, 0]);
  assertEquals(raw.req(C.Tread, 10, [2, 0, 100]), []);
  assertEquals(raw.req(C.Tread, 11, [2, 0, 100]), []);
  assertEquals(server.parked(raw.s), 2);
  // Duplicate in-flight tag.
  assertEquals(raw.req(C.Tread, 10, [2, 0, 100]), [[C.Rlerror, 10, E.EINVAL]]);
  // Other requests are served while reads wait.
  assertEquals(raw.req(C.Tgetattr, 12, [1, 0x7ff])[0][0], C.Rgetattr);
  // Flush the first; data then goes to the second.
  assertEquals(raw.req(C.Tflush, 13, [10]), [[C.Rflush, 13, 0]]);
  ns.push(pipe, text.encode("tick"), 0, 4);
  server.poll();
  const n = server.output(raw.s, raw.out, 0, raw.out.length);
  const f = new C.Fcall();
  assertEquals(C.decode(raw.out, 0, n, f), 0);
  assertEquals([f.type, f.tag, f.dataLen], [C.Rread, 11, 4]);
  // Window: 4 tags may wait; the fifth is refused with EBUSY.
  for (let t = 20; t < 24; t++) assertEquals(raw.req(C.Tread, t, [2, 0, 100]), []);
  assertEquals(raw.req(C.Tread, 24, [2, 0, 100]), [[C.Rlerror, 24, E.EBUSY]]);
  // Clunking the fid answers every waiting read with EBADF, in arrival order.
  assertEquals(raw.req(C.Tclunk, 25, [2]), [
    [C.Rlerror, 20, E.EBADF],
    [C.Rlerror, 21, E.EBADF],
    [C.Rlerror, 22, E.EBADF],
    [C.Rlerror, 23, E.EBADF],
    [C.Rclunk, 25, 0],
  ]);
  assertEquals(server.parked(raw.s), 0);
});

Deno.test("NineServer pipelines replies in request order for a batch of frames", async () => {
  const { server } = fixture();
  const { c, root } = await client(server);
  const fids = Array.from({ length: 12 }, () => c.newFid());
  const results = await Promise.all(
    fids.map((f, i) =>
      c.walk(root, f, i % 2 ? ["etc", "motd"] : ["nope"]).then(
        (q) => q.length,
        (e) => -(e as NineError).errno,
      )
    ),
  );
  assertEquals(results, fids.map((_, i) => (i % 2 ? 2 : -E.ENOENT)));
  c.close();
});

Deno.test("NineServer stops serving while replies are not drained and bounds its buffers", () => {
  const { server } = fixture();
  const raw = new Raw(server);
  raw.req(C.Tversion, 0, [8192], ["9P2000.L"]);
  raw.req(C.Tattach, 1, [1, C.NOFID, 0], ["queen", ""]);
  raw.req(C.Twalk, 2, [1, 2, 2], ["etc", "motd"]);
  raw.req(C.Tlopen, 3, [2, 0]);
  // Pipeline many reads without draining.
  const frame = encodeReq(C.Tread, 9, { nums: [2, 0, 8000] }, 8192);
  let fed = 0;
  for (let i = 0; i < 1000; i++) {
    const room = server.inputSpace(raw.s);
    if (room < frame.length) break;
    server.input(raw.s, frame, 0, frame.length);
    fed++;
  }
  assert(fed > 1 && fed < 1000, `fed ${fed}`);
  assert(server.pendingOutput(raw.s) <= 8192 + 64 + 11 * 5);
  // Feeding past the input space ends the session instead of growing memory.
  const flood = new Uint8Array(server.inputSpace(raw.s) + 1);
  server.input(raw.s, flood, 0, flood.length);
  assertEquals(server.closed(raw.s), true);
});

Deno.test("NineServer closeSession clunks every fid and detaches the namespace", async () => {
  const { server, ns } = fixture();
  const { c, conn, root } = await client(server);
  await c.walk(root, c.newFid(), ["etc"]);
  await c.walk(root, c.newFid(), []);
  await c.attach(c.newFid(), "queen", "");
  assertEquals(ns.sessions, 2);
  assert(ns.refs >= 4);
  conn.close();
  assertEquals(ns.sessions, 0);
  assertEquals(ns.refs, 0);
  await assertRejects(() => c.getattr(root));
});

Deno.test("NineServer survives random and mutated frames without throwing or leaking", () => {
  const { server, ns } = fixture({ ...LIMITS, maxSessions: 2 });
  const out = new Uint8Array(70000);
  const prefix = [
    encodeReq(C.Tversion, 0, { nums: [8192], strs: ["9P2000.L"] }, 8192),
    encodeReq(C.Tattach, 1, { nums: [1, C.NOFID, 0], strs: ["queen", ""] }, 8192),
    encodeReq(C.Twalk, 2, { nums: [1, 2, 2], strs: ["etc", "motd"] }, 8192),
    encodeReq(C.Tlopen, 3, { nums: [2, 0] }, 8192),
  ];
  const types = C.messageTypes().filter((t) => t % 2 === 0);
  const arbFrame = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.tuple(fc.constantFrom(...types), fc.uint8Array({ maxLength: 48 }), fc.integer({ min: 0, max: 0xffff }))
      .map(([type, body, tag]) => {
        const f = new Uint8Array(7 + body.length);
        C.putU32(f, 0, f.length);
        f[4] = type;
        C.putU16(f, 5, tag);
        f.set(body, 7);
        return f;
      }),
  );
  fc.assert(
    fc.property(fc.array(arbFrame, { maxLength: 20 }), (frames) => {
      const s = server.openSession();
      assert(s >= 0);
      for (const p of prefix) server.input(s, p, 0, p.length);
      for (const fr of frames) {
        if (server.closed(s)) break;
        server.input(s, fr, 0, Math.min(fr.length, server.inputSpace(s)));
        // Buffers stay within their fixed sizes whatever arrives.
        assert(server.pendingOutput(s) <= 8192 + 11 * 5 + 64);
        assert(server.inputSpace(s) <= 2 * 8192);
        while (server.pendingOutput(s) > 0) server.output(s, out, 0, out.length);
      }
      server.poll();
      server.closeSession(s);
      assertEquals(ns.sessions, 0);
      assertEquals(ns.refs, 0);
    }),
    { numRuns: 300 },
  );
});

Deno.test("NineServer leaves the fid unchanged when Tlcreate fails", async () => {
  const { server, ns } = fixture();
  const { c, root } = await client(server);
  const d = c.newFid();
  await c.walk(root, d, []);
  assertEquals(await errnoOf(c.create(d, "rw", O_RDWR, 0o644)), E.EEXIST);
  assertEquals(await errnoOf(c.create(d, "a/b", O_RDWR, 0o644)), E.EINVAL);
  // The fid still names the directory, unopened: a walk from it works and a read does not.
  assertEquals((await c.walk(d, c.newFid(), ["etc"])).length, 1);
  assertEquals(await errnoOf(c.read(d, 0, 10)), E.EBADF);
  c.close();
  assertEquals(ns.refs, 0);
});

Deno.test("InProcessConn refuses writes after the session ended with a TransportError", async () => {
  const { server } = fixture();
  const conn = new InProcessConn(server);
  conn.close();
  const err = await conn.write(new Uint8Array([7, 0, 0, 0, 120, 0, 0])).catch((e) => e);
  assertEquals(err?.name, "TransportError");
  assertEquals(await conn.read(new Uint8Array(10)), null);
});

Deno.test("NineServer serves a large pipelined chunk fed past inputSpace when its replies fit", () => {
  const { server } = fixture();
  const raw = new Raw(server);
  raw.req(C.Tversion, 0, [8192], ["9P2000.L"]);
  raw.req(C.Tattach, 1, [1, C.NOFID, 0], ["queen", ""]);
  raw.req(C.Twalk, 2, [1, 2, 1], ["rw"]);
  raw.req(C.Tlopen, 3, [2, O_RDWR]);
  // Eight 4 KiB Twrites in one 32 KiB chunk: more than the input buffer, small replies.
  const frames = Array.from(
    { length: 8 },
    (_, i) =>
      encodeReq(
        C.Twrite,
        10 + i,
        { nums: [2, i * 4096, 4096], data: new Uint8Array(4096).fill(i + 1) },
        8192,
      ),
  );
  const chunk = new Uint8Array(frames.reduce((a, f) => a + f.length, 0));
  let off = 0;
  for (const f of frames) {
    chunk.set(f, off);
    off += f.length;
  }
  assert(chunk.length > server.inputSpace(raw.s));
  const replies = raw.send(chunk);
  assertEquals(server.closed(raw.s), false);
  assertEquals(replies, frames.map((_, i) => [C.Rwrite, 10 + i, 4096]));
  const back = raw.req(C.Tread, 30, [2, 7 * 4096, 10]);
  assertEquals(back, [[C.Rread, 30, 10]]);
});

Deno.test("NineServer lends frame buffers only to sessions with bytes waiting", () => {
  const { server, ns } = fixture({ ...LIMITS, maxSessions: 40 });
  const raws = Array.from({ length: 40 }, () => new Raw(server));
  for (const raw of raws) {
    assertEquals(raw.req(C.Tversion, 0, [8192], ["9P2000.L"]), [[C.Rversion, 0, 8192]]);
    assertEquals(raw.req(C.Tattach, 1, [1, C.NOFID, 0], ["queen", ""])[0][0], C.Rattach);
  }
  // Forty attached, idle sessions share the single buffer pair their traffic needed.
  assertEquals(server.poolIn.length, 1);
  // A session with an undrained reply keeps its pair; the next one gets another.
  const frame = encodeReq(C.Tgetattr, 5, { nums: [1, 0x7ff] }, 8192);
  server.input(raws[0].s, frame, 0, frame.length);
  server.input(raws[1].s, frame, 0, frame.length);
  assertEquals(server.poolIn.length, 2);
  assertEquals(raws[1].send(new Uint8Array(0)).length + raws[0].send(new Uint8Array(0)).length, 2);
  for (const raw of raws) server.closeSession(raw.s);
  assertEquals([ns.sessions, ns.refs, server.poolFreeCount], [0, 0, 2]);
});
