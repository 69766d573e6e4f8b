/**
 * `/replay` cost, hosted (Deno) vs Porffor (`porf`), measured in the same run: the guest driver
 * (tests/ninedoor/fixtures/policy_porf_entry.ts, booted from configs/full.toml) runs with 0 and with N
 * extra `{"from":1}` replays (two journaled control actions each: parse, window check, re-apply,
 * FNV-1a 64); the time difference over N is the cost of one replay write, start-up excluded.
 * Usage: deno task bench:policy [N]   (default 20000)
 */
import { buildPolicyDriver } from "../../tests/ninedoor/policy_porf.ts";
import { runDeno, runPorf } from "../../tests/support/porf.ts";

const N = Number(Deno.args[0] ?? 20000);
if (!Number.isInteger(N) || N < 1) {
  console.error("usage: deno task bench:policy [N]  (N = replays per timed run, a positive integer)");
  Deno.exit(2);
}

async function timed(run: (b: string) => Promise<string>, bundle: string): Promise<number> {
  const t0 = performance.now();
  await run(bundle);
  return performance.now() - t0;
}

const dir0 = await Deno.makeTempDir({ prefix: "policy-bench-0-" });
const dirN = await Deno.makeTempDir({ prefix: "policy-bench-n-" });
try {
  console.error(`building the driver (0 and ${N} replays) ...`);
  const [b0, bN] = await Promise.all([buildPolicyDriver(dir0, 0), buildPolicyDriver(dirN, N)]);
  const rows: [string, number][] = [];
  for (const [name, run] of [["deno (hosted)", runDeno], ["porf", runPorf]] as const) {
    console.error(`running under ${name} ...`);
    const base = await timed(run, b0);
    const full = await timed(run, bN);
    rows.push([name, ((full - base) * 1000) / N]);
  }
  for (const [name, us] of rows) {
    console.log(`${name.padEnd(14)} ${us.toFixed(2)} µs per /replay/ctl write (2 actions)`);
  }
  console.log(`porf / deno: ${(rows[1][1] / rows[0][1]).toFixed(2)}x`);
} finally {
  await Deno.remove(dir0, { recursive: true });
  await Deno.remove(dirN, { recursive: true });
}
