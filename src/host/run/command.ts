/** `cohesix run`: lease a hive GPU, run a host command on it, leave breadcrumbs, release. */
import { NineError, TransportError } from "../../secure9p/host/client.ts";
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { HiveLink, parseHive } from "../cli/hive_link.ts";
import { awaitGrant, breadcrumb, cancel, type LeaseAsk, release, requestLease, RunError } from "./lease.ts";
import { TelemetrySink, telemetryPath } from "./telemetry.ts";

const HELP = `cohesix run: run a command on a leased hive GPU

Usage: cohesix run --gpu ID [--mem-mb M] [--ttl-s T] [--priority P] [--hive H:P]
                   [--role R] [--ticket T] [--json] -- CMD [ARGS…]

Asks the hive for GPU ID (LEASE on /gpu/ID/ctl; the hive queues requests by priority), waits until
/gpu/ID/lease shows the lease ACTIVE, then runs CMD on this host with CUDA_VISIBLE_DEVICES=ID.
Appends gpu-breadcrumb/v1 lines to /gpu/ID/status: START before the command, EXIT with its exit
code and duration after it. Every output line is echoed here and streamed into the lease worker's
telemetry. The lease is released when the command exits, fails to start, or on Ctrl-C/SIGTERM (the
command gets SIGTERM first); if this process dies, the lease's ttl ends it on the hive's clock.
Exit code: the command's (128+signal when it was killed), 1 when no lease could be had.
Needs a hive whose manifest enables [gpu.bridge] (e.g. 'cohesix dev --manifest configs/full.toml').

Flags:
  --gpu ID          the hive GPU (e.g. GPU-0, or a bridged GPU's uuid)
  --mem-mb M        GPU memory to lease (default 1024)
  --ttl-s T         lease time-to-live in seconds (default 600)
  --priority P      queue priority 0..255, higher first (default 0)
  --hive H:P        hive 9P address (default 127.0.0.1:5640)
  --role R          role to attach as (default queen)
  --ticket T        ticket for the role
  --lora-job J      name the run a LoRA job: when it exits 0 the hive freezes its telemetry, active
                    model and policy under /queen/export/lora_jobs/J/ (for 'cohesix peft export')
  --json            print one JSON report at the end (stdout keeps the command's own output)

Examples:
  cohesix run --gpu GPU-0 -- sh -c 'echo ok'
  cohesix run --gpu GPU-1 --mem-mb 2048 --ttl-s 120 --priority 5 -- python3 train.py
`;

export const runCommand: Subcommand = {
  name: "run",
  summary: "lease a hive GPU and run a host command on it (breadcrumbs, telemetry)",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const dash = argv.indexOf("--");
    const flags = dash < 0 ? argv : argv.slice(0, dash);
    const cmd = dash < 0 ? [] : argv.slice(dash + 1);
    const { values, positionals } = parseFlags("run", flags, {
      gpu: { type: "string" },
      "mem-mb": { type: "string" },
      "ttl-s": { type: "string" },
      priority: { type: "string" },
      hive: { type: "string" },
      role: { type: "string" },
      ticket: { type: "string" },
      json: { type: "boolean" },
      "lora-job": { type: "string" },
    }, true);
    if (positionals.length > 0) throw new UsageError(`run: put the command after '--' (got '${positionals[0]}')`);
    const loraJob = values["lora-job"];
    if (loraJob !== undefined && !/^[A-Za-z0-9._:-]{1,32}$/.test(loraJob)) {
      throw new UsageError(`run: --lora-job must be 1..32 characters of [A-Za-z0-9._:-], got '${loraJob}'`);
    }
    if (values.gpu === undefined || !/^[A-Za-z0-9._:-]{1,64}$/.test(values.gpu)) {
      throw new UsageError("run: --gpu ID is required (e.g. GPU-0)", "run 'cohesix run --help'");
    }
    if (cmd.length === 0) throw new UsageError("run: give the command after '--'", "e.g. cohesix run --gpu GPU-0 -- sh -c 'echo ok'");
    const int = (flag: string, v: string | undefined, def: number, min: number, max: number) => {
      if (v === undefined) return def;
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`run: --${flag} must be an integer ${min}..${max}, got '${v}'`);
      return n;
    };
    const ask: LeaseAsk = {
      gpu: values.gpu,
      request: `run-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`,
      memMb: int("mem-mb", values["mem-mb"], 1024, 0, 1 << 20),
      streams: 1,
      ttlS: int("ttl-s", values["ttl-s"], 600, 1, 86400),
      priority: int("priority", values.priority, 0, 0, 255),
    };
    const addr = parseHive("run", values.hive);
    const say = (line: string) => console.error(`cohesix run: ${line}`);
    const command = cmd.join(" ");
    let link: HiveLink;
    try {
      link = await HiveLink.open(addr, values.role ?? "queen", values.ticket ?? "");
    } catch (e) {
      if (e instanceof TransportError) say(`${e.message}; start a hive with 'cohesix dev --manifest configs/full.toml' or pass --hive`);
      else say((e as Error).message);
      return 1;
    }
    let stopped = "";
    const onStop = (sig: Deno.Signal) => () => {
      stopped = sig;
      try {
        child?.kill("SIGTERM");
      } catch { /* already exited */ }
    };
    const onInt = onStop("SIGINT");
    const onTerm = onStop("SIGTERM");
    Deno.addSignalListener("SIGINT", onInt);
    Deno.addSignalListener("SIGTERM", onTerm);
    let child: Deno.ChildProcess | null = null;
    let leased = false;
    let granted = false;
    try {
      await requestLease(link, ask);
      leased = true;
      const worker = await awaitGrant(link, ask, (p) => say(`queued for ${ask.gpu} at position ${p}`), () => stopped !== "");
      granted = true;
      say(`leased ${ask.gpu} as ${worker} (request ${ask.request})`);
      const sink = new TelemetrySink(link, await telemetryPath(link, worker), ask.request);
      await link.writeLines(`/gpu/${ask.gpu}/status`, [breadcrumb("START", command, "RUNNING", null, { worker_id: worker })]);
      const t0 = performance.now();
      let code: number;
      let signal: string | null = null;
      try {
        child = new Deno.Command(cmd[0], {
          args: cmd.slice(1),
          env: { CUDA_VISIBLE_DEVICES: ask.gpu },
          stdin: "inherit",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const pumps = [pump(child.stdout, "stdout", sink), pump(child.stderr, "stderr", sink)];
        const st = await child.status;
        await Promise.all(pumps);
        code = st.code;
        signal = st.signal;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied)) throw e;
        say(`cannot start '${cmd[0]}': ${(e as Error).message}`);
        code = 127;
      }
      await sink.flushed();
      const ms = Math.round(performance.now() - t0);
      // A LoRA job that finished OK is named on its EXIT line: the hive freezes its export then.
      const lora = loraJob !== undefined && code === 0 ? { lora_job: loraJob } : {};
      try {
        await link.writeLines(`/gpu/${ask.gpu}/status`, [
          breadcrumb("EXIT", command, code === 0 ? "OK" : "ERR", code, { duration_ms: ms, worker_id: worker, ...lora }),
        ]);
      } catch (e) {
        if (!(e instanceof NineError) || loraJob === undefined) throw e;
        say(`the hive refused the EXIT breadcrumb naming LoRA job '${loraJob}' (${e.message}); is that job id taken?`);
        code = code === 0 ? 1 : code;
      }
      const rel = await release(link, ask);
      leased = false;
      if (rel === "expired") say(`the lease expired during the run (--ttl-s ${ask.ttlS}); raise --ttl-s`);
      if (values.json) {
        console.log(JSON.stringify({
          version: 1,
          gpu: ask.gpu,
          worker,
          request: ask.request,
          exit_code: code,
          signal,
          stopped_by: stopped || null,
          duration_ms: ms,
          telemetry_lines: sink.lines,
          lease: rel,
        }));
      }
      return code;
    } catch (e) {
      if (e instanceof RunError) say(e.message);
      else if (e instanceof TransportError) say(`${e.message}; the hive went away`);
      else say((e as Error).message);
      return 1;
    } finally {
      if (leased && !granted) await cancel(link, ask).catch(() => {});
      // A grant may have landed between the cancel and now: release covers it (only our own lease).
      if (leased) await release(link, ask).catch(() => {});
      Deno.removeSignalListener("SIGINT", onInt);
      Deno.removeSignalListener("SIGTERM", onTerm);
      link.close();
    }
  },
};

/** Echoes a child's stream here and into telemetry, line by line. */
async function pump(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr", sink: TelemetrySink): Promise<void> {
  const out = name === "stdout" ? Deno.stdout : Deno.stderr;
  const dec = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    await out.write(chunk);
    pending += dec.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      sink.push(name, pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  }
  if (pending !== "") sink.push(name, pending);
}
