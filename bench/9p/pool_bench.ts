/**
 * Session-pool throughput (seeds Milestone 15): appends of one telemetry-sized record to
 * /log/queen.log on a `cohesix dev` hive in its own process, driven from this process through
 * the pool (src/host/cohsh/pool.ts) in the layouts an operator can pick, each measured in the same
 * run against the single-session baseline (one session, one write at a time):
 *   9p    1 session × batch 1 (baseline), 1 × 8, pool 4 × 1, pool 4 × 8 (the default policy's pool)
 *   tcp   1 console connection × batch 1 (baseline), pool 2 × 8 (control_sessions, pipelined ECHO)
 * Per layout: the median ops/s of --reps runs of --ops records, and the ratio to its baseline.
 * Usage: deno task bench:pool [--ops 4000] [--reps 5]
 */
import { parseArgs } from "node:util";
import { poolAppend, type SessionFactory } from "../../src/host/cohsh/pool.ts";
import { ConsolePoolSession, NinepPoolSession } from "../../src/host/cohsh/pool_sessions.ts";
import { ConsoleClient } from "../../src/host/cohsh/client.ts";
import { CLIENT_POLICY } from "../../src/host/generated/cohsh_policy.ts";
import { startDevHive } from "../dev_hive.ts";

const { values } = parseArgs({ args: Deno.args, options: { ops: { type: "string", default: "4000" }, reps: { type: "string", default: "5" } } });
const OPS = Number(values.ops);
const REPS = Number(values.reps);
const TOKEN = "pool-bench";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function opsPerSecond(open: SessionFactory, size: number, batch: number): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const records = Array.from({ length: OPS }, (_, i) => `pool-bench run=r${r} seq=${i} payload=0123456789abcdef`);
    const t0 = performance.now();
    await poolAppend(open, size, batch, "/log/queen.log", records, CLIENT_POLICY.retry, () => Promise.resolve(new Set()), (l) => console.error(l));
    runs.push(OPS / ((performance.now() - t0) / 1000));
  }
  return median(runs);
}

const hive = await startDevHive(["--auth-token", TOKEN]);
try {
  const ninep: SessionFactory = (batch) => NinepPoolSession.open("127.0.0.1", hive.ninep, "queen", "", batch);
  const consoleOpen: SessionFactory = () =>
    ConsolePoolSession.open(() => ConsoleClient.connectTcp("127.0.0.1", hive.console, TOKEN), "ATTACH queen");
  const rows: [string, string, SessionFactory, number, number][] = [
    ["9p", "1 session x batch 1 (baseline)", ninep, 1, 1],
    ["9p", "1 session x batch 8", ninep, 1, 8],
    ["9p", `pool ${CLIENT_POLICY.pool.telemetry_sessions} x batch 1`, ninep, CLIENT_POLICY.pool.telemetry_sessions, 1],
    ["9p", `pool ${CLIENT_POLICY.pool.telemetry_sessions} x batch 8`, ninep, CLIENT_POLICY.pool.telemetry_sessions, 8],
    ["tcp", "1 connection x batch 1 (baseline)", consoleOpen, 1, 1],
    ["tcp", `pool ${CLIENT_POLICY.pool.control_sessions} x batch 8`, consoleOpen, CLIENT_POLICY.pool.control_sessions, 8],
  ];
  console.log(`pool bench: ${OPS} appends of one record to /log/queen.log per run, median of ${REPS} runs, hive in its own process`);
  const base = new Map<string, number>();
  for (const [transport, label, open, size, batch] of rows) {
    const rate = await opsPerSecond(open, size, batch);
    if (!base.has(transport)) base.set(transport, rate);
    const ratio = rate / base.get(transport)!;
    console.log(`  ${transport.padEnd(4)} ${label.padEnd(36)} ${Math.round(rate).toString().padStart(7)} ops/s  x${ratio.toFixed(2)} vs single`);
  }
} finally {
  await hive.stop();
}
