/** `cohesix gpu bridge`: publish this host's GPUs into a hive's /gpu. */
import { errnoName } from "../../secure9p/errors.ts";
import { NineError, TransportError } from "../../secure9p/host/client.ts";
import { parseFlags, type Subcommand, UsageError, untilStopSignal } from "../cli/command.ts";
import { type Discovery, discoverFromFixture, discoverNvidiaSmi } from "./discover.ts";
import { HiveLink, parseHive } from "../cli/hive_link.ts";
import { SmiParseError } from "./nvidia_smi.ts";
import { publishSnapshot } from "./snapshot.ts";

const HELP = `cohesix gpu: this host's GPUs in a hive

Usage: cohesix gpu bridge [--hive H:P] [--once] [--fixture FILE] [--nvidia-smi PATH]
                          [--interval-ms N] [--role R] [--ticket T] [--json]

Discovers the host's GPUs through NVML's nvidia-smi (--query-gpu=…, --format=csv,noheader,nounits)
and publishes them into the hive as one snapshot on /gpu/bridge/ctl (begin bytes=<n> sha256=<hex>,
b64: lines, end): each GPU appears as /gpu/<uuid>/info. Without --once it refreshes utilisation and
memory every --interval-ms until Ctrl-C. On a machine without NVIDIA GPUs it reports 'absent' and
exits 0 without touching the hive, which keeps serving its simulated GPUs.

Flags:
  --hive H:P        hive 9P address (default 127.0.0.1:5640)
  --once            publish one snapshot and exit
  --fixture FILE    read a recorded nvidia-smi CSV instead of running nvidia-smi
  --nvidia-smi PATH the nvidia-smi binary (default: nvidia-smi on PATH)
  --interval-ms N   refresh period without --once (default 5000, at least 200)
  --role R          role to attach as (default queen: /gpu/bridge/ctl is queen-only)
  --ticket T        ticket for the role
  --json            print one JSON report per snapshot

Examples:
  cohesix gpu bridge --once
  cohesix gpu bridge --hive 10.0.0.5:5640 --interval-ms 2000
  cohesix gpu bridge --once --fixture tests/gpu/fixtures/a100_x2.csv --json
`;

interface Report {
  version: 1;
  state: "absent" | "published";
  source: string;
  reason?: string;
  gpus: { uuid: string; name: string; mem_mb: number; mem_used_mb: number | null; util_pct: number | null }[];
  bytes?: number;
  sha256?: string;
}

function printReport(r: Report, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(r));
    return;
  }
  if (r.state === "absent") {
    console.log(`absent: ${r.reason}; the hive keeps its simulated GPUs`);
    return;
  }
  for (const g of r.gpus) {
    console.log(`${g.uuid} ${g.name} mem=${g.mem_used_mb ?? "?"}/${g.mem_mb} MiB util=${g.util_pct ?? "?"}%`);
  }
  console.log(`published ${r.gpus.length} GPU(s): ${r.bytes} bytes sha256=${r.sha256}`);
}

export const gpuCommand: Subcommand = {
  name: "gpu",
  summary: "publish this host's GPUs (nvidia-smi) into a hive's /gpu",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const [verb, ...rest] = argv;
    if (verb !== "bridge") {
      throw new UsageError(
        verb === undefined ? "gpu: give a subcommand" : `gpu: unknown subcommand '${verb}'`,
        "run 'cohesix gpu --help' (the subcommand is 'bridge')",
      );
    }
    const { values, positionals } = parseFlags("gpu", rest, {
      hive: { type: "string" },
      once: { type: "boolean" },
      fixture: { type: "string" },
      "nvidia-smi": { type: "string" },
      "interval-ms": { type: "string" },
      role: { type: "string" },
      ticket: { type: "string" },
      json: { type: "boolean" },
    }, true);
    if (positionals.length > 0) throw new UsageError(`gpu bridge: unexpected argument '${positionals[0]}'`);
    const addr = parseHive("gpu bridge", values.hive);
    const intervalMs = values["interval-ms"] === undefined ? 5000 : Number(values["interval-ms"]);
    if (!Number.isInteger(intervalMs) || intervalMs < 200) {
      throw new UsageError(`gpu bridge: --interval-ms must be an integer >= 200, got '${values["interval-ms"]}'`);
    }
    const json = values.json === true;
    const say = (line: string) => console.error(`cohesix gpu bridge: ${line}`);
    const discover = (): Promise<Discovery> =>
      values.fixture !== undefined ? discoverFromFixture(values.fixture) : discoverNvidiaSmi(values["nvidia-smi"]);
    let link: HiveLink | null = null;
    const stop = values.once ? null : untilStopSignal();
    try {
      for (;;) {
        const d = await discover();
        if (d.state === "absent") {
          printReport({ version: 1, state: "absent", source: d.source, reason: d.reason, gpus: [] }, json);
          return 0;
        }
        link ??= await HiveLink.open(addr, values.role ?? "queen", values.ticket ?? "");
        const p = await publishSnapshot(link, { gpus: d.gpus, models: null });
        printReport({
          version: 1,
          state: "published",
          source: d.source,
          gpus: d.gpus.map((g) => ({
            uuid: g.uuid,
            name: g.name,
            mem_mb: g.memTotalMb,
            mem_used_mb: g.memUsedMb,
            util_pct: g.utilPct,
          })),
          bytes: p.bytes,
          sha256: p.sha256,
        }, json);
        if (stop === null) return 0;
        let id: ReturnType<typeof setTimeout> | undefined;
        const timer = new Promise<string>((r) => id = setTimeout(() => r("tick"), intervalMs));
        const why = await Promise.race([stop, timer]);
        clearTimeout(id);
        if (why !== "tick") return 0;
      }
    } catch (e) {
      if (e instanceof SmiParseError) say(`${e.message}; the bridge publishes nothing it cannot parse`);
      else if (e instanceof NineError) say(`the hive refused ${e.op}: ${errnoName(e.errno)}; check --role/--ticket and that the hive's manifest enables [gpu.bridge]`);
      else if (e instanceof TransportError) say(`${e.message}; start a hive with 'cohesix dev' or pass --hive`);
      else say((e as Error).message);
      return 1;
    } finally {
      link?.close();
    }
  },
};
