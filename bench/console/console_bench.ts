/**
 * Console benchmark (one run, peers measured in the same process):
 *  1. round trip: `ping` over the tcp console, the serial console (in-process byte stream) and
 *     cohsh's 9p transport, against the peer: a plain 9P client doing one Tgetattr round trip;
 *  2. `cat` of a 1 MiB file over the same three transports, against the peer: a plain 9P client
 *     walk/open/read-to-EOF of the same file;
 *  3. 10,000 operations interleaved across four tcp console sessions, each pipelining its own
 *     numbered requests; every session must get its replies back in the order it sent them.
 * Prints p50/p99 and ratios to the peer. Progress goes to stderr.
 *
 *   deno task bench:console            (N round trips per transport: --n 2000)
 */
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { StaticNamespace } from "../../src/secure9p/static_namespace.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { ConsoleClient } from "../../src/host/cohsh/client.ts";
import { openSession } from "../../src/host/cohsh/connect.ts";
import type { CohshSession } from "../../src/host/cohsh/shell.ts";
import { Shell } from "../../src/host/cohsh/shell.ts";
import { SerialTransport } from "../../src/host/cohsh/transport.ts";
import { interleaved } from "./interleave.ts";
import { NineClient } from "../../src/secure9p/host/client.ts";

const N = Number(Deno.args[Deno.args.indexOf("--n") + 1] || 2000) || 2000;
const FILE_BYTES = 1 << 20;
const progress = (s: string) => Deno.stderr.writeSync(new TextEncoder().encode(s + "\n"));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function timeEach(n: number, op: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(50, n); i++) await op(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await op();
    out.push(performance.now() - t);
  }
  return out;
}

// NineDoor rings stop at 512 KiB, so the 1 MiB file lives in the in-memory StaticNamespace
// (src/secure9p/static_namespace.ts); console and 9P serve that same namespace.
const ns = new StaticNamespace();
const line = new TextEncoder().encode("x".repeat(99) + "\n");
const content = new Uint8Array(FILE_BYTES);
for (let i = 0; i + line.length <= FILE_BYTES; i += line.length) content.set(line, i);
const benchDir = ns.addDir(ns.rootHandle(), "bench");
ns.addFile(benchDir, "file", content, true);
const hive = HostedHive.start({ ninepPort: 0, consolePort: 0, boot: defaultBootConfig(), namespace: ns });
const toHive = new TransformStream<Uint8Array, Uint8Array>();
const fromHive = new TransformStream<Uint8Array, Uint8Array>();
const serialDone = hive.serveSerial(toHive.readable, fromHive.writable);

try {
  const peer = await NineClient.dial("127.0.0.1", hive.ninepPort);
  const root = peer.newFid();
  await peer.attach(root, "queen");

  const sessions: [string, CohshSession][] = [
    ["tcp", await openSession({ transport: "tcp", hostname: "127.0.0.1", port: hive.consolePort, authToken: "changeme", timeoutMs: 10000 })],
    ["serial", new Shell(new ConsoleClient(SerialTransport.fromStreams("serial", fromHive.readable, toHive.writable), 10000))],
    ["9p", await openSession({ transport: "9p", hostname: "127.0.0.1", port: hive.ninepPort, authToken: "", timeoutMs: 10000 })],
  ];
  for (const [, s] of sessions) await s.execute("attach queen");

  const rows: string[] = [];
  progress(`bench: ping round trips (n=${N} per transport)`);
  const peerRt = await timeEach(N, () => peer.getattr(root));
  const peerP50 = pct(peerRt, 50);
  const peerP99 = pct(peerRt, 99);
  rows.push(`ping round trip (n=${N})            p50 ms   p99 ms   p50 vs 9P peer`);
  rows.push(`  9P peer: Tgetattr                 ${peerP50.toFixed(3).padStart(6)}   ${peerP99.toFixed(3).padStart(6)}   1.00x`);
  for (const [name, s] of sessions) {
    const t = await timeEach(N, () => s.execute("ping"));
    rows.push(`  cohsh ${name.padEnd(7)} ping                ${pct(t, 50).toFixed(3).padStart(6)}   ${pct(t, 99).toFixed(3).padStart(6)}   ${(pct(t, 50) / peerP50).toFixed(2)}x`);
  }

  progress("bench: cat of a 1 MiB file (n=20 per transport)");
  const CATS = 20;
  const peerCat = await timeEach(CATS, async () => {
    const f = peer.newFid();
    await peer.walk(root, f, ["bench", "file"]);
    await peer.open(f, 0);
    const data = await peer.readAll(f);
    await peer.clunk(f);
    if (data.length !== FILE_BYTES) throw new Error(`peer read ${data.length} bytes`);
  });
  const peerCatP50 = pct(peerCat, 50);
  rows.push(``);
  rows.push(`cat 1 MiB (n=${CATS})                     p50 ms   p99 ms   MiB/s   p50 vs 9P peer`);
  rows.push(`  9P peer: walk+open+read to EOF     ${peerCatP50.toFixed(1).padStart(6)}   ${pct(peerCat, 99).toFixed(1).padStart(6)}   ${(1000 / peerCatP50).toFixed(0).padStart(5)}   1.00x`);
  for (const [name, s] of sessions) {
    const t = await timeEach(CATS, async () => {
      const r = await s.execute("cat /bench/file");
      if (!r?.ack?.ok || r.lines.length !== Math.floor(FILE_BYTES / 100) + 3) throw new Error(`${name} cat gave ${r?.lines.length} lines`);
    });
    rows.push(`  cohsh ${name.padEnd(7)} cat                 ${pct(t, 50).toFixed(1).padStart(6)}   ${pct(t, 99).toFixed(1).padStart(6)}   ${(1000 / pct(t, 50)).toFixed(0).padStart(5)}   ${(pct(t, 50) / peerCatP50).toFixed(2)}x`);
  }
  for (const [, s] of sessions) s.close();

  progress("bench: 10,000 operations interleaved across 4 tcp console sessions");
  const result = await interleaved(hive.consolePort, 4, 2500, 32);
  rows.push(``);
  rows.push(`interleaved: ${result.ops} ops over 4 tcp sessions (32 in flight each) in ${result.ms.toFixed(0)} ms ` +
    `(${(result.ops / (result.ms / 1000)).toFixed(0)} ops/s); out-of-order replies: ${result.reordered}`);
  console.log(rows.join("\n"));
  peer.close();
  if (result.reordered !== 0) Deno.exitCode = 1;
} finally {
  await hive.stop();
  await serialDone.catch(() => {});
}

