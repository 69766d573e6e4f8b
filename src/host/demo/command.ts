/**
 * `cohesix demo`: the main job end to end in one process: start an embedded hive on ephemeral
 * loopback ports, run the shipped demo script through cohsh over the TCP console, print the
 * transcript, stop the hive. The transcript carries no ports, times or ids: two runs print the
 * same bytes.
 */
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import type { TransportKind } from "../cohsh/connect.ts";
import { ListenError } from "../dev/runtime.ts";
import { runEmbedded } from "./embedded.ts";

export const DEMO_SCRIPT = new URL("../../../demo/demo.coh", import.meta.url);

const HELP = `cohesix demo: start an embedded hive, run the demo script through cohsh, print the transcript

Usage: cohesix demo [--script FILE.coh] [--transport tcp|9p|serial]

The hive runs inside this process on ephemeral 127.0.0.1 ports with a fixed injected clock, so
the transcript is the same on every run. The default script (demo/demo.coh) attaches as the
queen, cats /proc/boot, echoes a line into /log/queen.log and tails it back. Exit code 0 when
every command got the acknowledgement the script expects, 1 otherwise.

Flags:
  --script FILE      run this .coh script instead of demo/demo.coh
  --transport T      how cohsh reaches the hive: tcp console (default), 9p, or serial (an
                     in-process byte stream); the transcript is the same on each

Examples:
  cohesix demo
  cohesix demo --script my-checks.coh
  cohesix demo --transport 9p
  cohesix demo > run1.txt && cohesix demo > run2.txt && cmp run1.txt run2.txt
`;

export const demoCommand: Subcommand = {
  name: "demo",
  summary: "embedded hive + scripted cohsh session; prints the transcript",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags("demo", argv, { script: { type: "string" }, transport: { type: "string" } });
    const transport = (values.transport ?? "tcp") as TransportKind;
    if (!["tcp", "9p", "serial"].includes(transport)) {
      throw new UsageError(`demo: --transport must be tcp, 9p or serial, got '${values.transport}'`);
    }
    const scriptUrl = values.script === undefined ? DEMO_SCRIPT : new URL(values.script, `file://${Deno.cwd()}/`);
    const name = values.script ?? "demo/demo.coh";
    let text: string;
    try {
      text = await Deno.readTextFile(scriptUrl);
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
      throw new UsageError(`demo: cannot read script '${name}': ${why}`, "check the path");
    }
    console.log(`# cohesix demo: embedded hive, cohsh over the ${transport} transport, script ${name}`);
    let code: number;
    try {
      code = await runEmbedded(text, name, transport, (l) => console.log(l), (l) => console.error(l));
    } catch (e) {
      if (e instanceof ListenError) {
        console.error(`cohesix demo: ${e.message}`);
        return 1;
      }
      throw e;
    }
    console.log(code === 0 ? "# demo ok: every command acknowledged as expected" : "# demo FAILED (see the message above)");
    return code;
  },
};
