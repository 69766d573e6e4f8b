/** `cohesix ui`: the hive in a browser (live view, terminal, snapshot replay). */
import { parseFlags, parsePort, type Subcommand, untilStopSignal, UsageError } from "../cli/command.ts";
import { DEFAULT_AUTH_TOKEN } from "../../guest/console/grammar.ts";
import { DEFAULT_TIMEOUT_MS } from "../cohsh/client.ts";
import { ensureBundle, loadAssets } from "./assets.ts";
import { decodeSnapshot, SnapshotError } from "./snapshot.ts";
import { startUiServer } from "./server.ts";
import type { Endpoint } from "./bridge.ts";

const HELP = `cohesix ui: the hive in a browser — a live view, the cohsh terminal, snapshot replay

Usage: cohesix ui [--hive H:P] [--console H:P] [--port N] [--json] [--auth-token T] [--refresh-ms MS]
       cohesix ui --replay FILE [--port N] [--json]

Serves a single-page app on 127.0.0.1 (Deno's HTTP server) and prints its URL, which carries a
one-time token: the first browser to open it gets the session, every request without it is refused
(403). Log in with a role and (optionally) a ticket; the bridge attaches to the hive with exactly
those, so the hive enforces the ticket's scope and quotas on everything the page asks for, and the
page shows each refusal.
  - live view: workers (kind, budget left, last heartbeat), GPU leases, sessions, lifecycle state
    and pressure counters on a canvas, refreshed from 9P reads (streams read at their cursors);
    the boot record (version, manifest fingerprint) in the header
  - terminal: xterm.js running cohsh's own shell over the hive's TCP console (the same transcript
    as 'cohesix cohsh'); Ctrl-C stops a 'tail -f'
  - snapshots: 'Save snapshot' downloads the recorded frames and terminal (sha256-sealed JSON);
    '--replay FILE' (or 'Open snapshot' in the page) plays one back without a hive, with a scrubber
The page, its CSS and xterm.js are bundled by esbuild from ui/ and served by this process (no CDN).

Flags:
  --hive H:P         the hive's 9P service (default 127.0.0.1:5640)
  --console H:P      the hive's TCP console for the terminal (default: the --hive host, port 31337)
  --auth-token T     console AUTH token (default: $COHSH_AUTH_TOKEN, else 'changeme')
  --port N           HTTP port on 127.0.0.1 (default 0: a free port)
  --refresh-ms MS    view refresh period (default 500)
  --replay FILE      serve a saved snapshot instead of a live hive
  --json             print {"url":"http://127.0.0.1:N/?t=<token>"} as one line instead of text
  -v, --verbose      log logins, refusals and bridge errors (stderr)

Examples:
  cohesix dev & cohesix ui                          # open the printed URL
  cohesix ui --hive 10.0.0.5:5640 --console 10.0.0.5:31337 --port 8080
  cohesix ui --replay hive-2026-01-01.cohui.json
  cohesix ui --json | head -1                       # {"url":"http://127.0.0.1:41234/?t=…"}
`;

function parseEndpoint(flag: string, value: string, defaultPort?: number): Endpoint {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value);
  if (!m || (m[2] === undefined && defaultPort === undefined)) {
    throw new UsageError(`ui: --${flag} must be HOST:PORT, got '${value}'`, "e.g. --hive 127.0.0.1:5640");
  }
  return {
    hostname: m[1].replace(/^\[|\]$/g, ""),
    port: m[2] === undefined ? defaultPort! : parsePort("ui", flag, m[2]),
  };
}

export const uiCommand: Subcommand = {
  name: "ui",
  summary: "the hive in a browser: live view, cohsh terminal, snapshot replay",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags("ui", argv, {
      hive: { type: "string" },
      console: { type: "string" },
      "auth-token": { type: "string" },
      port: { type: "string" },
      "refresh-ms": { type: "string" },
      replay: { type: "string" },
      json: { type: "boolean" },
      verbose: { type: "boolean", short: "v" },
    });
    const port = values.port === undefined ? 0 : parsePort("ui", "port", values.port);
    let refreshMs = 500;
    if (values["refresh-ms"] !== undefined) {
      refreshMs = Number(values["refresh-ms"]);
      if (!/^\d+$/.test(values["refresh-ms"]) || refreshMs < 50 || refreshMs > 60000) {
        throw new UsageError(`ui: --refresh-ms must be 50..60000, got '${values["refresh-ms"]}'`);
      }
    }
    if (values.replay !== undefined && (values.hive !== undefined || values.console !== undefined)) {
      throw new UsageError("ui: --replay plays a snapshot without a hive; drop --hive/--console");
    }
    const log = values.verbose ? (l: string) => console.error(`cohesix ui: ${l}`) : undefined;
    let replay;
    if (values.replay !== undefined) {
      let text: string;
      try {
        text = await Deno.readTextFile(values.replay);
      } catch (e) {
        const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
        throw new UsageError(`ui: cannot read snapshot '${values.replay}': ${why}`, "check --replay");
      }
      try {
        replay = { snapshot: await decodeSnapshot(text), text };
      } catch (e) {
        if (!(e instanceof SnapshotError)) throw e;
        console.error(`cohesix ui: ${values.replay} is not a usable snapshot: ${e.message}`);
        return 1;
      }
    }
    const ninep = parseEndpoint("hive", values.hive ?? "127.0.0.1:5640");
    const consoleEp = values.console === undefined
      ? { hostname: ninep.hostname, port: 31337 }
      : parseEndpoint("console", values.console);
    let assets;
    try {
      const bundle = await ensureBundle((l) => console.error(l));
      assets = await loadAssets(bundle.manifest, bundle.dir);
    } catch (e) {
      console.error(`cohesix ui: ${(e as Error).message}`);
      return 1;
    }
    let server;
    try {
      server = startUiServer({
        port,
        assets,
        replay,
        log,
        target: replay ? undefined : {
          ninep,
          console: consoleEp,
          authToken: values["auth-token"] ?? Deno.env.get("COHSH_AUTH_TOKEN") ?? DEFAULT_AUTH_TOKEN,
          refreshMs,
          timeoutMs: DEFAULT_TIMEOUT_MS,
        },
      });
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        console.error(`cohesix ui: port ${port} is in use; pass another --port (0 picks a free one)`);
        return 1;
      }
      throw e;
    }
    if (values.json) console.log(JSON.stringify({ url: server.url }));
    else {
      console.log(
        `cohesix ui: ${
          replay
            ? `replaying ${values.replay}`
            : `hive 9P ${ninep.hostname}:${ninep.port}, console ${consoleEp.hostname}:${consoleEp.port}`
        }`,
      );
      console.log(`  open ${server.url}`);
      console.log("  (one-time URL: the first browser to open it gets the session). Ctrl-C stops.");
    }
    await untilStopSignal();
    await server.stop();
    return 0;
  },
};
