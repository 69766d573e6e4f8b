/** `cohesix trace replay FILE`: replays a cohsh trace against a hive and diffs the replies byte for byte. */
import { parseFlags, parsePort, type Subcommand, UsageError } from "../cli/command.ts";
import { DEFAULT_AUTH_TOKEN } from "../../guest/console/grammar.ts";
import { runEmbeddedSession } from "../demo/embedded.ts";
import { DEFAULT_TIMEOUT_MS } from "./client.ts";
import { openSession, type TransportKind } from "./connect.ts";
import { parseTrace, replayTrace, TraceError } from "./record.ts";
import type { CohshSession } from "./shell.ts";
import { TransportError } from "./transport.ts";

const HELP = `cohesix trace replay: replay a recorded cohsh session and diff it byte for byte

Usage: cohesix trace replay FILE [--embedded] [--transport tcp|9p|serial] [--host H] [--port P]
                                 [--auth-token T] [--serial-cmd CMD] [--quiet]

FILE is a trace written by 'cohesix cohsh --record FILE'. Every recorded command is sent again
and every reply line must equal the recorded one; the first difference is reported with its
command and line, and the exit code is 1. A truncated or altered trace (its end record is missing
or its checksum does not match) is refused before anything is sent (exit 2).

Flags:
  --embedded        replay against a fresh in-process hive (fixed clock) instead of a running one
  --transport T     tcp, 9p or serial (default: the transport the trace was recorded with)
  --host H, --port P, --auth-token T, --serial-cmd CMD   as for 'cohesix cohsh'
  --quiet           print only the verdict, not the replayed transcript

Examples:
  cohesix cohsh --record demo.trace --script demo/demo.coh
  cohesix trace replay demo.trace
  cohesix trace replay demo.trace --embedded --transport 9p
`;

export const traceCommand: Subcommand = {
  name: "trace",
  summary: "replay a recorded cohsh session (trace replay FILE) and diff it byte for byte",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags("trace", argv, {
      embedded: { type: "boolean" },
      transport: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "auth-token": { type: "string" },
      "serial-cmd": { type: "string" },
      quiet: { type: "boolean" },
    }, true);
    if (positionals[0] !== "replay" || positionals.length !== 2) {
      throw new UsageError("trace: expected 'trace replay FILE'", "run 'cohesix trace --help' for usage");
    }
    const file = positionals[1];
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
      throw new UsageError(`trace: cannot read '${file}': ${why}`, "check the path");
    }
    let trace;
    try {
      trace = parseTrace(text, file);
    } catch (e) {
      if (e instanceof TraceError) {
        console.error(`cohesix trace: ${e.message}`);
        return 2;
      }
      throw e;
    }
    const transport = (values.transport ?? trace.transport) as TransportKind;
    if (!["tcp", "9p", "serial"].includes(transport)) {
      throw new UsageError(`trace: --transport must be tcp, 9p or serial, got '${values.transport}'`);
    }
    const echo = values.quiet ? () => {} : (l: string) => console.log(l);
    const replay = async (session: CohshSession) => {
      try {
        return await replayTrace(trace, session, echo);
      } finally {
        session.close();
      }
    };
    let mismatch;
    try {
      if (values.embedded) mismatch = await runEmbeddedSession(transport, replay);
      else {
        if (transport === "serial" && values["serial-cmd"] === undefined) {
          throw new UsageError("trace: replaying over serial needs --serial-cmd CMD (or --embedded)");
        }
        const port = values.port === undefined ? (transport === "9p" ? 5640 : 31337) : parsePort("trace", "port", values.port);
        mismatch = await replay(await openSession({
          transport,
          hostname: values.host ?? "127.0.0.1",
          port,
          authToken: values["auth-token"] ?? Deno.env.get("COHSH_AUTH_TOKEN") ?? DEFAULT_AUTH_TOKEN,
          timeoutMs: DEFAULT_TIMEOUT_MS,
          serialCmd: values["serial-cmd"],
        }));
      }
    } catch (e) {
      if (e instanceof TransportError) {
        console.error(`cohesix trace: ${e.message}`);
        return 1;
      }
      throw e;
    }
    if (mismatch === null) {
      const lines = trace.steps.reduce((n, s) => n + s.out.length, 0);
      console.log(`replay ok: ${trace.steps.length} commands, ${lines} reply lines identical`);
      return 0;
    }
    const show = (s: string | undefined) => (s === undefined ? "(no line)" : JSON.stringify(s));
    console.error(
      `cohesix trace: replay differs at command ${mismatch.step} ('${mismatch.cmd}'), reply line ${mismatch.line}: ` +
        `recorded ${show(mismatch.expected)}, got ${show(mismatch.actual)}`,
    );
    return 1;
  },
};
