/**
 * Sessions on the seL4 guest's network: four Secure9P sessions and a TCP console interleaved
 * (nothing reordered), the manifest's connection limits, peers that vanish mid-frame and a peer that
 * never reads (it must not stall the others). One guest boot serves the file, in order.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { NineClient } from "../../src/secure9p/host/client.ts";
import { ConsoleClient } from "../../src/host/cohsh/client.ts";
import { TcpTransport } from "../../src/host/cohsh/transport.ts";
import { assertNoTrap, type NetGuest, netImage, startNetGuest } from "./net_support.ts";
import { join } from "node:path";

const O_RDONLY = 0;
const O_WRONLY = 1;
const enc = new TextEncoder();
const dec = new TextDecoder();

let booted: Promise<NetGuest> | undefined;
const guest = () => (booted ??= netImage().then((d) => startNetGuest(join(d, "sel4-image.elf"), { console: 0, ninep: 0 })));
/** The guest outlives each test (one boot for the file): no op/resource sanitizers. */
const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

async function nine(port: number): Promise<{ c: NineClient; root: number }> {
  const c = await NineClient.dial("127.0.0.1", port);
  const root = c.newFid();
  await c.attach(root, "queen");
  return { c, root };
}

async function openFile(n: { c: NineClient; root: number }, path: string[], mode: number): Promise<number> {
  const f = n.c.newFid();
  await n.c.walk(n.root, f, path);
  await n.c.open(f, mode);
  return f;
}

async function console_(port: number): Promise<ConsoleClient> {
  const c = await ConsoleClient.connectTcp("127.0.0.1", port, "changeme", 30000);
  const r = await c.request("ATTACH queen");
  assertEquals(r.ackLine, "OK ATTACH role=queen");
  return c;
}

test("four 9P sessions and a console session interleave on the seL4 guest and nothing is reordered", async () => {
  const g = await guest();
  const N = 40;
  const sessions = await Promise.all([0, 1, 2, 3].map(() => nine(g.ninepPort)));
  const con = await console_(g.consolePort);
  const boot = dec.decode(await sessions[0].c.readAll(await openFile(sessions[0], ["proc", "boot"], O_RDONLY)));
  await Promise.all([
    ...sessions.map(async (s, k) => {
      const log = await openFile(s, ["log", "queen.log"], O_WRONLY);
      const proc = await openFile(s, ["proc", "boot"], O_RDONLY);
      for (let i = 0; i < N; i++) {
        // Two requests in flight per session: an append and a read of the boot record.
        const [wrote, read] = await Promise.all([
          s.c.write(log, 0, enc.encode(`9p-s${k}-${i}\n`)),
          s.c.read(proc, 0, 4096),
        ]);
        assertEquals(wrote, `9p-s${k}-${i}\n`.length);
        assertEquals(dec.decode(read), boot, `session ${k} op ${i} read another reply`);
      }
    }),
    (async () => {
      // The console pipelines: eight requests in flight, replies must come back in send order.
      const t = con.transport as TcpTransport;
      const want: string[] = [];
      for (let i = 0; i < N; i++) {
        const line = `con-${i}`;
        await t.send(`ECHO /log/queen.log ${line}`);
        want.push(`OK ECHO path=/log/queen.log bytes=${line.length}`);
        await t.send("PING");
        want.push("OK PING reply=pong");
      }
      for (let i = 0; i < want.length; i++) assertEquals((await con.readReply()).ackLine, want[i], `console reply ${i}`);
    })(),
  ]);
  // Every writer's lines are in the log, in the order it wrote them.
  const log = dec.decode(await sessions[0].c.readAll(await openFile(sessions[0], ["log", "queen.log"], O_RDONLY)));
  const lines = log.split("\n");
  for (const who of ["9p-s0-", "9p-s1-", "9p-s2-", "9p-s3-", "con-"]) {
    const mine = lines.filter((l) => l.startsWith(who)).map((l) => Number(l.slice(who.length)));
    assertEquals(mine, Array.from({ length: N }, (_, i) => i), `${who} lines in order`);
  }
  for (const s of sessions) s.c.close();
  con.close();
  assertNoTrap(g.serial());
});

/** Reads until the peer closes; the bytes. Fails if it does not close within the reply timeout. */
async function readToEof(conn: Deno.TcpConn): Promise<Uint8Array> {
  const parts: number[] = [];
  const buf = new Uint8Array(4096);
  const timer = setTimeout(() => conn.close(), 60000);
  try {
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      parts.push(...buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
  return new Uint8Array(parts);
}

/** A Tversion round trip on a fresh connection: true when the guest served it. */
async function ninepAnswers(port: number): Promise<boolean> {
  try {
    const c = await NineClient.dial("127.0.0.1", port);
    await c.flush(1);
    c.close();
    return true;
  } catch {
    return false;
  }
}

test("peers that disconnect in the middle of a 9P frame or a console frame leave the guest serving", async () => {
  const g = await guest();
  for (let i = 0; i < 6; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: i % 2 ? g.consolePort : g.ninepPort });
    // A header announcing 100 bytes (9P size[4], or the console's u32 total), then half a body.
    await c.write(new Uint8Array([100, 0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7]));
    c.close();
  }
  const con = await console_(g.consolePort);
  assertEquals((await con.request("PING")).ackLine, "OK PING reply=pong");
  con.close();
  assert(await ninepAnswers(g.ninepPort));
  assertNoTrap(g.serial());
});

test("more connections than the manifest allows: the extra console is told busy, the extra 9P connection is closed, and freed slots are reused", async () => {
  const g = await guest();
  // Limits: 4 TCP consoles (console.max_sessions), 16 Secure9P connections (secure9p.max_sessions).
  // Connections are counted, not attaches (those share the namespace's own session table).
  const consoles: ConsoleClient[] = [];
  for (let i = 0; i < 4; i++) consoles.push(await ConsoleClient.connectTcp("127.0.0.1", g.consolePort, "changeme", 30000));
  const extra = await Deno.connect({ hostname: "127.0.0.1", port: g.consolePort });
  const said = await readToEof(extra);
  assertEquals(dec.decode(said.subarray(4)), "ERR AUTH reason=busy detail=console-table-full");
  assertEquals(said[0] + said[1] * 256, said.length, "one framed line, then the close");
  const ninep: NineClient[] = [];
  for (let i = 0; i < 16; i++) ninep.push(await NineClient.dial("127.0.0.1", g.ninepPort));
  const extra9p = await Deno.connect({ hostname: "127.0.0.1", port: g.ninepPort });
  await extra9p.write(new Uint8Array([19, 0, 0, 0, 100, 0xff, 0xff, 0, 32, 0, 0, 6, 0, 57, 80, 50, 48, 48, 48]));
  assertEquals((await readToEof(extra9p)).length, 0, "the 17th 9P connection gets no reply, only the close");
  // Everyone admitted is served (a console ping, a 9P Tflush round trip).
  for (const c of consoles) assertEquals((await c.request("PING")).ackLine, "OK PING reply=pong");
  for (const n of ninep) await n.flush(1);
  // Closing one of each frees its slot for the next peer (the guest learns of the close a round later).
  consoles.pop()!.close();
  ninep.pop()!.close();
  let again: ConsoleClient | undefined;
  for (let tries = 0; again === undefined; tries++) {
    again = await ConsoleClient.connectTcp("127.0.0.1", g.consolePort, "changeme", 30000).catch((e) => {
      if (tries > 50) throw e;
      return undefined;
    });
  }
  assertEquals((await again.request("PING")).ackLine, "OK PING reply=pong");
  let served = false;
  for (let tries = 0; !served && tries < 50; tries++) served = await ninepAnswers(g.ninepPort);
  assert(served, "a freed 9P slot was not reused");
  for (const c of [...consoles, again]) c.close();
  for (const n of ninep) n.close();
  assertNoTrap(g.serial());
});

test("a 9P peer that sends requests and never reads does not stall the other sessions", async () => {
  const g = await guest();
  // Give the log 60 KiB so each read reply is 8 KiB.
  const w = await nine(g.ninepPort);
  const log = await openFile(w, ["log", "queen.log"], O_WRONLY);
  const chunk = enc.encode("x".repeat(99) + "\n");
  for (let i = 0; i < 600; i++) await w.c.write(log, 0, chunk);
  w.c.close();
  // The greedy peer: Tversion, Tattach, Twalk + Topen of the log, then 2,000 pipelined Treads of 8 KiB
  // (16 MB of replies) that it never reads.
  const greedy = await Deno.connect({ hostname: "127.0.0.1", port: g.ninepPort });
  const req = (type: number, tag: number, body: number[]) => {
    const size = 7 + body.length;
    return new Uint8Array([size % 256, size >> 8, 0, 0, type, tag % 256, tag >> 8, ...body]);
  };
  const str = (s: string) => [s.length, 0, ...enc.encode(s)];
  const u32 = (v: number) => [v % 256, Math.floor(v / 256) % 256, Math.floor(v / 65536) % 256, Math.floor(v / 16777216)];
  await greedy.write(req(100, 0xffff, [...u32(8192), ...str("9P2000.L")]));
  await greedy.write(req(104, 1, [...u32(0), ...u32(0xffffffff), ...str("queen"), ...str(""), ...u32(0xffffffff)]));
  await greedy.write(req(110, 2, [...u32(0), ...u32(1), 2, 0, ...str("log"), ...str("queen.log")]));
  await greedy.write(req(12, 3, [...u32(1), ...u32(O_RDONLY)]));
  const reads: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) reads.push(req(116, 10 + i, [...u32(1), 0, 0, 0, 0, 0, 0, 0, 0, ...u32(8000)]));
  const flood = greedy.write(new Uint8Array(reads.flatMap((r) => [...r]))).catch(() => 0);
  // Meanwhile the others are served: a console session and a 9P session do their work.
  const con = await console_(g.consolePort);
  for (let i = 0; i < 20; i++) assertEquals((await con.request("PING")).ackLine, "OK PING reply=pong");
  const other = await nine(g.ninepPort);
  const boot = await other.c.readAll(await openFile(other, ["proc", "boot"], O_RDONLY));
  assert(dec.decode(boot).startsWith("Cohesix boot: root-task online"));
  // The greedy peer goes away without reading; its slot comes back.
  greedy.close();
  await flood;
  con.close();
  other.c.close();
  let served = false;
  for (let tries = 0; !served && tries < 50; tries++) served = await ninepAnswers(g.ninepPort);
  assert(served);
  assertNoTrap(g.serial());
});

test("the guest net sessions test stops its QEMU", async () => {
  const g = await guest();
  assertEquals(await g.stop(), "aborted");
});
