/**
 * Benchmark: spool append latency, the same store logic on its two backends, measured in one run:
 * a host directory (write, fsync, rename) against a FAT ESP image through mtools (mcopy .NEW, fsync,
 * mren). Peer for the ESP side: one plain `mcopy` of the same record bytes (no rename, no fsync: what
 * a non-crash-safe writer would cost). Prints medians per append and ratios.
 *
 * Usage: deno run -A bench/spool/spool_bench.ts [--records N] [--bytes N]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { writeFat } from "../../images/fat.ts";
import { EspBackend } from "../../src/host/spool/esp_backend.ts";
import { spoolLayoutFiles } from "../../src/host/spool/layout.ts";
import { createSpool, encodeRecord, SpoolStore } from "../../src/host/spool/store.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { records: { type: "string", default: "40" }, bytes: { type: "string", default: "256" } },
});
const n = Number(values.records);
const payload = new Uint8Array(Number(values.bytes)).fill(0x61);
const work = await Deno.makeTempDir({ prefix: "cohesix-spool-bench-" });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function appends(store: SpoolStore): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await store.append(payload);
    out.push(performance.now() - t0);
  }
  return out;
}

try {
  const limits = { maxRecords: n + 1, maxBytes: (n + 1) * payload.length, maxRecordBytes: payload.length };
  await createSpool(join(work, "dir"), "telemetry", limits);
  const dir = await appends((await SpoolStore.open(join(work, "dir"))).store);

  const img = join(work, "esp.img");
  await Deno.writeFile(img, writeFat(spoolLayoutFiles("cohesix/SPOOL")));
  const backend = new EspBackend(img, "cohesix/SPOOL/BENCH");
  await createSpool(backend, "telemetry", limits);
  const esp = await appends((await SpoolStore.open(backend)).store);

  const record = encodeRecord(1, payload);
  const plain: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const child = new Deno.Command("mcopy", {
      args: ["-i", img, "-D", "o", "-", `::/cohesix/SPOOL/P${String(i).padStart(7, "0")}.BIN`],
      env: { MTOOLS_SKIP_CHECK: "1" },
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(record);
    await w.close();
    if (!(await child.status).success) throw new Error("mcopy failed");
    plain.push(performance.now() - t0);
  }

  const [d, e, p] = [median(dir), median(esp), median(plain)];
  console.log(`spool append, ${n} records of ${payload.length} B (median per append)`);
  console.log(`  directory (write+fsync+rename)        ${d.toFixed(2)} ms`);
  console.log(
    `  ESP via mtools (mcopy .NEW+fsync+mren) ${e.toFixed(2)} ms  (${(e / d).toFixed(1)}x the directory)`,
  );
  console.log(
    `  peer: one plain mcopy, no rename      ${p.toFixed(2)} ms  (crash-safe ESP append = ${
      (e / p).toFixed(2)
    }x a plain mcopy)`,
  );
} finally {
  await Deno.remove(work, { recursive: true });
}
