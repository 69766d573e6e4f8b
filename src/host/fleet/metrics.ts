/**
 * The fleet's Prometheus exposition, built with npm `prom-client`: every metric is computed at
 * scrape time from the followers' snapshots (one `hive` label per hive, `worker` where per worker),
 * named and typed by Prometheus conventions (`_total` counters, base units, `_seconds`).
 * Counters mirrored from a hive (spawned workers, pressure counters, telemetry bytes) restart at 0
 * when the hive reboots, which Prometheus' `rate()` treats as a counter reset.
 */
import process from "node:process";
import client from "prom-client";
import type { WorkersFile } from "./hive_files.ts";

/** What one hive follower exposes; updated in place by the follower, read at scrape time. */
export class HiveSnapshot {
  up = false;
  connects = 0;
  boots = 0;
  workers: WorkersFile | null = null;
  pressure = new Map<string, number>();
  lifecycle: string | null = null;
  linesPublished = 0;
  eventsPublished = 0;
  lostBytes = 0;
  publishErrors = 0;
  pollSeconds = 0;
  /** Lines read from the hive but not yet acknowledged by the sink. */
  pending = 0;
  constructor(readonly name: string) {}
}

type Snapshots = () => Iterable<HiveSnapshot>;

/** A prom-client registry that renders the followers' snapshots. */
export function fleetRegistry(snapshots: Snapshots, processMetrics = true): client.Registry {
  const registry = new client.Registry();
  if (processMetrics) addProcessMetrics(registry);
  const each = (fn: (s: HiveSnapshot) => void) => {
    for (const s of snapshots()) fn(s);
  };

  // Every series is recomputed from the snapshots at scrape time (reset, then filled).
  function collected<M extends client.Gauge | client.Counter>(
    Metric: new (cfg: client.GaugeConfiguration<string> & client.CounterConfiguration<string>) => M,
    name: string,
    help: string,
    labelNames: string[],
    fill: (m: M) => void,
  ): M {
    return new Metric({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        const self = this as unknown as M;
        self.reset();
        fill(self);
      },
    });
  }
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: client.Gauge) => void) =>
    collected(client.Gauge, name, help, labelNames, fill);
  const counter = (name: string, help: string, labelNames: string[], fill: (c: client.Counter) => void) =>
    collected(client.Counter, name, help, labelNames, fill);

  gauge(
    "cohesix_hive_up",
    "1 while the fleet holds a 9P session to the hive.",
    ["hive"],
    (g) => each((s) => g.set({ hive: s.name }, s.up ? 1 : 0)),
  );
  counter("cohesix_fleet_hive_connects_total", "9P sessions the fleet opened to the hive (1 + reconnects).", [
    "hive",
  ], (c) => each((s) => c.inc({ hive: s.name }, s.connects)));
  counter(
    "cohesix_fleet_hive_boots_total",
    "Hive boots the fleet has seen (a restart adds one).",
    ["hive"],
    (c) => each((s) => c.inc({ hive: s.name }, s.boots)),
  );
  gauge(
    "cohesix_hive_workers",
    "Live workers (/proc/workers active=).",
    ["hive"],
    (g) => each((s) => s.workers && g.set({ hive: s.name }, s.workers.active)),
  );
  gauge(
    "cohesix_hive_workers_max",
    "Worker table size (/proc/workers max=).",
    ["hive"],
    (g) => each((s) => s.workers && g.set({ hive: s.name }, s.workers.max)),
  );
  counter(
    "cohesix_hive_workers_spawned_total",
    "Workers spawned since the hive booted.",
    ["hive"],
    (c) => each((s) => s.workers && c.inc({ hive: s.name }, s.workers.spawned)),
  );
  gauge(
    "cohesix_worker_tick",
    "The worker's current tick.",
    ["hive", "worker", "kind"],
    (g) =>
      each((s) =>
        s.workers?.workers.forEach((w) => g.set({ hive: s.name, worker: w.id, kind: w.kind }, w.tick))
      ),
  );
  counter(
    "cohesix_worker_telemetry_bytes_total",
    "Bytes appended to the worker's telemetry ring.",
    ["hive", "worker"],
    (c) =>
      each((s) => s.workers?.workers.forEach((w) => c.inc({ hive: s.name, worker: w.id }, w.telemetryEnd))),
  );
  counter("cohesix_worker_telemetry_dropped_bytes_total", "Telemetry bytes the ring overwrote.", [
    "hive",
    "worker",
  ], (c) => each((s) => s.workers?.workers.forEach((w) => c.inc({ hive: s.name, worker: w.id }, w.dropped))));
  counter("cohesix_hive_pressure_total", "Hive pressure counters (/proc/pressure), by kind.", [
    "hive",
    "kind",
  ], (c) => each((s) => s.pressure.forEach((v, kind) => c.inc({ hive: s.name, kind }, v))));
  gauge("cohesix_hive_lifecycle_state", "1 for the hive's lifecycle state (/proc/lifecycle/state).", [
    "hive",
    "state",
  ], (g) => each((s) => s.lifecycle !== null && g.set({ hive: s.name, state: s.lifecycle }, 1)));
  counter(
    "cohesix_fleet_telemetry_lines_total",
    "Telemetry lines stored in JetStream (or read, without --nats).",
    ["hive"],
    (c) => each((s) => c.inc({ hive: s.name }, s.linesPublished)),
  );
  counter(
    "cohesix_fleet_events_total",
    "Hive events stored in JetStream.",
    ["hive"],
    (c) => each((s) => c.inc({ hive: s.name }, s.eventsPublished)),
  );
  counter(
    "cohesix_fleet_telemetry_lost_bytes_total",
    "Telemetry bytes the ring overwrote before the fleet read them.",
    ["hive"],
    (c) => each((s) => c.inc({ hive: s.name }, s.lostBytes)),
  );
  counter("cohesix_fleet_publish_errors_total", "Publish batches JetStream did not acknowledge (retried).", [
    "hive",
  ], (c) => each((s) => c.inc({ hive: s.name }, s.publishErrors)));
  gauge("cohesix_fleet_pending_lines", "Lines read from the hive, not yet acknowledged by JetStream.", [
    "hive",
  ], (g) => each((s) => g.set({ hive: s.name }, s.pending)));
  gauge(
    "cohesix_fleet_poll_duration_seconds",
    "Duration of the last poll round of the hive.",
    ["hive"],
    (g) => each((s) => g.set({ hive: s.name }, s.pollSeconds)),
  );
  return registry;
}

/**
 * The standard `process_*` metrics for this process. prom-client's collectDefaultMetrics also adds
 * `nodejs_*_total` gauges, which `promtool check metrics` rightly refuses (a gauge named like a counter).
 */
function addProcessMetrics(registry: client.Registry): void {
  const startSeconds = Math.floor(Date.now() / 1000 - performance.now() / 1000);
  new client.Counter({
    name: "process_cpu_seconds_total",
    help: "Total user and system CPU time spent in seconds.",
    registers: [registry],
    collect() {
      const u = process.cpuUsage();
      this.reset();
      this.inc((u.user + u.system) / 1e6);
    },
  });
  new client.Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers: [registry],
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
  new client.Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since unix epoch in seconds.",
    registers: [registry],
    collect() {
      this.set(startSeconds);
    },
  });
}
