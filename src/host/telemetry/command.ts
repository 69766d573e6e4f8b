/** `cohesix telemetry pull`: every worker's telemetry into local files, resumable, each line once. */
import { join, resolve } from "node:path";
import { errnoName } from "../../secure9p/errors.ts";
import { NineError, TransportError } from "../../secure9p/host/client.ts";
import { parseFlags, parsePort, type Subcommand, UsageError } from "../cli/command.ts";
import { pullTelemetry } from "./pull.ts";

const HELP = `cohesix telemetry: copy worker telemetry off a hive

Usage: cohesix telemetry pull --out DIR [--since-cursor FILE] [--host H] [--port P]
                              [--role R] [--ticket T] [--json]

One pass over the hive's live workers (from /proc/workers): each worker's telemetry ring is read
from the saved cursor and its complete lines appended to DIR/<worker>.telemetry; the cursors are
saved afterwards (atomically), so running it again — from cron, say — copies each line exactly
once, also after a pull that was killed half-way. Lines the ring overwrote before a pull could read
them are reported as lost bytes; a restarted hive is detected and its cursors start over.
No streaming and no background polling: it reads, writes and exits.

Flags:
  --out DIR              directory for <worker>.telemetry files (created if missing)
  --since-cursor FILE    cursor file to resume from and save to (default DIR/.cursors.json)
  --host H               hive address (default 127.0.0.1)
  --port P               hive 9P port (default 5640)
  --role R               role to attach as (default observer: read-only)
  --ticket T             ticket for the role
  --json                 print the report as one JSON document

Examples:
  cohesix telemetry pull --out /var/lib/cohesix/telemetry
  */5 * * * * cohesix telemetry pull --port 5640 --out /srv/telemetry --since-cursor /srv/telemetry.cursor
`;

export const telemetryCommand: Subcommand = {
  name: "telemetry",
  summary: "pull every worker's telemetry into local files (resumable, each line once)",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const [verb, ...rest] = argv;
    if (verb !== "pull") {
      throw new UsageError(
        verb === undefined ? "telemetry: give a subcommand" : `telemetry: unknown subcommand '${verb}'`,
        "run 'cohesix telemetry --help' (the subcommand is 'pull')",
      );
    }
    const { values, positionals } = parseFlags("telemetry", rest, {
      out: { type: "string" },
      "since-cursor": { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      role: { type: "string" },
      ticket: { type: "string" },
      json: { type: "boolean" },
    }, true);
    if (positionals.length > 0) {
      throw new UsageError(`telemetry pull: unexpected argument '${positionals[0]}'`);
    }
    if (values.out === undefined) {
      throw new UsageError("telemetry pull: --out DIR is required", "run 'cohesix telemetry --help'");
    }
    const out = resolve(values.out);
    const host = values.host ?? "127.0.0.1";
    const port = values.port === undefined ? 5640 : parsePort("telemetry", "port", values.port);
    const say = (line: string) => console.error(`cohesix telemetry pull: ${line}`);
    try {
      const report = await pullTelemetry({
        host,
        port,
        role: values.role ?? "observer",
        ticket: values.ticket ?? "",
        out,
        cursorFile: resolve(values["since-cursor"] ?? join(out, ".cursors.json")),
      }, say);
      if (values.json) console.log(JSON.stringify(report));
      else {
        for (const w of report.workers) {
          const notes = [
            w.lostBytes > 0 ? `${w.lostBytes} bytes lost to the ring` : "",
            w.trimmedBytes > 0 ? `${w.trimmedBytes} unsaved bytes re-pulled` : "",
          ]
            .filter((n) => n !== "").join(", ");
          console.log(
            `${w.worker}: ${w.lines} lines (${w.bytes} bytes) -> ${w.file}${notes ? ` (${notes})` : ""}`,
          );
        }
        if (report.workers.length === 0) console.log("no live workers");
      }
      return 0;
    } catch (e) {
      if (e instanceof NineError) {
        say(`the hive refused ${e.op}: ${errnoName(e.errno)}; check --role and --ticket`);
      } else if (e instanceof TransportError) {
        say(`${e.message}; start a hive with 'cohesix dev' or pass --host/--port`);
      } else say((e as Error).message);
      return 1;
    }
  },
};
