/** `cohesix dev`: a hosted hive on loopback (9P2000.L + TCP console, or the console on stdin/stdout). */
import { parseFlags, parsePort, type Subcommand, UsageError } from "../cli/command.ts";
import { HostAgent } from "../host_agent/agent.ts";
import { DEFAULT_AUTH_TOKEN } from "../../guest/console/grammar.ts";
import { HostedHive, ListenError, unixClock } from "./runtime.ts";
import type { BootConfig } from "../../guest/boot.ts";
import { SpoolError, SpoolStore } from "../spool/store.ts";

/** Opens each spool store as a device boot does (torn records dropped and counted); the boot lines. */
async function openSpools(dirs: string[]): Promise<{ lines: string[]; json: object[] } | string> {
  const lines: string[] = [];
  const json: object[] = [];
  for (const dir of dirs) {
    try {
      const { store, scan } = await SpoolStore.open(dir);
      lines.push(
        `spool: records=${store.records} bytes=${store.bytes} torn=${scan.torn} (${store.name} at ${dir})`,
      );
      json.push({ dir, name: store.name, records: store.records, bytes: store.bytes, torn: scan.torn });
    } catch (err) {
      if (err instanceof SpoolError) return err.message;
      throw err;
    }
  }
  return { lines, json };
}

/** Compiles a manifest into boot tables, or returns the refusal (file:line: message lines). */
async function loadBoot(path: string): Promise<BootConfig | string> {
  // The manifest compiler (zod, smol-toml) loads only when --manifest is given.
  const { bootConfigFromManifest, ManifestError } = await import("../../codegen/mod.ts");
  try {
    return await bootConfigFromManifest(path);
  } catch (err) {
    if (err instanceof ManifestError) return err.message;
    throw err;
  }
}

const HELP = `cohesix dev: run a hosted hive on this machine

Usage: cohesix dev [--manifest FILE] [--host H] [--ninep-port P] [--console-port P] [--auth-token T]
                   [--serial] [--spool DIR]... [--json] [-v]

Starts the sans-IO guest (NineDoor namespace, Secure9P server, console) under Deno and serves:
  - 9P2000.L on H:5640 (the NineDoor namespace: /proc/boot, /log/queen.log, /queen/ctl, …)
  - the TCP console on H:31337 (length-prefixed lines, AUTH <token> first; see docs/console-grammar.md)
The hive's injected clock is Unix milliseconds, so tickets from 'cohesix ticket mint' are
checked against real time (the dev manifest's keys: configs/root_task.toml [[tickets]]).
Ctrl-C (SIGINT) or SIGTERM stops it cleanly.

Flags:
  --manifest FILE     boot from this manifest (compiled as 'cohesix rtc' would; /proc/boot shows its
                      fingerprint) instead of the tables generated from configs/root_task.toml
  --host H            interface to listen on (default 127.0.0.1)
  --ninep-port P      9P port (default 5640; 0 picks a free port)
  --console-port P    console port (default 31337; 0 picks a free port)
  --auth-token T      console AUTH token (default 'changeme')
  --serial            serve the console on stdin/stdout (newline lines, no AUTH) instead of TCP;
                      the hive stops when stdin ends
  --spool DIR         open the spool store in DIR at boot (settings, pending telemetry; create one
                      with 'cohesix spool init --dir DIR --kind K'): torn records a crash left are
                      dropped and counted, then 'spool: records=N bytes=B torn=T' is printed
  --json              print the bound addresses as one JSON line ({"version":1,…}) instead of text
  --host-sample       run the sample host-agent in this process (cohesix host-agent --sample): /host
                      shows systemd cohesix-agent.service, k8s node-1, … and approved actions are
                      carried out on them; needs a manifest with [ecosystem.host] (configs/full.toml)
  -v, --verbose       log each connection opened and closed (stderr)

Examples:
  cohesix dev                                     # 9P :5640, console :31337
  cohesix dev --console-port 0 --ninep-port 0 --json
  cohesix dev --manifest configs/full.toml --host-sample
  cohesix dev --manifest configs/gpu_queen.toml
  printf 'attach queen\\ncat /proc/boot\\n' | cohesix dev --serial
  cohesix dev & cohesix cohsh --role queen        # then type: cat /proc/boot
`;

export const devCommand: Subcommand = {
  name: "dev",
  summary: "run a hosted hive on loopback (9P :5640, console :31337)",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags("dev", argv, {
      manifest: { type: "string" },
      host: { type: "string" },
      "ninep-port": { type: "string" },
      "console-port": { type: "string" },
      "auth-token": { type: "string" },
      serial: { type: "boolean" },
      json: { type: "boolean" },
      verbose: { type: "boolean", short: "v" },
      "host-sample": { type: "boolean" },
      spool: { type: "string", multiple: true, default: [] },
    });
    const serial = values.serial === true;
    const say = (line: string) => (serial ? console.error(line) : console.log(line));
    let boot: BootConfig | undefined;
    if (values.manifest !== undefined) {
      const loaded = await loadBoot(values.manifest);
      if (typeof loaded === "string") {
        for (const line of loaded.split("\n")) console.error(`cohesix dev: ${line}`);
        console.error("cohesix dev: the hive was not started; fix the manifest (check it with 'cohesix rtc FILE --out DIR')");
        return 1;
      }
      boot = loaded;
    }
    if (values["host-sample"] && !(boot?.ecosystem.host.enable ?? false)) {
      throw new UsageError("dev: --host-sample needs a manifest with [ecosystem.host] enable = true", "e.g. cohesix dev --manifest configs/full.toml --host-sample");
    }
    const spools = await openSpools(values.spool as string[]);
    if (typeof spools === "string") {
      console.error(`cohesix dev: ${spools}`);
      console.error("cohesix dev: the hive was not started; fix --spool");
      return 1;
    }
    let hive: HostedHive;
    try {
      hive = HostedHive.start({
        boot,
        hostname: values.host ?? "127.0.0.1",
        ninepPort: values["ninep-port"] === undefined ? 5640 : parsePort("dev", "ninep-port", values["ninep-port"]),
        consolePort: values["console-port"] === undefined ? 31337 : parsePort("dev", "console-port", values["console-port"]),
        noConsole: serial,
        authToken: values["auth-token"] ?? DEFAULT_AUTH_TOKEN,
        // Unix ms, the time base of `cohesix ticket mint` (iat/exp), so minted tickets are accepted.
        clock: unixClock(),
        log: values.verbose ? (line) => console.error(`cohesix dev: ${line}`) : undefined,
      });
    } catch (err) {
      if (err instanceof ListenError) {
        console.error(`cohesix dev: ${err.message}`);
        return 1;
      }
      throw err;
    }
    const stopped = Promise.withResolvers<string>();
    // The sample host-agent runs in this process, attached over 9P like the real sidecar; it has
    // published before the addresses are printed, so a client that sees them sees /host filled in.
    let agent: Promise<void> | null = null;
    if (values["host-sample"]) {
      const log = (l: string) => console.error(`cohesix dev: ${l}`);
      let a: HostAgent;
      try {
        a = await HostAgent.connect({
          hostname: hive.hostname,
          port: hive.ninepPort,
          ticket: "",
          id: "host-sample",
          mount: boot!.ecosystem.host.mountAt,
          sample: true,
          log,
        });
        await a.publish();
      } catch (e) {
        console.error(`cohesix dev: the sample host-agent could not attach: ${(e as Error).message}`);
        await hive.stop();
        return 1;
      }
      agent = a.serve(stopped.promise).catch((e) => log(`host-agent stopped: ${(e as Error).message}`)).finally(() => a.close());
    }
    if (values.json) {
      say(JSON.stringify({
        version: 1,
        ninep: { host: hive.hostname, port: hive.ninepPort },
        console: serial ? { serial: true } : { host: hive.hostname, port: hive.consolePort },
        ...(spools.json.length ? { spools: spools.json } : {}),
      }));
    } else {
      say(`cohesix dev: hive running`);
      say(`  9P2000.L  ${hive.hostname}:${hive.ninepPort}`);
      if (serial) say(`  console   stdin/stdout (serial lines, no AUTH)`);
      else say(`  console   ${hive.hostname}:${hive.consolePort}   (cohesix cohsh --port ${hive.consolePort})`);
      if (agent !== null) say(`  /host     the sample host-agent is attached (cohesix host-agent --sample)`);
      for (const line of spools.lines) say(line);
      say(`Ctrl-C stops the hive.`);
    }
    const onSignal = (name: string) => () => stopped.resolve(name);
    const sigint = onSignal("SIGINT");
    const sigterm = onSignal("SIGTERM");
    Deno.addSignalListener("SIGINT", sigint);
    Deno.addSignalListener("SIGTERM", sigterm);
    if (serial) {
      hive.serveSerial(Deno.stdin.readable, Deno.stdout.writable).then(
        () => stopped.resolve("end of input"),
        (e) => stopped.resolve(`serial error: ${(e as Error).message}`),
      );
    }
    const why = await stopped.promise;
    await agent;
    Deno.removeSignalListener("SIGINT", sigint);
    Deno.removeSignalListener("SIGTERM", sigterm);
    await hive.stop();
    say(`cohesix dev: stopped (${why})`);
    return 0;
  },
};
