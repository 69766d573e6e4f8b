/**
 * Fleet benchmark (not a test): N hosted hives × W heartbeat workers (bench/fleet/hives.ts, one
 * process) → one `cohesix fleet` process → a real `nats-server -js`, for each `--tick-ms` in turn.
 * Prints per run: lines/s offered and stored in JetStream, /metrics scrape time (p50, max) and size,
 * the fleet process's RSS and CPU (from /proc), and end-to-end lag (hive appended the heartbeat →
 * JetStream stored it, the stream's own timestamp) p50/p99/max.
 *
 *   deno run -A bench/fleet/fleet_bench.ts [--hives 50] [--workers 20] [--tick-ms 1000,200,100]
 *                                          [--seconds 20] [--poll-ms 250] [--json]
 */
import { parseArgs } from "node:util";
import { connect } from "@nats-io/transport-node";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Engine, startNats } from "../../tests/fleet/engines.ts";
import { H_OFFSET } from "../../src/host/fleet/jetstream_sink.ts";

const { values } = parseArgs({
  options: {
    hives: { type: "string", default: "50" },
    workers: { type: "string", default: "20" },
    "tick-ms": { type: "string", default: "1000,200,100" },
    seconds: { type: "string", default: "20" },
    "poll-ms": { type: "string", default: "250" },
    json: { type: "boolean", default: false },
  },
});
const HIVES = Number(values.hives);
const WORKERS = Number(values.workers);
const SECONDS = Number(values.seconds);
const ROOT = new URL("../..", import.meta.url).pathname;
const DENO = `${ROOT}node_modules/.bin/deno`;
const CLK_TCK = 100;
const say = (s: string) => console.error(s);

function procStat(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]) * 1024;
  return { cpuSeconds: cpu, rssBytes: rss };
}

/** Nanoseconds this process spent runnable but waiting for a CPU (/proc/PID/schedstat, 2nd field). */
function runQueueWaitSeconds(pid: number): number {
  return Number(Deno.readTextFileSync(`/proc/${pid}/schedstat`).split(" ")[1]) / 1e9;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function runOnce(tickMs: number) {
  const dir = await Deno.makeTempDir({ prefix: "cohesix-fleet-bench-" });
  const nats = await startNats(`${dir}/js`);
  const hivesProc = new Engine(
    "hives",
    new Deno.Command(DENO, {
      args: [
        "run",
        "-A",
        `${ROOT}bench/fleet/hives.ts`,
        "--hives",
        String(HIVES),
        "--workers",
        String(WORKERS),
        "--tick-ms",
        String(tickMs),
        "--times",
        `${dir}/times.json`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  let fleet: Engine | null = null;
  const nc = await connect({ servers: nats.url });
  try {
    const ports: number[] = JSON.parse((await hivesProc.waitFor(/^(\{"ports".*\})$/m))[1]).ports;
    await Deno.writeTextFile(
      `${dir}/hives.txt`,
      ports.map((p, i) => `h${i}@127.0.0.1:${p}`).join("\n") + "\n",
    );
    fleet = new Engine(
      "cohesix fleet",
      new Deno.Command(`${ROOT}cohesix`, {
        args: [
          "fleet",
          "--hives-file",
          `${dir}/hives.txt`,
          "--prometheus",
          "127.0.0.1:0",
          "--nats",
          nats.url,
          "--poll-ms",
          String(values["poll-ms"]),
          "--json",
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn(),
    );
    const url: string = JSON.parse((await fleet.waitFor(/^(\{.*metrics_url.*\})$/m))[1]).metrics_url;
    const pid = fleet.child.pid;
    const jsm = await jetstreamManager(nc);
    // Stream exists once the fleet connected; consume everything with store timestamps.
    for (let i = 0; i < 500; i++) {
      try {
        await jsm.streams.info("COHESIX");
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const js = jetstream(nc);
    const consumer = await js.consumers.get("COHESIX", {
      filter_subjects: "cohesix.*.telemetry.>",
      deliver_policy: DeliverPolicy.All,
    });
    const stored: { key: string; tsMs: number }[] = [];
    const messages = await consumer.consume({ max_messages: 10_000 });
    const reading = (async () => {
      for await (const m of messages) {
        const hive = m.subject.split(".")[1];
        const worker = m.subject.split(".")[3];
        stored.push({
          key: `${hive}/${worker}/${m.headers?.get(H_OFFSET)}`,
          tsMs: m.info.timestampNanos / 1e6,
        });
      }
    })();
    // Warm-up: every hive connected and following.
    const metricsText = async () => await (await fetch(url)).text();
    for (;;) {
      const t = await metricsText();
      const up = [...t.matchAll(/^cohesix_hive_up\{hive="[^"]+"\} 1$/gm)].length;
      if (up === HIVES) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const hivesPid = hivesProc.child.pid;
    const natsPid = nats.engine.child.pid;
    const s0 = procStat(pid);
    const q0 = runQueueWaitSeconds(pid);
    const h0 = procStat(hivesPid);
    const j0 = procStat(natsPid);
    const n0 = stored.length;
    const t0 = performance.now();
    const scrapes: number[] = [];
    let scrapeBytes = 0;
    const rss: number[] = [];
    while (performance.now() - t0 < SECONDS * 1000) {
      const a = performance.now();
      scrapeBytes = (await metricsText()).length;
      scrapes.push(performance.now() - a);
      rss.push(procStat(pid).rssBytes);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const elapsed = (performance.now() - t0) / 1000;
    const s1 = procStat(pid);
    const q1 = runQueueWaitSeconds(pid);
    const h1 = procStat(hivesPid);
    const j1 = procStat(natsPid);
    const lostBytes = [
      ...(await metricsText()).matchAll(/^cohesix_fleet_telemetry_lost_bytes_total\{[^}]*\} (\d+)/gm),
    ]
      .reduce((a, m) => a + Number(m[1]), 0);
    const n1 = stored.length;
    const windowStart = Date.now() - elapsed * 1000;
    await fleet.stop();
    fleet = null;
    await hivesProc.stop();
    messages.stop();
    await reading;
    const times: Record<string, number> = JSON.parse(await Deno.readTextFile(`${dir}/times.json`));
    const lags: number[] = [];
    let unmatched = 0;
    for (const s of stored) {
      const w = times[s.key];
      if (w === undefined) unmatched++;
      else if (w >= windowStart - 5000) lags.push(s.tsMs - w);
    }
    lags.sort((a, b) => a - b);
    scrapes.sort((a, b) => a - b);
    return {
      hives: HIVES,
      workers_per_hive: WORKERS,
      tick_ms: tickMs,
      offered_lines_per_s: (HIVES * WORKERS * 1000) / tickMs,
      stored_lines_per_s: Math.round((n1 - n0) / elapsed),
      scrape_ms_p50: +pct(scrapes, 50).toFixed(1),
      scrape_ms_max: +scrapes[scrapes.length - 1].toFixed(1),
      scrape_bytes: scrapeBytes,
      fleet_rss_mb_max: +(Math.max(...rss) / 1048576).toFixed(1),
      fleet_cpu_pct: +((100 * (s1.cpuSeconds - s0.cpuSeconds)) / elapsed).toFixed(1),
      fleet_runqueue_wait_pct: +((100 * (q1 - q0)) / elapsed).toFixed(1),
      fleet_cpu_us_per_line: Math.round((1e6 * (s1.cpuSeconds - s0.cpuSeconds)) / Math.max(1, n1 - n0)),
      hives_cpu_pct: +((100 * (h1.cpuSeconds - h0.cpuSeconds)) / elapsed).toFixed(1),
      nats_cpu_pct: +((100 * (j1.cpuSeconds - j0.cpuSeconds)) / elapsed).toFixed(1),
      ring_overrun_bytes: lostBytes,
      load_avg_1m: Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]),
      lag_ms_p50: Math.round(pct(lags, 50)),
      lag_ms_p99: Math.round(pct(lags, 99)),
      lag_ms_max: Math.round(lags[lags.length - 1]),
      lag_samples: lags.length,
      unmatched,
    };
  } finally {
    await fleet?.stop();
    await hivesProc.stop();
    await nc.close();
    await nats.engine.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const results = [];
for (const t of String(values["tick-ms"]).split(",").map(Number)) {
  say(`fleet bench: ${HIVES} hives x ${WORKERS} workers, tick ${t} ms, ${SECONDS} s …`);
  const r = await runOnce(t);
  say(
    `  offered ${r.offered_lines_per_s} lines/s, stored ${r.stored_lines_per_s} lines/s; scrape p50 ${r.scrape_ms_p50} ms max ${r.scrape_ms_max} ms (${r.scrape_bytes} B); fleet RSS ${r.fleet_rss_mb_max} MB CPU ${r.fleet_cpu_pct}% (${r.fleet_cpu_us_per_line} µs/line, waited for a CPU ${r.fleet_runqueue_wait_pct}% of the time), hives CPU ${r.hives_cpu_pct}%, nats CPU ${r.nats_cpu_pct}%; ring overrun ${r.ring_overrun_bytes} B; load ${r.load_avg_1m}; lag p50 ${r.lag_ms_p50} ms p99 ${r.lag_ms_p99} ms max ${r.lag_ms_max} ms`,
  );
  results.push(r);
}
if (values.json) console.log(JSON.stringify({ version: 1, results }));
