/**
 * Benchmark on the native build's engine: the guest hive load (porf_guest.ts) compiled by Porffor
 * to Wasm (the flags of the seL4 pipeline), run in this process. Because Porffor has no GC, linear
 * memory only grows; comparing runs shows the cost that matters on the device:
 * - bytes per worker: memory(WORKERS) − memory(0 workers), over WORKERS;
 * - bytes per tick in steady state: memory(TICKS long) − memory(TICKS short) (0 = no per-tick allocation);
 * - tick cost per worker: wall time difference between the long and short runs.
 * Peer, measured in the same run: the same workers and ticks under Deno (JIT + GC).
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

async function build(workers: number, ticks: number): Promise<Uint8Array<ArrayBuffer>> {
  const js = `${dir}/g_${workers}_${ticks}.js`;
  const wasm = js.replace(/\.js$/, ".wasm");
  await sh("esbuild", [
    root + "bench/hive/porf_guest.ts",
    "--bundle",
    "--format=esm",
    "--target=es2022",
    `--define:WORKERS=${workers}`,
    `--define:TICKS=${ticks}`,
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

function runDeno(ticks: number): number {
  const boot = defaultBootConfig();
  boot.limits.maxWorkers = WORKERS;
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

try {
  const [base, short, long] = [await build(0, 0), await build(WORKERS, SHORT), await build(WORKERS, LONG)];
  const b = await runWasm(base);
  const rs: { memory: number; ms: number; out: string }[] = [];
  const rl: { memory: number; ms: number; out: string }[] = [];
  for (let i = 0; i < 3; i++) {
    rs.push(await runWasm(short));
    rl.push(await runWasm(long));
  }
  if (!rl[0].out.startsWith(`workers ${WORKERS} `)) throw new Error(`unexpected guest output: ${rl[0].out}`);
  const min = (xs: number[]) => Math.min(...xs);
  const tickWasm = ((min(rl.map((r) => r.ms)) - min(rs.map((r) => r.ms))) * 1000) /
    ((LONG - SHORT) * WORKERS);
  const d: number[] = [];
  for (let i = 0; i < 3; i++) d.push(((runDeno(LONG) - runDeno(SHORT)) * 1000) / ((LONG - SHORT) * WORKERS));
  const tickDeno = min(d);
  console.log(`hive under Porffor (wasm, -O1): ${WORKERS} heartbeat workers, ${SHORT} vs ${LONG} ticks`);
  console.log(
    `linear memory: boot with 0 workers ${b.memory} B; ${WORKERS} workers after ${SHORT} ticks ${
      rs[0].memory
    } B, after ${LONG} ticks ${rl[0].memory} B`,
  );
  console.log(
    `memory per worker (incl. its tables, rings, node names): ${
      ((rs[0].memory - b.memory) / WORKERS).toFixed(0)
    } B`,
  );
  console.log(
    `memory growth per steady-state tick: ${
      ((rl[0].memory - rs[0].memory) / (LONG - SHORT)).toFixed(1)
    } B (0 = no per-tick allocation)`,
  );
  console.log(
    `tick µs/worker: porffor wasm ${tickWasm.toFixed(3)}, deno (peer) ${tickDeno.toFixed(3)}, deno/porffor ${
      (tickDeno / tickWasm).toFixed(2)
    }`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
