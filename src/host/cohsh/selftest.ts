/**
 * `test [--mode quick|full] [--json] [--timeout s] [--no-mutate]`: the hive's self-tests, run by
 * cohsh. Scripts come from the hive (`/proc/tests/selftest_{negative,quick,full}.coh`, read with
 * `cat` over the session); when the hive does not serve them, the copies shipped with cohsh
 * (demo/selftest_*.coh) run instead and a `source/…` check says so. Preflight attaches as queen
 * and pings; each script then runs strictly on a fresh session; every command is one check.
 */
import { z } from "zod";
import { verbOfText, Verb } from "../../guest/console/grammar.ts";
import { parseScript, runSteps, type Step } from "./script.ts";
import type { CohshSession, ShellReply } from "./shell.ts";
import { TransportError } from "./transport.ts";

export const SELFTEST_VERSION = "1";
export const DEFAULT_TIMEOUT_S = 30;
export const MAX_TIMEOUT_S = 120;

export const SelftestCheck = z.object({
  name: z.string().max(120),
  ok: z.boolean(),
  detail: z.string().max(200),
});

/** The JSON document of `test --json`. */
export const SelftestReport = z.object({
  ok: z.boolean(),
  mode: z.enum(["quick", "full"]),
  elapsed_ms: z.number().int().nonnegative(),
  checks: z.array(SelftestCheck),
  version: z.literal(SELFTEST_VERSION),
});
export type SelftestReport = z.infer<typeof SelftestReport>;

export interface SelftestOptions {
  mode: "quick" | "full";
  timeoutS: number;
  noMutate: boolean;
}

/** Parses the arguments after `test`; returns a message for bad ones. */
export function parseTestArgs(args: string[]): { json: boolean; opts: SelftestOptions } | string {
  const opts: SelftestOptions = { mode: "quick", timeoutS: DEFAULT_TIMEOUT_S, noMutate: false };
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--json") json = true;
    else if (a === "--no-mutate") opts.noMutate = true;
    else if (a === "--mode") {
      const m = args[++i];
      if (m !== "quick" && m !== "full") return `test: --mode must be quick or full, got '${m ?? ""}'`;
      opts.mode = m;
    } else if (a === "--timeout") {
      const t = args[++i];
      if (t === undefined || !/^\d+$/.test(t) || Number(t) < 1 || Number(t) > MAX_TIMEOUT_S) {
        return `test: --timeout must be 1..${MAX_TIMEOUT_S} seconds, got '${t ?? ""}'`;
      }
      opts.timeoutS = Number(t);
    } else return `test: unknown argument '${a}' (usage: test [--mode quick|full] [--json] [--timeout s] [--no-mutate])`;
  }
  return { json, opts };
}

const SHIPPED = new URL("../../../demo/", import.meta.url);

function cap(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n);
}

class Timeout extends Error {}

/** Runs the self-tests through sessions made by `open`. */
export async function runSelftest(open: () => Promise<CohshSession>, opts: SelftestOptions): Promise<SelftestReport> {
  const t0 = performance.now();
  const deadline = t0 + opts.timeoutS * 1000;
  const checks: z.infer<typeof SelftestCheck>[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name: cap(name, 120), ok, detail: cap(detail, 200) });
  const within = <T>(p: Promise<T>): Promise<T> => {
    const left = deadline - performance.now();
    if (left <= 0) return Promise.reject(new Timeout());
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      p,
      new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Timeout()), left);
      }),
    ]).finally(() => clearTimeout(timer));
  };
  const names = ["selftest_negative", opts.mode === "quick" ? "selftest_quick" : "selftest_full"];
  try {
    const pre = await within(open());
    const scripts: { name: string; text: string }[] = [];
    try {
      const a = await within(pre.execute("attach queen"));
      check("preflight/attach", a?.ack?.ok === true, a?.ackLine || a?.local || "no reply");
      const p = await within(pre.execute("ping"));
      check("preflight/ping", p?.ack?.ok === true, p?.ack?.ok ? "OK ping" : p?.ackLine || "no reply");
      if (!checks.every((c) => c.ok)) return finish();
      for (const name of names) {
        const r = await within(pre.execute(`cat /proc/tests/${name}.coh`));
        if (r?.ack?.ok) {
          scripts.push({ name, text: payload(r).join("\n") + "\n" });
          check(`source/${name}.coh`, true, `served by the hive at /proc/tests/${name}.coh`);
        } else {
          scripts.push({ name, text: await Deno.readTextFile(new URL(`${name}.coh`, SHIPPED)) });
          check(`source/${name}.coh`, true, `shipped with cohsh: the hive answered ${r?.ackLine || "nothing"}`);
        }
      }
      await within(pre.execute("quit")).catch(() => null);
    } finally {
      pre.close();
    }
    for (const { name, text } of scripts) {
      let steps: Step[];
      try {
        steps = parseScript(text, `${name}.coh`);
      } catch (e) {
        check(`${name}.coh`, false, (e as Error).message);
        continue;
      }
      if (opts.noMutate) steps = withoutMutations(steps);
      const s = await within(open());
      try {
        await within(runSteps(steps, (c) => within(s.execute(c)), () => {}, (ms) => within(new Promise((r) => setTimeout(r, ms)))
          , (step, reply, failure) => {
            const label = `${name} line ${step.line}: ${step.command}`;
            if (failure) check(label, false, `${failure.reason}${failure.ackLine ? `: ${failure.ackLine}` : ""}`);
            else check(label, true, ackDetail(reply));
          }));
      } finally {
        s.close();
      }
    }
  } catch (e) {
    if (e instanceof Timeout) check("timeout", false, `the self-test did not finish within ${opts.timeoutS} s`);
    else if (e instanceof TransportError) check("transport", false, e.message);
    else throw e;
  }
  return finish();

  function finish(): SelftestReport {
    return {
      ok: checks.length > 0 && checks.every((c) => c.ok),
      mode: opts.mode,
      elapsed_ms: Math.round(performance.now() - t0),
      checks,
      version: SELFTEST_VERSION,
    };
  }
}

function ackDetail(reply: ShellReply | null): string {
  if (reply === null) return "";
  const a = reply.ack;
  return a === null ? reply.ackLine : a.ok ? "OK" : reply.ackLine;
}

function payload(r: ShellReply): string[] {
  const i = r.lines.indexOf(r.ackLine);
  const end = r.lines.lastIndexOf("END");
  return r.lines.slice(i + 1, end);
}

/** Drops spawn and kill (and their EXPECTs) for `--no-mutate`. */
function withoutMutations(steps: Step[]): Step[] {
  return steps.filter((s) => {
    const v = verbOfText(s.command);
    return v !== Verb.Spawn && v !== Verb.Kill;
  });
}

/** Human-readable report lines. */
export function formatReport(r: SelftestReport): string[] {
  const lines = r.checks.map((c) => `${c.ok ? "PASS" : "FAIL"} ${c.name}${c.detail ? ` — ${c.detail}` : ""}`);
  const failed = r.checks.filter((c) => !c.ok).length;
  lines.push(`selftest ${r.mode}: ${r.ok ? "ok" : "FAILED"}, ${r.checks.length} checks, ${failed} failed (${r.elapsed_ms} ms)`);
  return lines;
}
