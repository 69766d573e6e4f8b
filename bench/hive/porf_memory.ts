/**
 * Benchmark on the native build's engine: the guest hive load (porf_guest.ts) compiled by Porffor
 * to Wasm (the flags of the seL4 pipeline), run in this process. Because Porffor has no GC, linear
 * memory only grows; comparing runs shows the cost that matters on the device:
 * - bytes per worker: memory(WORKERS) − memory(0 workers), over WORKERS;
 * - bytes per tick in steady state: memory(TICKS long) − memory(TICKS short) (0 = no per-tick allocation);
 * - tick cost per worker: wall time difference between the long and short runs;
 * - spawn cost per worker: wall time of (WORKERS workers, 0 ticks) minus (0 workers), over WORKERS.
 * Each is measured for three worker layouts in the same run: flat `/worker/<id>`, sharded
 * `/shard/<label>/worker/<id>` (one sha256 per spawn, 513 boot directories) and sharded plus the
 * legacy `/worker` alias (the default manifest). Peer: the same workers and ticks under Deno (JIT + GC).
 *
 * Usage: deno run -A bench/hive/porf_memory.ts [--workers N] [--short N] [--long N]
 */
import { parseArgs } from "node:util";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    workers: { type: "string", default: "1000" },
    short: { type: "string", default: "50" },
    long: { type: "string", default: "550" },
  },
});
const WORKERS = Number(values.workers);
const SHORT = Number(values.short);
const LONG = Number(values.long);
const root = new URL("../../", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "cohesix-hive-porf-" });

async function sh(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(root + "node_modules/.bin/" + cmd, {
    args,
    cwd: root,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
}

const LAYOUTS = [["unsharded", 0], ["sharded", 1], ["sharded+alias", 2]] as const;

async function build(workers: number, ticks: number, layout: number): Promise<Uint8Array<ArrayBuffer>> {
  const js = `${dir}/g_${workers}_${ticks}_${layout}.js`;
  const wasm = js.replace(/\.js$/, ".wasm");
  await sh("esbuild", [
    root + "bench/hive/porf_guest.ts",
    "--bundle",
    "--format=esm",
    "--target=es2022",
    `--define:WORKERS=${workers}`,
    `--define:TICKS=${ticks}`,
    `--define:LAYOUT=${layout}`,
    `--outfile=${js}`,
    "--log-level=warning",
  ]);
  await sh("porf", ["wasm", "-O1", "--unreachable-exceptions", "--no-wasm-exceptions", js, wasm]);
  return await Deno.readFile(wasm);
}

async function runWasm(bytes: Uint8Array<ArrayBuffer>): Promise<{ memory: number; ms: number; out: string }> {
  let out = "";
  const imports = {
    "": { a: (n: number) => void (out += String(n)), b: (c: number) => void (out += String.fromCharCode(c)) },
  };
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes), imports);
  const t0 = performance.now();
  (instance.exports.m as () => void)();
  const ms = performance.now() - t0;
  return { memory: (instance.exports.$ as WebAssembly.Memory).buffer.byteLength, ms, out };
}

function runDeno(ticks: number, layout: number): number {
  const boot = defaultBootConfig();
  boot.limits.maxWorkers = WORKERS;
  boot.sharding = { enabled: layout > 0, shardBits: 8, legacyWorkerAlias: layout !== 1 };
  const nd = new NineDoor(boot);
  nd.advance(0);
  const s = nd.attach("queen", "");
  const enc = new TextEncoder();
  const ctl = nd.walk(s, nd.walk(s, nd.root(s), enc.encode("queen"), 0, 5), enc.encode("ctl"), 0, 3);
  const line = enc.encode('{"spawn":"heartbeat","ticks":1000000,"budget":{"ttl_s":0}}\n');
  for (let i = 0; i < WORKERS; i++) nd.write(s, ctl, 0, 0, line, 0, line.length);
  const t0 = performance.now();
  for (let t = 1; t <= ticks; t++) nd.advance(t * 1000);
  return performance.now() - t0;
}

interface Row {
  name: string;
  base: number;
  perWorker: number;
  perTick: number;
  spawnWasm: number;
  tickWasm: number;
  tickDeno: number;
}

const min = (xs: number[]) => Math.min(...xs);

async function measure(name: string, layout: number): Promise<Row> {
  const [base, spawned, short, long] = [
    await build(0, 0, layout),
    await build(WORKERS, 0, layout),
    await build(WORKERS, SHORT, layout),
    await build(WORKERS, LONG, layout),
  ];
  const rb: { memory: number; ms: number; out: string }[] = [];
  const rp: { memory: number; ms: number; out: string }[] = [];
  const rs: { memory: number; ms: number; out: string }[] = [];
  const rl: { memory: number; ms: number; out: string }[] = [];
  for (let i = 0; i < 3; i++) {
    rb.push(await runWasm(base));
    rp.push(await runWasm(spawned));
    rs.push(await runWasm(short));
    rl.push(await runWasm(long));
  }
  if (!rl[0].out.startsWith(`workers ${WORKERS} `)) throw new Error(`unexpected guest output: ${rl[0].out}`);
  const tickWasm = ((min(rl.map((r) => r.ms)) - min(rs.map((r) => r.ms))) * 1000) / ((LONG - SHORT) * WORKERS);
  const spawnWasm = ((min(rp.map((r) => r.ms)) - min(rb.map((r) => r.ms))) * 1000) / WORKERS;
  const d: number[] = [];
  for (let i = 0; i < 3; i++) {
    d.push(((runDeno(LONG, layout) - runDeno(SHORT, layout)) * 1000) / ((LONG - SHORT) * WORKERS));
  }
  return {
    name,
    base: rb[0].memory,
    perWorker: (rs[0].memory - rb[0].memory) / WORKERS,
    perTick: (rl[0].memory - rs[0].memory) / (LONG - SHORT),
    spawnWasm,
    tickWasm,
    tickDeno: min(d),
  };
}

try {
  const rows: Row[] = [];
  for (const [name, layout] of LAYOUTS) rows.push(await measure(name, layout));
  console.log(`hive under Porffor (wasm, -O1): ${WORKERS} heartbeat workers, ${SHORT} vs ${LONG} ticks, three layouts`);
  console.log(
    "layout          boot B (0 wk)   B/worker   B/tick   spawn µs/wk (porf)   tick µs/wk porf   tick µs/wk deno   deno/porf",
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(14)}  ${String(r.base).padStart(13)}  ${r.perWorker.toFixed(0).padStart(9)}  ${
        r.perTick.toFixed(1).padStart(7)
      }  ${r.spawnWasm.toFixed(2).padStart(19)}  ${r.tickWasm.toFixed(3).padStart(16)}  ${r.tickDeno.toFixed(3).padStart(16)}  ${
        (r.tickDeno / r.tickWasm).toFixed(2).padStart(10)
      }`,
    );
  }
  const u = rows[0];
  for (const r of rows.slice(1)) {
    console.log(
      `${r.name} vs unsharded: memory/worker x${(r.perWorker / u.perWorker).toFixed(2)}, spawn x${
        (r.spawnWasm / u.spawnWasm).toFixed(2)
      }, tick x${(r.tickWasm / u.tickWasm).toFixed(2)} (porf)`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
