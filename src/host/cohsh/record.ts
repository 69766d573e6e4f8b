/**
 * Session traces: `cohsh --record FILE` writes every typed command and every reply line;
 * `cohesix trace replay FILE` sends the commands again and diffs the replies byte for byte.
 *
 * Format `cohsh-trace/v1`, one JSON document per line:
 *   {"schema":"cohsh-trace/v1","transport":"tcp"}
 *   {"cmd":"cat /proc/boot"}            a typed command
 *   {"out":"OK CAT path=/proc/boot …"}  each reply line, in order
 *   {"end":{"records":N,"sha256":"…"}}  N records before this one; sha256 of their bytes (each line + "\n")
 * A trace without its end record is truncated; one whose count or hash disagrees was altered.
 * Both are refused before anything is sent.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { z } from "zod";
import type { CohshSession, ShellReply } from "./shell.ts";

export const TRACE_SCHEMA = "cohsh-trace/v1";

/** The trace file cannot be used; `message` says why and what to do. */
export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TraceError";
  }
}

const Header = z.object({ schema: z.literal(TRACE_SCHEMA), transport: z.enum(["tcp", "9p", "serial"]) }).strict();
const Cmd = z.object({ cmd: z.string() }).strict();
const Out = z.object({ out: z.string() }).strict();
const End = z.object({ end: z.object({ records: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict() }).strict();

export interface TraceStep {
  cmd: string;
  out: string[];
}

export interface Trace {
  transport: "tcp" | "9p" | "serial";
  steps: TraceStep[];
}

function digest(lines: string[]): string {
  return bytesToHex(sha256(new TextEncoder().encode(lines.map((l) => l + "\n").join(""))));
}

/** Wraps a session and records what goes through it. */
export class RecordingSession implements CohshSession {
  private records: string[];

  constructor(readonly inner: CohshSession, transport: string, private file: string) {
    this.records = [JSON.stringify({ schema: TRACE_SCHEMA, transport })];
  }

  get transportName(): string {
    return this.inner.transportName;
  }

  get quitSeen(): boolean {
    return this.inner.quitSeen;
  }

  set quitSeen(v: boolean) {
    this.inner.quitSeen = v;
  }

  cancel(): Promise<boolean> {
    return this.inner.cancel();
  }

  async execute(input: string, onLine?: (line: string) => void): Promise<ShellReply | null> {
    const reply = await this.inner.execute(input, onLine);
    if (reply === null) return null;
    this.records.push(JSON.stringify({ cmd: input.trim() }));
    for (const l of reply.lines) this.records.push(JSON.stringify({ out: l }));
    return reply;
  }

  /** Closes the session and writes the trace with its end record. */
  close(): void {
    this.inner.close();
    const end = JSON.stringify({ end: { records: this.records.length, sha256: digest(this.records) } });
    Deno.writeTextFileSync(this.file, [...this.records, end].join("\n") + "\n");
  }
}

/** Parses and checks a trace; throws TraceError for truncated, altered or malformed files. */
export function parseTrace(text: string, name: string): Trace {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length === 0) throw new TraceError(`Cannot replay ${name}: the file is empty; record one with 'cohesix cohsh --record ${name}'`);
  const parsed: unknown[] = [];
  for (let i = 0; i < lines.length; i++) {
    try {
      parsed.push(JSON.parse(lines[i]));
    } catch {
      const last = i === lines.length - 1;
      throw new TraceError(
        last
          ? `Cannot replay ${name}: the trace is truncated (line ${i + 1} is cut off); record it again`
          : `Cannot replay ${name}: line ${i + 1} is not JSON; the trace was altered, record it again`,
      );
    }
  }
  const header = Header.safeParse(parsed[0]);
  if (!header.success) throw new TraceError(`Cannot replay ${name}: line 1 is not a ${TRACE_SCHEMA} header`);
  const end = End.safeParse(parsed[parsed.length - 1]);
  if (!end.success || parsed.length === 1) {
    throw new TraceError(`Cannot replay ${name}: the trace is truncated (no end record); record it again`);
  }
  const body = lines.slice(0, -1);
  if (end.data.end.records !== body.length || end.data.end.sha256 !== digest(body)) {
    throw new TraceError(`Cannot replay ${name}: the end record does not match the contents; the trace was altered, record it again`);
  }
  const steps: TraceStep[] = [];
  for (let i = 1; i < body.length; i++) {
    const c = Cmd.safeParse(parsed[i]);
    if (c.success) {
      steps.push({ cmd: c.data.cmd, out: [] });
      continue;
    }
    const o = Out.safeParse(parsed[i]);
    if (!o.success || steps.length === 0) throw new TraceError(`Cannot replay ${name}: line ${i + 1} is not a cmd or out record`);
    steps[steps.length - 1].out.push(o.data.out);
  }
  return { transport: header.data.transport, steps };
}

export interface ReplayMismatch {
  step: number;
  cmd: string;
  line: number;
  expected: string | undefined;
  actual: string | undefined;
}

/** Sends every recorded command and compares the reply lines; returns the first difference or null. */
export async function replayTrace(trace: Trace, session: CohshSession, echo: (line: string) => void): Promise<ReplayMismatch | null> {
  for (let i = 0; i < trace.steps.length; i++) {
    const step = trace.steps[i];
    echo(`coh> ${step.cmd}`);
    const reply = await session.execute(step.cmd);
    const got = reply?.lines ?? [];
    for (const l of got) echo(l);
    const n = Math.max(got.length, step.out.length);
    for (let j = 0; j < n; j++) {
      if (got[j] !== step.out[j]) return { step: i + 1, cmd: step.cmd, line: j + 1, expected: step.out[j], actual: got[j] };
    }
  }
  return null;
}
