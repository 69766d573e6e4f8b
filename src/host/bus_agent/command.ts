/** `cohesix bus-agent`: the field-bus sidecar bridging one adapter's device into the hive's /bus. */
import { parseFlags, parsePort, type Subcommand, untilStopSignal, UsageError } from "../cli/command.ts";
import { BusAgent, BusAgentError } from "./agent.ts";

const HELP = `cohesix bus-agent: bridge a field-bus device (a serial line) into a hive's /bus/<adapter>

Usage: cohesix bus-agent --adapter NAME --serial PATH [--baud N] [--mount-at PATH] [--host H]
                         [--port P] [--ticket T] [--run ID]

Opens the device (a tty or pseudo-terminal; set raw at --baud with stty), attaches over Secure9P as
the queen and says 'up run=<id>' on <mount-at>/<adapter>/link. Each line the device sends becomes
'<seq> <line>' on .../telemetry; each command the queen writes to .../ctl goes to the device as a
line. While the hive is unreachable, lines wait in a spool bounded by the adapter's
spool.max_entries/max_bytes (read from .../spool; the oldest leave first) and the agent reconnects
on the client retry schedule (200 ms doubling to 2 s); back online it flushes them through
.../replay. The hive stores each seq once, so nothing is doubled.

Flags:
  --adapter NAME   the adapter's mount (e.g. plc-1 for /bus/plc-1)
  --serial PATH    the device (e.g. /dev/ttyUSB0, or a pty from 'socat')
  --baud N         line speed to set with stty (default: leave the line as it is)
  --mount-at PATH  where the hive mounts the bus (default /bus)
  --host H         hive host (default 127.0.0.1)
  --port P         hive 9P port (default 5640)
  --ticket T       queen ticket to attach with (default none, as the dev manifests allow)
  --run ID         this run's id (default: random); a new run restarts the hive's sequence

Exit codes: 0 stopped (Ctrl-C/SIGTERM or the device closed), 1 the hive refused or the device failed, 2 usage.

Examples:
  cohesix dev --manifest configs/full.toml &
  cohesix bus-agent --adapter plc-1 --serial /dev/ttyUSB0 --baud 9600
  cohsh> echo read holding 40001 > /bus/plc-1/ctl      # the device receives 'read holding 40001'
`;

export const busAgentCommand: Subcommand = {
  name: "bus-agent",
  summary: "field-bus sidecar: a serial device's lines into /bus/<adapter>, ctl commands back, offline spool",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags("bus-agent", argv, {
      adapter: { type: "string" },
      serial: { type: "string" },
      baud: { type: "string" },
      "mount-at": { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      ticket: { type: "string" },
      run: { type: "string" },
    });
    const adapter = values.adapter;
    if (adapter === undefined || !/^[A-Za-z0-9._:-]{1,64}$/.test(adapter)) {
      throw new UsageError("bus-agent: --adapter NAME is required (the adapter's mount, e.g. plc-1)");
    }
    if (values.serial === undefined) throw new UsageError("bus-agent: --serial PATH is required (the device)");
    const run = values.run ?? crypto.randomUUID().slice(0, 8);
    if (!/^[A-Za-z0-9._:-]{1,32}$/.test(run)) throw new UsageError(`bus-agent: --run must be 1..32 of [A-Za-z0-9._:-], got '${run}'`);
    const mountAt = values["mount-at"] ?? "/bus";
    if (values.baud !== undefined && !/^\d{1,7}$/.test(values.baud)) throw new UsageError(`bus-agent: --baud must be a number, got '${values.baud}'`);
    if (values.baud !== undefined) {
      const stty = await new Deno.Command("stty", { args: ["-F", values.serial, values.baud, "raw", "-echo"], stderr: "piped" }).output();
      if (stty.code !== 0) {
        console.error(`bus-agent: cannot set ${values.serial} to ${values.baud} baud: ${new TextDecoder().decode(stty.stderr).trim()}`);
        return 1;
      }
    }
    const opts = {
      hostname: values.host ?? "127.0.0.1",
      port: values.port === undefined ? 5640 : parsePort("bus-agent", "port", values.port),
      ticket: values.ticket ?? "",
      dir: `${mountAt}/${adapter}`,
      run,
      log: (l: string) => console.error(l),
    };
    let device: Deno.FsFile;
    let deviceOut: Deno.FsFile;
    try {
      device = await Deno.open(values.serial, { read: true });
      deviceOut = await Deno.open(values.serial, { write: true });
    } catch (e) {
      console.error(`bus-agent: cannot open the device ${values.serial} (${(e as Error).message}); check the path and permissions`);
      return 1;
    }
    try {
      const bounds = await BusAgent.spoolBounds(opts);
      const agent = new BusAgent(opts, bounds, device, deviceOut);
      console.error(`bus-agent: ${opts.dir} <-> ${values.serial} (run ${run}, spool ${bounds.maxEntries} lines / ${bounds.maxBytes} bytes); Ctrl-C stops`);
      await agent.serve(untilStopSignal());
      return 0;
    } catch (e) {
      if (e instanceof BusAgentError) {
        console.error(`bus-agent: ${e.message}`);
        return 1;
      }
      throw e;
    } finally {
      for (const f of [device, deviceOut]) {
        try {
          f.close();
        } catch { /* already closed */ }
      }
    }
  },
};
