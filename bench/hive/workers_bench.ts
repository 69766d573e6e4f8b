/**
 * Benchmark: 1,000 heartbeat workers spawned through /queen/ctl and ticking, on NineDoor's
 * fixed tables, against a peer measured in the same run: the straightforward JavaScript version
 * of the same job (a Map of worker objects, each keeping its bounded telemetry as an array of
 * line strings). Prints spawn and tick cost per worker, memory per worker, and peer/ours ratios
 * (above 1 means NineDoor is cheaper). Memory is V8 heap + external bytes after a forced GC.
 *
 * Usage: deno run -A --v8-flags=--expose-gc bench/hive/workers_bench.ts [--workers N] [--ticks N] [--rounds N]
 */
import { parseArgs } from "node:util";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    workers: { type: "string", default: "1000" },
    ticks: { type: "string", default: "1000" },
    rounds: { type: "string", default: "5" },
  },
});
const ROUNDS = Number(values.rounds);
const WORKERS = Number(values.workers);
const TICKS = Number(values.ticks);
const RING = 1024;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.log("note: run with --v8-flags=--expose-gc for memory numbers");

function mem(): number {
  gc?.();
  gc?.();
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The peer: what one would write without the Porffor constraints. */
class NaiveHive {
  workers = new Map<string, { tick: number; lines: string[]; bytes: number; dropped: number }>();
  seq = 0;
  spawn(json: string): void {
    const cmd = JSON.parse(json);
    if (cmd.spawn !== "heartbeat" || typeof cmd.ticks !== "number") throw new Error("bad");
    this.workers.set(`worker-${++this.seq}`, { tick: 0, lines: [], bytes: 0, dropped: 0 });
  }
  tick(): void {
    for (const w of this.workers.values()) {
      const line = `heartbeat ${++w.tick}\n`;
      w.lines.push(line);
      w.bytes += line.length;
      while (w.bytes > RING) {
        const old = w.lines.shift()!;
        w.bytes -= old.length;
        w.dropped += old.length;
      }
    }
  }
}

function spawnLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`{"spawn":"heartbeat","ticks":1000000,"budget":{"ttl_s":0}}\n`);
  return out;
}

/** Worker layouts measured side by side: flat `/worker/<id>`, sharded, sharded plus the `/worker` alias. */
const LAYOUTS = [
  { name: "unsharded", sharding: { enabled: false, shardBits: 8, legacyWorkerAlias: true } },
  { name: "sharded", sharding: { enabled: true, shardBits: 8, legacyWorkerAlias: false } },
  { name: "sharded+alias", sharding: { enabled: true, shardBits: 8, legacyWorkerAlias: true } },
];

function runOurs(
  measureMem: boolean,
  layout = 0,
): { spawnUs: number; tickUs: number[]; bytes: number; check: number } {
  const base = measureMem ? mem() : 0;
  const boot = defaultBootConfig();
  boot.limits.maxWorkers = WORKERS;
  boot.sharding = { ...LAYOUTS[layout].sharding };
  boot.telemetryRingBytes = RING;
  const nd = new NineDoor(boot);
  nd.advance(0);
  const s = nd.attach("queen", "");
  const enc = new TextEncoder();
  const name = (t: string) => enc.encode(t);
  const queen = nd.walk(s, nd.root(s), name("queen"), 0, 5);
  const ctl = nd.walk(s, queen, name("ctl"), 0, 3);
  nd.open(s, ctl, 1);
  const batches: Uint8Array[] = [];
  const lines = spawnLines(WORKERS);
  for (let i = 0; i < lines.length; i += boot.limits.maxCtlCommands) {
    batches.push(enc.encode(lines.slice(i, i + boot.limits.maxCtlCommands).join("")));
  }
  const t0 = performance.now();
  for (const b of batches) {
    if (nd.write(s, ctl, 0, 0, b, 0, b.length) !== b.length) throw new Error("spawn refused");
  }
  const spawnUs = ((performance.now() - t0) * 1000) / WORKERS;
  const tickUs: number[] = [];
  for (let t = 1; t <= TICKS; t++) {
    const a = performance.now();
    nd.advance(t * boot.tickMs);
    tickUs.push(((performance.now() - a) * 1000) / WORKERS);
  }
  const bytes = measureMem ? (mem() - base) / WORKERS : 0;
  return { spawnUs, tickUs, bytes, check: nd.telemetry.end[WORKERS - 1] + nd.workers.liveCount };
}

function runPeer(measureMem: boolean): { spawnUs: number; tickUs: number[]; bytes: number; check: number } {
  const base = measureMem ? mem() : 0;
  const h = new NaiveHive();
  const lines = spawnLines(WORKERS);
  const t0 = performance.now();
  for (const l of lines) h.spawn(l);
  const spawnUs = ((performance.now() - t0) * 1000) / WORKERS;
  const tickUs: number[] = [];
  for (let t = 1; t <= TICKS; t++) {
    const a = performance.now();
    h.tick();
    tickUs.push(((performance.now() - a) * 1000) / WORKERS);
  }
  const bytes = measureMem ? (mem() - base) / WORKERS : 0;
  const last = h.workers.get(`worker-${WORKERS}`)!;
  return { spawnUs, tickUs, bytes, check: last.bytes + last.dropped + h.workers.size };
}

// Timing rounds alternate (shared warm-up and machine noise) and skip the first (JIT warm-up);
// memory is measured in separate rounds, because forcing GC also discards optimised code.
const ours: ReturnType<typeof runOurs>[][] = LAYOUTS.map(() => []);
const peer: ReturnType<typeof runPeer>[] = [];
for (let r = 0; r < ROUNDS; r++) {
  for (let l = 0; l < LAYOUTS.length; l++) ours[l].push(runOurs(false, l));
  peer.push(runPeer(false));
}
const oursMem = LAYOUTS.map((_, l) => Math.min(runOurs(true, l).bytes, runOurs(true, l).bytes));
const peerMem = [runPeer(true), runPeer(true)].map((x) => x.bytes);
const keep = <T>(xs: T[]) => xs.slice(1);
for (let l = 0; l < LAYOUTS.length; l++) {
  if (ours[l][0].check !== peer[0].check) {
    throw new Error(`the runs disagree (${LAYOUTS[l].name}): ${ours[l][0].check} vs ${peer[0].check}`);
  }
}
const o = LAYOUTS.map((_, l) => ({
  spawn: median(keep(ours[l]).map((x) => x.spawnUs)),
  tick: median(keep(ours[l]).flatMap((x) => x.tickUs.slice(10))),
  bytes: oursMem[l],
}));
const p = {
  spawn: median(keep(peer).map((x) => x.spawnUs)),
  tick: median(keep(peer).flatMap((x) => x.tickUs.slice(10))),
  bytes: Math.min(...peerMem),
};
const f = (n: number, d = 3) => n.toFixed(d);
const col = (n: number, d = 3) => f(n, d).padStart(14);
console.log(
  `hive bench: ${WORKERS} heartbeat workers, ${TICKS} ticks, ${RING}-byte telemetry rings (Deno ${Deno.version.deno})`,
);
console.log(`                   ${LAYOUTS.map((x) => x.name.padStart(14)).join("")}   peer (Map+lines)   peer/unsharded`);
console.log(`spawn  µs/worker ${o.map((x) => col(x.spawn)).join("")}   ${col(p.spawn)}   ${f(p.spawn / o[0].spawn, 2)}`);
console.log(`tick   µs/worker ${o.map((x) => col(x.tick)).join("")}   ${col(p.tick)}   ${f(p.tick / o[0].tick, 2)}`);
console.log(`memory B/worker  ${o.map((x) => col(x.bytes, 0)).join("")}   ${col(p.bytes, 0)}   ${f(p.bytes / o[0].bytes, 2)}`);
for (let l = 1; l < LAYOUTS.length; l++) {
  console.log(
    `${LAYOUTS[l].name} / unsharded: spawn x${f(o[l].spawn / o[0].spawn, 2)}, tick x${f(o[l].tick / o[0].tick, 2)}, memory x${
      f(o[l].bytes / o[0].bytes, 2)
    }`,
  );
}
console.log(
  `(ninedoor memory is its boot-time tables: rings, node/session/worker columns; the peer's grows with line churn until GC)`,
);
