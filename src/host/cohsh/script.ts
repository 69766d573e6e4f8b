/**
 * `.coh` scripts: one statement per line; blank lines and `#` comments are skipped; `EXPECT OK`,
 * `EXPECT ERR`, `EXPECT SUBSTR <text>`, `EXPECT NOT <text>` check the acknowledgement line of the
 * command before them; `WAIT <ms>` (≤ 2000) pauses; anything else is a shell command.
 * Runs are strict: the first failed command or EXPECT stops the run. A command answered with
 * `ERR` fails unless an `EXPECT ERR` follows it.
 */
import type { ShellReply } from "./shell.ts";

export const MAX_SCRIPT_LINES = 256;
export const MAX_WAIT_MS = 2000;

export type Expect =
  | { type: "OK" }
  | { type: "ERR" }
  | { type: "SUBSTR"; text: string }
  | { type: "NOT"; text: string };

export interface Step {
  /** 1-based line number of the command. */
  line: number;
  /** The command text, or "" for a WAIT. */
  command: string;
  waitMs: number;
  expects: { line: number; expect: Expect; text: string }[];
}

/** The script itself is malformed (reported before anything runs). */
export class ScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScriptError";
  }
}

/** Parses a script into steps; throws ScriptError naming the file and line. */
export function parseScript(text: string, name: string): Step[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length > MAX_SCRIPT_LINES) {
    throw new ScriptError(`Cannot run ${name}: it has ${lines.length} lines, the limit is ${MAX_SCRIPT_LINES}; split it`);
  }
  const steps: Step[] = [];
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i].replace(/\r$/, "").trim();
    if (raw === "" || raw.startsWith("#")) continue;
    const word = raw.split(/\s+/, 1)[0];
    if (word === "EXPECT") {
      const prev = steps[steps.length - 1];
      if (prev === undefined || prev.command === "") {
        throw new ScriptError(`${name}:${n}: EXPECT needs a command before it`);
      }
      prev.expects.push({ line: n, expect: parseExpect(raw, name, n), text: raw });
    } else if (word === "WAIT") {
      const arg = raw.slice(4).trim();
      if (!/^\d+$/.test(arg)) throw new ScriptError(`${name}:${n}: WAIT needs milliseconds, e.g. WAIT 100`);
      const ms = Number(arg);
      if (ms > MAX_WAIT_MS) throw new ScriptError(`${name}:${n}: WAIT ${ms} is over the ${MAX_WAIT_MS} ms limit`);
      steps.push({ line: n, command: "", waitMs: ms, expects: [] });
    } else {
      steps.push({ line: n, command: raw, waitMs: 0, expects: [] });
    }
  }
  return steps;
}

function parseExpect(raw: string, name: string, n: number): Expect {
  const m = /^EXPECT\s+(OK|ERR|SUBSTR|NOT)(?:\s+(.*))?$/.exec(raw);
  if (!m) throw new ScriptError(`${name}:${n}: expected 'EXPECT OK', 'EXPECT ERR', 'EXPECT SUBSTR <text>' or 'EXPECT NOT <text>'`);
  const arg = (m[2] ?? "").trim();
  if (m[1] === "OK" || m[1] === "ERR") {
    if (arg !== "") throw new ScriptError(`${name}:${n}: EXPECT ${m[1]} takes no text`);
    return { type: m[1] };
  }
  if (arg === "") throw new ScriptError(`${name}:${n}: EXPECT ${m[1]} needs a text`);
  return { type: m[1] as "SUBSTR" | "NOT", text: arg };
}

/** Whether an acknowledgement line satisfies an expectation. */
export function checkExpect(expect: Expect, ackLine: string): boolean {
  switch (expect.type) {
    case "OK":
      return ackLine === "OK" || ackLine.startsWith("OK ");
    case "ERR":
      return ackLine === "ERR" || ackLine.startsWith("ERR ");
    case "SUBSTR":
      return ackLine.includes(expect.text);
    case "NOT":
      return !ackLine.includes(expect.text);
  }
}

export interface StepFailure {
  line: number;
  command: string;
  reason: string;
  ackLine: string;
}

/** What one step gives back to the runner. */
export type Executor = (command: string) => Promise<ShellReply | null>;

export interface RunResult {
  ok: boolean;
  steps: number;
  failure?: StepFailure;
}

/**
 * Runs steps in order. `echo` receives each transcript line (`coh> <command>`, then the reply
 * lines). Stops at the first failure.
 */
export async function runSteps(
  steps: Step[],
  exec: Executor,
  echo: (line: string) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  observe?: (step: Step, reply: ShellReply | null, failure?: StepFailure) => void,
): Promise<RunResult> {
  let done = 0;
  for (const step of steps) {
    if (step.command === "") {
      await sleep(step.waitMs);
      done++;
      continue;
    }
    echo(`coh> ${step.command}`);
    const reply = await exec(step.command);
    if (reply === null) {
      done++;
      continue;
    }
    for (const l of reply.lines) echo(l);
    const fail = (reason: string, line = step.line): RunResult => {
      const failure = { line, command: step.command, reason, ackLine: reply.ackLine };
      observe?.(step, reply, failure);
      return { ok: false, steps: done, failure };
    };
    if (reply.local !== undefined) return fail(reply.local);
    if (reply.ack === null) return fail("the hive closed the connection without a reply");
    const expectsErr = step.expects.some((e) => e.expect.type === "ERR");
    if (!reply.ack.ok && !expectsErr) return fail("unexpected ERR");
    for (const e of step.expects) {
      if (!checkExpect(e.expect, reply.ackLine)) return fail(`${e.text} not met`, e.line);
    }
    observe?.(step, reply);
    done++;
    if (reply.closed && step !== steps[steps.length - 1]) {
      return fail("the hive closed the connection; later statements cannot run");
    }
  }
  return { ok: true, steps: done };
}
