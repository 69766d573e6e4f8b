/** `cohesix cohsh`: the operator shell for a hive's console. */
import { parseFlags, parsePort, type Subcommand, UsageError } from "../cli/command.ts";
import { DEFAULT_AUTH_TOKEN } from "../../guest/console/grammar.ts";
import { ConsoleClient, DEFAULT_TIMEOUT_MS } from "./client.ts";
import { interactive } from "./interactive.ts";
import { parseScript, runSteps, ScriptError } from "./script.ts";
import { Shell } from "./shell.ts";
import { TransportError } from "./transport.ts";

const HELP = `cohesix cohsh: the operator shell for a Cohesix hive console

Usage: cohesix cohsh [--host H] [--port P] [--auth-token T] [--role R [--ticket T]] [--script FILE.coh]

Connects to the hive's TCP console (length-prefixed frames, AUTH handshake) and runs commands:
  help | attach <role> [ticket] | ping | ls <path> | cat <path> | tail <path>
  echo <text> > <path> | log | spawn <json> | kill <worker> | bind <from> <to>
  mount <service> <path> | quit
Each command gets one 'OK <VERB> …' or 'ERR <VERB> reason=…' line; cat/tail/ls/log stream
lines after their OK and end with END. Grammar: docs/console-grammar.md.

Flags:
  --host H           console host (default 127.0.0.1)
  --port P           console port (default 31337)
  --auth-token T     console AUTH token (default: $COHSH_AUTH_TOKEN, else 'changeme')
  --role R           attach as this role right after connecting
  --ticket T         ticket for --role
  --script FILE      run a .coh script, print the transcript, exit 1 on the first ERR the
                     script does not EXPECT (or a failed EXPECT)
  --timeout MS       reply timeout in ms (default ${DEFAULT_TIMEOUT_MS})

Exit codes: 0 ok, 1 script failure or hive unreachable, 2 usage error.

Examples:
  cohesix cohsh                                   # interactive, coh> prompt
  cohesix cohsh --role queen                      # attach as queen, then interactive
  cohesix cohsh --script demo/demo.coh            # scripted, against 127.0.0.1:31337
  cohesix cohsh --port 40000 --auth-token s3cret --script demo/demo.coh
`;

export interface CohshTarget {
  hostname: string;
  port: number;
  authToken: string;
  timeoutMs: number;
}

/** Runs a script file's text against a console; writes the transcript through `out`. Returns the exit code. */
export async function runScriptText(
  target: CohshTarget,
  text: string,
  name: string,
  out: (line: string) => void,
  err: (line: string) => void,
  preamble: string[] = [],
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
  let client: ConsoleClient;
  try {
    client = await ConsoleClient.connectTcp(target.hostname, target.port, target.authToken, target.timeoutMs);
  } catch (e) {
    if (e instanceof TransportError) {
      err(`cohsh: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const shell = new Shell(client);
  try {
    for (const p of preamble) {
      const r = await shell.execute(p);
      out(`coh> ${p}`);
      for (const l of r?.lines ?? []) out(l);
      if (!r?.ack?.ok) {
        err(`cohsh: '${p}' failed: ${r?.ackLine || r?.local || "no reply"}`);
        return 1;
      }
    }
    const result = await runSteps(steps, (c) => shell.execute(c), out);
    if (!result.ok) {
      const f = result.failure!;
      err(`cohsh: FAIL ${name}:${f.line}: '${f.command}': ${f.reason}${f.ackLine ? ` (reply: ${f.ackLine})` : ""}`);
      return 1;
    }
    return 0;
  } catch (e) {
    if (e instanceof TransportError) {
      err(`cohsh: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    client.close();
  }
}

export const cohshCommand: Subcommand = {
  name: "cohsh",
  summary: "operator shell for a hive console (interactive or --script FILE.coh)",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags("cohsh", argv, {
      host: { type: "string" },
      port: { type: "string" },
      "auth-token": { type: "string" },
      role: { type: "string" },
      ticket: { type: "string" },
      script: { type: "string" },
      timeout: { type: "string" },
    });
    if (values.ticket !== undefined && values.role === undefined) {
      throw new UsageError("cohsh: --ticket needs --role", "run 'cohesix cohsh --help' for usage");
    }
    let timeoutMs = DEFAULT_TIMEOUT_MS;
    if (values.timeout !== undefined) {
      if (!/^\d+$/.test(values.timeout) || Number(values.timeout) < 1) {
        throw new UsageError(`cohsh: --timeout must be a positive number of ms, got '${values.timeout}'`);
      }
      timeoutMs = Number(values.timeout);
    }
    const target: CohshTarget = {
      hostname: values.host ?? "127.0.0.1",
      port: values.port === undefined ? 31337 : parsePort("cohsh", "port", values.port),
      authToken: values["auth-token"] ?? Deno.env.get("COHSH_AUTH_TOKEN") ?? DEFAULT_AUTH_TOKEN,
      timeoutMs,
    };
    const preamble = values.role === undefined ? [] : [`attach ${values.role}${values.ticket ? ` ${values.ticket}` : ""}`];
    if (values.script !== undefined) {
      let text: string;
      try {
        text = await Deno.readTextFile(values.script);
      } catch (e) {
        const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
        throw new UsageError(`cohsh: cannot read script '${values.script}': ${why}`, "check the path");
      }
      return await runScriptText(target, text, values.script, (l) => console.log(l), (l) => console.error(l), preamble);
    }
    return await interactive(target, preamble);
  },
};
