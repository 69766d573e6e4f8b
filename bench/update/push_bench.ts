/**
 * `cohesix update push` throughput beside a plain 9P write of the same bytes (issue #19), both
 * against a `cohesix dev --manifest configs/full.toml` hive in its own process, measured in one run:
 *   plain  the update's chunks as Twrites of chunk_bytes on one open fid (/log/queen.log, append),
 *          the same tag window: what 9P itself costs for these bytes on this hive
 *   push   pushUpdate: status reads, mkdir, the signed manifest (verified by the hive), then per chunk
 *          walk + open + Twrite + clunk, each chunk's sha256 checked and stored by the hive
 *   resume a push of the same update to a hive that already holds 75% of it (a push that stopped
 *          after three of its four rounds: only the last 64 chunks are sent)
 * A fresh hive per run (the store keeps what it received). Median MB/s of --reps runs, and the ratio.
 * Usage: deno task bench:update [--mib 1] [--reps 5] [--window 16]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { NineClient } from "../../src/secure9p/host/client.ts";
import { O_APPEND, O_WRONLY } from "../../src/secure9p/namespace.ts";
import { packUpdate, writeUpdateDir } from "../../src/host/update/pack.ts";
import { devUpdateSeed } from "../../src/host/update/manifest.ts";
import { pushUpdate } from "../../src/host/update/push.ts";
import { startDevHive } from "../dev_hive.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { mib: { type: "string", default: "1" }, reps: { type: "string", default: "5" }, window: { type: "string", default: "16" } },
});
const BYTES = Number(values.mib) * 1024 * 1024;
const REPS = Number(values.reps);
const WINDOW = Number(values.window);
const FULL = ["--manifest", new URL("../../configs/full.toml", import.meta.url).pathname];
const work = await Deno.makeTempDir({ prefix: "cohesix-push-bench-" });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const bytes = new Uint8Array(BYTES);
for (let off = 0; off < BYTES; off += 65536) crypto.getRandomValues(bytes.subarray(off, off + 65536));
const packed = packUpdate({ epoch: 1, chunkBytes: 4096, secretKey: devUpdateSeed(), files: [{ name: "app.bin", bytes }] });
const dir = join(work, "update-1");
await writeUpdateDir(dir, packed);
const chunks = [...packed.newChunks.values()];

async function plainWrite(port: number): Promise<number> {
  const c = await NineClient.dial("127.0.0.1", port, { maxInflight: WINDOW });
  try {
    const root = c.newFid();
    await c.attach(root, "queen", "");
    const fid = c.newFid();
    await c.walk(root, fid, ["log", "queen.log"]);
    await c.open(fid, O_WRONLY + O_APPEND);
    const t0 = performance.now();
    await Promise.all(chunks.map((b) => c.write(fid, 0, b)));
    return performance.now() - t0;
  } finally {
    c.close();
  }
}

async function push(port: number): Promise<number> {
  const t0 = performance.now();
  const r = await pushUpdate(dir, { host: "127.0.0.1", port }, { window: WINDOW });
  if (r.state !== "ready") throw new Error(`push ended ${r.state}`);
  return performance.now() - t0;
}

/** Pushes 75% of the chunks first (a push stopped late), then times the push that completes it. */
async function resume(port: number): Promise<number> {
  const partial = join(work, `partial-${crypto.randomUUID()}`);
  await Deno.mkdir(join(partial, "chunks"), { recursive: true });
  await Deno.copyFile(join(dir, "manifest.cbor"), join(partial, "manifest.cbor"));
  const names = [...packed.newChunks.keys()];
  const keep = names.slice(0, Math.floor(names.length * 0.75));
  for (const n of keep) await Deno.copyFile(join(dir, "chunks", n), join(partial, "chunks", n));
  await pushUpdate(partial, { host: "127.0.0.1", port }, { window: WINDOW }).catch(() => {}); // ends: the rest is not in `partial`
  const t0 = performance.now();
  const r = await pushUpdate(dir, { host: "127.0.0.1", port }, { window: WINDOW });
  if (r.state !== "ready" || r.sentChunks > names.length - keep.length) throw new Error(`resume sent ${r.sentChunks}`);
  resumeSent.push(r.sentChunks);
  return performance.now() - t0;
}

const resumeSent: number[] = [];
const rows: [string, (port: number) => Promise<number>][] = [["plain 9P write (Twrite only)", plainWrite], ["update push", push], ["update push, 75% already there", resume]];
console.log(`update push bench: ${BYTES} B in ${chunks.length} chunks of 4096 B, window ${WINDOW}, median of ${REPS} runs, a fresh hive per run`);
let base = 0;
try {
  for (const [label, run] of rows) {
    const ms: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const hive = await startDevHive(FULL);
      try {
        ms.push(await run(hive.ninep));
      } finally {
        await hive.stop();
      }
    }
    const t = median(ms);
    const mbps = BYTES / 1e6 / (t / 1000);
    if (base === 0) base = t;
    const note = run === resume ? ` (sent ${median(resumeSent)} chunks)` : "";
    console.log(`  ${label.padEnd(34)} ${t.toFixed(1).padStart(8)} ms  ${mbps.toFixed(2).padStart(7)} MB/s (of the update's bytes)  x${(base / t).toFixed(2)} vs plain${note}`);
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
