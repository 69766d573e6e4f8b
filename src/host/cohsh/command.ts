/** `cohesix cohsh`: the operator shell for a hive's console. */
import { parseFlags, parsePort, type Subcommand, UsageError } from "../cli/command.ts";
import { DEFAULT_AUTH_TOKEN } from "../../guest/console/grammar.ts";
import { DEFAULT_TIMEOUT_MS } from "./client.ts";
import { type CohshTarget, openSession, type TransportKind } from "./connect.ts";
import { interactive } from "./interactive.ts";
import { parseScript, runSteps, ScriptError } from "./script.ts";
import type { CohshSession } from "./shell.ts";
import { formatReport, parseTestArgs, runSelftest } from "./selftest.ts";
import { runTelemetryPush } from "./telemetry_push.ts";
import { TransportError } from "./transport.ts";

export type { CohshTarget };

const HELP = `cohesix cohsh: the operator shell for a Cohesix hive console

Usage: cohesix cohsh [--transport tcp|9p|serial] [--host H] [--port P] [--auth-token T]
                    [--role R [--ticket T]] [--script FILE.coh]

Connects to a hive and runs console commands. Transports (same transcript on each):
  tcp      the TCP console (length-prefixed frames, AUTH handshake), default port 31337
  9p       the same verbs as Secure9P (9P2000.L) operations, default port 5640
  serial   a newline console on a byte stream: --serial-cmd CMD (its stdin/stdout, e.g.
           'cohesix dev --serial') or --serial-path SOCKET (e.g. QEMU -serial unix:SOCKET,server)
Commands:
  help | attach <role> [ticket] | ping | ls <path> | cat <path> | tail [-f] <path> | test …
  telemetry push FILE --device D   (over 9P; 'cohesix cohsh telemetry push --help')
  echo <text> > <path> | log | kill <worker> | bind <from> <to>
  spawn heartbeat ticks=N [ttl_s=T] [ops=O] | spawn gpu gpu_id=ID mem_mb=M streams=S ttl_s=T [priority=P]
  spawn <json>
  mount <service> <path> | quit
Each command gets one 'OK <VERB> …' or 'ERR <VERB> reason=…' line; cat/tail/ls/log stream
lines after their OK and end with END. Grammar: docs/console-grammar.md.

Flags:
  --transport T      tcp (default), 9p or serial
  --host H           hive host (default 127.0.0.1)
  --port P           console port (tcp, default 31337) or 9P port (9p, default 5640)
  --serial-cmd CMD   serial: run CMD and use its stdin/stdout as the console
  --serial-path P    serial: connect to the Unix socket P
  --auth-token T     console AUTH token (default: $COHSH_AUTH_TOKEN, else 'changeme')
  --role R           attach as this role right after connecting
  --ticket T         ticket for --role
  --script FILE      run a .coh script, print the transcript, exit 1 on the first ERR the
                     script does not EXPECT (or a failed EXPECT)
  --timeout MS       reply timeout in ms (default ${DEFAULT_TIMEOUT_MS})
  --json             with --script: print one JSON document instead of the transcript:
                     {"version":1,"script","transport","ok","steps":[{"line","command","lines","ok"}],"failure"}
  --record FILE      write a trace of the session (commands and replies, with a checksum);
                     replay it with 'cohesix trace replay FILE'

Self-tests:
  cohesix cohsh [connection flags] test [--mode quick|full] [--json] [--timeout S] [--no-mutate]
  runs /proc/tests/selftest_negative.coh then selftest_quick.coh (or _full) as served by the hive
  (cohsh's shipped copies when it serves none), each command one check; --json prints
  {"ok":…,"mode":…,"elapsed_ms":…,"checks":[{"name","ok","detail"}],"version":"1"}.
  The same 'test …' works at the coh> prompt.

Exit codes: 0 ok, 1 script/self-test failure or hive unreachable, 2 usage error.

Examples:
  cohesix cohsh                                   # interactive, coh> prompt
  cohesix cohsh --role queen                      # attach as queen, then interactive
  cohesix cohsh --script demo/demo.coh            # scripted, against 127.0.0.1:31337
  cohesix cohsh --port 40000 --auth-token s3cret --script demo/demo.coh
  cohesix cohsh --transport 9p --script demo/demo.coh
  cohesix cohsh test --mode full --json
  cohesix cohsh --record session.trace --script demo/demo.coh && cohesix trace replay session.trace
  cohesix cohsh --transport serial --serial-cmd 'cohesix dev --serial --ninep-port 0' --script demo/demo.coh
`;

/** One command of a `--json` transcript. */
export interface TranscriptStep {
  line: number;
  command: string;
  lines: string[];
  ok: boolean;
}

/** Runs a script file's text over a transport; writes the transcript through `out`. Returns the exit code. */
export async function runScriptText(
  target: CohshTarget | (() => Promise<CohshSession>),
  text: string,
  name: string,
  out: (line: string) => void,
  err: (line: string) => void,
  preamble: string[] = [],
  json = false,
): Promise<number> {
  let steps;
  try {
    steps = parseScript(text, name);
  } catch (e) {
    if (e instanceof ScriptError) {
      err(`cohsh: ${e.message}`);
      return 2;
    }
    throw e;
  }
  let shell: CohshSession;
  try {
    shell = typeof target === "function" ? await target() : await openSession(target);
  } catch (e) {
    if (e instanceof TransportError) {
      err(`cohsh: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const done: TranscriptStep[] = [];
  let failure: { line: number; command: string; reason: string; ack: string } | null = null;
  const echo = json ? () => {} : out;
  const finish = (code: number): number => {
    if (json) out(JSON.stringify({ version: 1, script: name, transport: shell.transportName.split(" ")[0], ok: code === 0, steps: done, failure }));
    return code;
  };
  try {
    for (const p of preamble) {
      const r = await shell.execute(p);
      echo(`coh> ${p}`);
      for (const l of r?.lines ?? []) echo(l);
      done.push({ line: 0, command: p, lines: r?.lines ?? [], ok: r?.ack?.ok === true });
      if (!r?.ack?.ok) {
        failure = { line: 0, command: p, reason: "failed", ack: r?.ackLine || r?.local || "" };
        err(`cohsh: '${p}' failed: ${r?.ackLine || r?.local || "no reply"}`);
        return finish(1);
      }
    }
    const result = await runSteps(steps, (c) => shell.execute(c), echo, undefined, (step, reply, f) => {
      done.push({ line: step.line, command: step.command, lines: reply?.lines ?? [], ok: f === undefined });
    });
    if (!result.ok) {
      const f = result.failure!;
      failure = { line: f.line, command: f.command, reason: f.reason, ack: f.ackLine };
      err(`cohsh: FAIL ${name}:${f.line}: '${f.command}': ${f.reason}${f.ackLine ? ` (reply: ${f.ackLine})` : ""}`);
      return finish(1);
    }
    return finish(0);
  } catch (e) {
    if (e instanceof TransportError) {
      failure = { line: 0, command: "", reason: e.message, ack: "" };
      err(`cohsh: ${e.message}`);
      return finish(1);
    }
    throw e;
  } finally {
    shell.close();
  }
}

export const cohshCommand: Subcommand = {
  name: "cohsh",
  summary: "operator shell for a hive console (interactive or --script FILE.coh)",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const push = argv.indexOf("telemetry");
    if (push >= 0 && argv[push + 1] === "push") return runTelemetryPush(argv.slice(0, push), argv.slice(push + 2));
    const { values, positionals } = parseFlags("cohsh", argv, {
      host: { type: "string" },
      port: { type: "string" },
      "auth-token": { type: "string" },
      role: { type: "string" },
      ticket: { type: "string" },
      script: { type: "string" },
      timeout: { type: "string" },
      transport: { type: "string" },
      "serial-cmd": { type: "string" },
      "serial-path": { type: "string" },
      record: { type: "string" },
      mode: { type: "string" },
      json: { type: "boolean" },
      "no-mutate": { type: "boolean" },
    }, true);
    const selftest = positionals[0] === "test";
    if (positionals.length > (selftest ? 1 : 0)) {
      throw new UsageError(`cohsh: unexpected argument '${positionals[selftest ? 1 : 0]}'`, "run 'cohesix cohsh --help' for usage");
    }
    if (!selftest && (values.mode !== undefined || values["no-mutate"])) {
      throw new UsageError("cohsh: --mode and --no-mutate belong to 'cohesix cohsh test'");
    }
    if (!selftest && values.json && values.script === undefined) {
      throw new UsageError("cohsh: --json needs --script (or 'cohesix cohsh test --json')");
    }
    const transport = (values.transport ?? "tcp") as TransportKind;
    if (!["tcp", "9p", "serial"].includes(transport)) {
      throw new UsageError(`cohsh: --transport must be tcp, 9p or serial, got '${values.transport}'`);
    }
    if (transport === "serial" && (values["serial-cmd"] === undefined) === (values["serial-path"] === undefined)) {
      throw new UsageError("cohsh: --transport serial needs exactly one of --serial-cmd or --serial-path");
    }
    if (values.ticket !== undefined && values.role === undefined) {
      throw new UsageError("cohsh: --ticket needs --role", "run 'cohesix cohsh --help' for usage");
    }
    let timeoutMs = DEFAULT_TIMEOUT_MS;
    if (values.timeout !== undefined && !selftest) {
      if (!/^\d+$/.test(values.timeout) || Number(values.timeout) < 1) {
        throw new UsageError(`cohsh: --timeout must be a positive number of ms, got '${values.timeout}'`);
      }
      timeoutMs = Number(values.timeout);
    }
    const target: CohshTarget = {
      transport,
      serialCmd: values["serial-cmd"],
      serialPath: values["serial-path"],
      hostname: values.host ?? "127.0.0.1",
      port: values.port === undefined ? (transport === "9p" ? 5640 : 31337) : parsePort("cohsh", "port", values.port),
      authToken: values["auth-token"] ?? Deno.env.get("COHSH_AUTH_TOKEN") ?? DEFAULT_AUTH_TOKEN,
      timeoutMs,
    };
    if (selftest) {
      const args: string[] = [];
      if (values.mode !== undefined) args.push("--mode", values.mode);
      if (values.timeout !== undefined) args.push("--timeout", values.timeout);
      if (values["no-mutate"]) args.push("--no-mutate");
      const parsed = parseTestArgs(args);
      if (typeof parsed === "string") throw new UsageError(`cohsh ${parsed}`);
      const report = await runSelftest(() => openSession({ ...target, record: undefined }), parsed.opts);
      if (values.json) console.log(JSON.stringify(report));
      else for (const l of formatReport(report)) console.log(l);
      return report.ok ? 0 : 1;
    }
    if (values.record !== undefined) {
      try {
        Deno.writeTextFileSync(values.record, "");
      } catch (e) {
        throw new UsageError(`cohsh: cannot write the trace file '${values.record}': ${(e as Error).message}`, "check --record");
      }
      target.record = values.record;
    }
    const preamble = values.role === undefined ? [] : [`attach ${values.role}${values.ticket ? ` ${values.ticket}` : ""}`];
    if (values.script !== undefined) {
      let text: string;
      try {
        text = await Deno.readTextFile(values.script);
      } catch (e) {
        const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
        throw new UsageError(`cohsh: cannot read script '${values.script}': ${why}`, "check the path");
      }
      return await runScriptText(target, text, values.script, (l) => console.log(l), (l) => console.error(l), preamble, values.json === true);
    }
    return await interactive(target, preamble);
  },
};
