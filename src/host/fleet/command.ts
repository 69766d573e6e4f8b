/** `cohesix fleet`: many hives into Prometheus and NATS JetStream from one process. */
import { parseFlags, type Subcommand, untilStopSignal, UsageError } from "../cli/command.ts";
import { Fleet } from "./fleet.ts";
import type { HiveTarget } from "./hive_follower.ts";

const HELP = `cohesix fleet: follow many hives from one process; export to Prometheus and NATS JetStream

Usage: cohesix fleet --hive [NAME@]HOST:PORT … [--hives-file F] [--prometheus HOST:PORT] [--nats URL]
                     [--stream NAME] [--role R] [--ticket T] [--poll-ms N] [--json]

Keeps one Secure9P session per hive (re-made with back-off when it drops) and follows /proc/workers,
every worker's telemetry (by ring cursor), /proc/pressure and, where the hive has it,
/proc/lifecycle/state.
  - Prometheus: ADDR/metrics, one 'hive' label per hive (cohesix_hive_up, cohesix_hive_workers,
    cohesix_worker_telemetry_bytes_total, cohesix_hive_pressure_total{kind}, …; prom-client).
  - NATS JetStream: each telemetry line to cohesix.<hive>.telemetry.<worker>, hive events (hive_up,
    hive_down, hive_boot, worker_up, worker_exit, worker_down, lifecycle) to cohesix.<hive>.events, each with the
    hive's sequence number as Nats-Msg-Id, so a restarted fleet or a re-sent batch is stored once.
    Cursors are recovered from the stream: the fleet keeps no local state.

Flags:
  --hive [NAME@]HOST:PORT  a hive's 9P address (repeatable); NAME (letters, digits, _ -) is its label
                           and subject token, default HOST-PORT with dots as dashes
  --hives-file F           more hives, one [NAME@]HOST:PORT per line ('#' starts a comment)
  --prometheus HOST:PORT   serve /metrics there (port 0 picks a free one)
  --nats URL               NATS server (e.g. nats://127.0.0.1:4222); the stream is made if missing
  --stream NAME            JetStream stream for subjects cohesix.> (default COHESIX)
  --role R                 role to attach as (default observer, read-only)
  --ticket T               ticket for that role, when it needs one
  --poll-ms N              poll period per hive (default 250)
  --json                   print {"metrics_url":…,"hives":[…]} once serving, instead of text

Examples:
  cohesix fleet --hive 127.0.0.1:5640 --prometheus 127.0.0.1:9464
  cohesix fleet --hives-file hives.txt --prometheus 127.0.0.1:0 --nats nats://127.0.0.1:4222 --json
  cohesix fleet --hive edge1@10.0.0.5:5640 --hive edge2@10.0.0.6:5640 --nats nats://127.0.0.1:4222
`;

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Parses `[NAME@]HOST:PORT` (an IPv6 host in brackets). */
export function parseHiveSpec(spec: string): HiveTarget {
  const at = spec.lastIndexOf("@");
  const addr = at >= 0 ? spec.slice(at + 1) : spec;
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(addr);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new UsageError(`fleet: '${spec}' is not [NAME@]HOST:PORT`, "example: --hive edge1@127.0.0.1:5640");
  }
  const host = m[1].replace(/^\[|\]$/g, "");
  const name = at >= 0 ? spec.slice(0, at) : `${host}-${m[2]}`.replace(/[.:]/g, "-");
  if (!NAME.test(name)) {
    throw new UsageError(
      `fleet: hive name '${name}' must be 1-64 letters, digits, '_' or '-'`,
      "name it: --hive NAME@HOST:PORT",
    );
  }
  return { name, host, port: Number(m[2]) };
}

function parseAddr(flag: string, value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`fleet: --${flag} must be HOST:PORT, got '${value}'`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

function positiveInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`fleet: --${flag} must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

export async function readHivesFile(path: string): Promise<HiveTarget[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`fleet: cannot read --hives-file ${path}: ${(e as Error).message}`);
  }
  const out: HiveTarget[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    try {
      out.push(parseHiveSpec(line));
    } catch (e) {
      throw new UsageError(`${path}:${i + 1}: ${(e as Error).message.replace(/^fleet: /, "")}`);
    }
  });
  return out;
}

export const fleetCommand: Subcommand = {
  name: "fleet",
  summary: "follow many hives: Prometheus /metrics and NATS JetStream telemetry",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("fleet", argv, {
      hive: { type: "string", multiple: true },
      "hives-file": { type: "string" },
      prometheus: { type: "string" },
      nats: { type: "string" },
      stream: { type: "string" },
      role: { type: "string" },
      ticket: { type: "string" },
      "poll-ms": { type: "string" },
      json: { type: "boolean" },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const hives = (values.hive ?? []).map(parseHiveSpec);
    if (values["hives-file"] !== undefined) hives.push(...await readHivesFile(values["hives-file"]));
    if (hives.length === 0) {
      throw new UsageError("fleet: no hive given", "pass --hive HOST:PORT or --hives-file FILE");
    }
    if (values.stream !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(values.stream)) {
      throw new UsageError(`fleet: --stream '${values.stream}' must be letters, digits, '_' or '-'`);
    }
    const json = values.json === true;
    let fleet: Fleet;
    try {
      fleet = await Fleet.start({
        hives,
        prometheus: values.prometheus !== undefined ? parseAddr("prometheus", values.prometheus) : undefined,
        nats: values.nats,
        stream: values.stream,
        role: values.role,
        ticket: values.ticket,
        pollMs: values["poll-ms"] !== undefined ? positiveInt("poll-ms", values["poll-ms"]) : undefined,
        log: (line) => console.error(line),
      });
    } catch (e) {
      if (e instanceof UsageError) throw e;
      const msg = (e as Error).message;
      console.error(`cohesix fleet: ${msg}`);
      if (values.nats && /connect|refused|ECONNREFUSED|CONNECTION_REFUSED|timeout/i.test(msg)) {
        console.error(
          `cohesix fleet: is a NATS server with JetStream running at ${values.nats}? (nats-server -js)`,
        );
      }
      return 1;
    }
    const names = hives.map((h) => h.name);
    if (json) {
      console.log(
        JSON.stringify({
          version: 1,
          metrics_url: fleet.metricsUrl,
          nats: values.nats ?? null,
          hives: names,
        }),
      );
    } else {
      console.log(`cohesix fleet: following ${hives.length} hive(s): ${names.join(", ")}`);
      if (fleet.metricsUrl) console.log(`  prometheus  ${fleet.metricsUrl}`);
      if (values.nats) {
        console.log(
          `  jetstream   ${values.nats} stream ${values.stream ?? "COHESIX"} subjects cohesix.<hive>.…`,
        );
      }
      console.log("Ctrl-C stops the fleet.");
    }
    await untilStopSignal();
    await fleet.stop();
    console.error("cohesix fleet: stopped");
    return 0;
  },
};
