/** `cohesix bundle`: a redacted support bundle (tar.gz) from a live hive. */
import { parseFlags, parsePort, type Subcommand, UsageError } from "../cli/command.ts";
import { DEFAULT_MANIFEST } from "../image/defaults.ts";
import { BUNDLE_DIR, BundleError, HIVE_SOURCES, writeBundle } from "./collect.ts";

const HELP = `cohesix bundle: collect a support bundle from a hive, with secrets redacted

Usage: cohesix bundle --hive HOST:PORT --out FILE.tar.gz [--role R [--ticket T]] [--manifest FILE]
                      [--trace FILE]... [--console-port P] [--json]

Reads, over Secure9P and without changing anything, ${HIVE_SOURCES.join(", ")} (every file under
/proc: boot, sessions, workers, pressure, fids, per-worker traces, ...), adds the manifest (TOML and
resolved JSON, with whether its fingerprint matches the hive's), 'cohesix doctor' for that hive,
and the cohsh traces given with --trace. Tickets (cht1.…), AUTH tokens and key fields are replaced
by <redacted> in every file. Layout: ${BUNDLE_DIR}/{bundle.json, hive/…, manifest/…, traces/…,
doctor.json, doctor.txt}; bundle.json lists every file with size, sha256 and redaction count.
Prints the archive's sha256. Exit 0 on success, 1 when the hive or a file cannot be read.

Flags:
  --hive HOST:PORT   the hive's 9P address (e.g. 127.0.0.1:5640)
  --out FILE         the archive to write (.tar.gz)
  --role R           attach as this role (default queen)
  --ticket T         ticket for --role
  --manifest FILE    the manifest to include (default configs/root_task.toml)
  --trace FILE       a cohsh trace (cohsh --record) to include; repeat for more
  --console-port P   the hive's console port, for doctor's port check (default 31337)
  --json             print {"version":1,"out","sha256","bytes","files":[…],"refused":{…}}

Examples:
  cohesix bundle --hive 127.0.0.1:5640 --out support.tar.gz
  cohesix bundle --hive 10.0.2.15:5640 --out s.tar.gz --trace session.trace --manifest configs/gpu_queen.toml
  tar -tzf support.tar.gz`;

function parseHive(value: string | undefined): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(value ?? "");
  if (!m) {
    throw new UsageError(
      "bundle: --hive HOST:PORT is required (e.g. 127.0.0.1:5640)",
      "run 'cohesix bundle --help' for usage",
    );
  }
  return { host: m[1], port: parsePort("bundle", "hive", m[2]) };
}

export const bundleCommand: Subcommand = {
  name: "bundle",
  summary: "support bundle from a live hive (/proc, queen log, traces, manifest, doctor), secrets redacted",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags("bundle", argv, {
      hive: { type: "string" },
      out: { type: "string" },
      role: { type: "string", default: "queen" },
      ticket: { type: "string", default: "" },
      manifest: { type: "string" },
      trace: { type: "string", multiple: true, default: [] },
      "console-port": { type: "string" },
      json: { type: "boolean", default: false },
    });
    const { host, port } = parseHive(values.hive);
    if (!values.out) {
      throw new UsageError("bundle: --out FILE.tar.gz is required", "run 'cohesix bundle --help' for usage");
    }
    try {
      const r = await writeBundle({
        host,
        ninepPort: port,
        consolePort: values["console-port"] === undefined
          ? 31337
          : parsePort("bundle", "console-port", values["console-port"]),
        role: values.role,
        ticket: values.ticket,
        manifest: values.manifest ?? DEFAULT_MANIFEST,
        traces: values.trace,
        out: values.out,
        progress: (line) => console.error(line),
      });
      if (values.json) console.log(JSON.stringify({ version: 1, ...r }, null, 2));
      else {
        const redactions = r.files.reduce((n, f) => n + f.redactions, 0);
        console.log(
          `${r.sha256}  ${r.out}  (${r.bytes} bytes, ${
            r.files.length + 1
          } files, ${redactions} secrets redacted)`,
        );
      }
      return 0;
    } catch (err) {
      if (err instanceof BundleError) {
        console.error(`cohesix bundle: ${err.message}`);
        return 1;
      }
      throw err;
    }
  },
};
