/** `cohesix host-agent`: the host sidecar that publishes this host's services into a hive's /host. */
import { parseFlags, parsePort, type Subcommand, untilStopSignal, UsageError } from "../cli/command.ts";
import { HostAgent } from "./agent.ts";

const HELP = `cohesix host-agent: publish this host's services into a hive's /host and carry out
the control writes the hive accepted (policy-approved restarts, k8s cordon/drain)

Usage: cohesix host-agent [--host H] [--port P] [--ticket T] [--id ID] [--mount PATH]
                          [--sample] [--once] [--json]

Attaches over Secure9P as the queen (with its own ticket when the hive asks for one), says hello
on <mount>/ctl, and publishes one report per provider the hive mounts: systemd (systemctl),
docker, k8s (kubectl), nvidia (nvidia-smi), jetson (/etc/nv_tegra_release), net (interfaces).
A provider whose tool is missing or fails is published 'absent'. Then it follows <mount>/actions:
each accepted control write is carried out (systemctl restart, docker restart, kubectl cordon|drain),
answered 'done <seq> ok|failed', and the entry's status re-published. It beats every third of the
hive's stale_ms; when it stops or crashes the hive marks /host stale and keeps serving.

Flags:
  --host H      hive host (default 127.0.0.1)
  --port P      hive 9P port (default 5640)
  --ticket T    queen ticket to attach with (default none, as the dev manifests allow)
  --id ID       agent id shown in <mount>/status (default host-agent)
  --mount PATH  where the hive mounts /host (default /host)
  --sample      publish the fixed sample set (systemd cohesix-agent.service, k8s node-1, …) and
                carry out actions on it, instead of this host's real services
  --once        publish once, print the report and exit (no action loop)
  --json        with --once: print the report as one JSON document

Exit codes: 0 ok (stopped by Ctrl-C/SIGTERM, or --once done), 1 the hive is unreachable or refused, 2 usage.

Examples:
  cohesix dev --manifest configs/full.toml &      # a hive with /host
  cohesix host-agent --once --json                # what this host has, published once
  cohesix host-agent --sample                     # the sample host, serving actions until Ctrl-C
`;

export const hostAgentCommand: Subcommand = {
  name: "host-agent",
  summary: "host sidecar: publish systemd/docker/k8s/nvidia state into /host, carry out approved actions",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags("host-agent", argv, {
      host: { type: "string" },
      port: { type: "string" },
      ticket: { type: "string" },
      id: { type: "string" },
      mount: { type: "string" },
      sample: { type: "boolean" },
      once: { type: "boolean" },
      json: { type: "boolean" },
    });
    if (values.json && !values.once) throw new UsageError("host-agent: --json needs --once");
    const id = values.id ?? "host-agent";
    if (!/^[A-Za-z0-9._:-]{1,32}$/.test(id)) throw new UsageError(`host-agent: --id must be 1..32 of [A-Za-z0-9._:-], got '${id}'`);
    const mount = values.mount ?? "/host";
    if (!/^(\/[A-Za-z0-9._-]+)+$/.test(mount)) throw new UsageError(`host-agent: --mount must be an absolute path, got '${mount}'`);
    const log = values.json ? () => {} : (l: string) => console.error(l);
    let agent: HostAgent;
    try {
      agent = await HostAgent.connect({
        hostname: values.host ?? "127.0.0.1",
        port: values.port === undefined ? 5640 : parsePort("host-agent", "port", values.port),
        ticket: values.ticket ?? "",
        id,
        mount,
        sample: values.sample === true,
        log,
      });
    } catch (e) {
      console.error(`host-agent: ${(e as Error).message}`);
      return 1;
    }
    try {
      const summary = await agent.publish();
      if (values.once) {
        if (values.json) console.log(JSON.stringify({ version: 1, agent: id, sample: values.sample === true, ...summary }));
        else console.log(`host-agent: published ${summary.entries.length} entries`);
        return 0;
      }
      log(`host-agent: serving actions (beat every ${Math.floor(agent.staleMs / 3)} ms); Ctrl-C stops`);
      await agent.serve(untilStopSignal());
      return 0;
    } catch (e) {
      console.error(`host-agent: ${(e as Error).message}`);
      return 1;
    } finally {
      agent.close();
    }
  },
};
