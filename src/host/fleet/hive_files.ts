/**
 * Parsers for the hive's `key=value` status files the fleet follows: `/proc/workers`,
 * `/proc/pressure` (one line, or a directory of one-value files), `/proc/lifecycle/state`
 * and `/proc/boot`. They are tolerant of keys they do not know, so a newer hive still parses.
 */

/** One live worker as `/proc/workers` lists it. */
export interface WorkerRow {
  id: string;
  kind: string;
  tick: number;
  telemetryStart: number;
  telemetryEnd: number;
  dropped: number;
  /** `running`, or `exited` for a worker the hive retains after it ended (with `exitReason`). */
  state: string;
  exitReason: string;
  /** Path of the worker's telemetry file: `path=`, else `/shard/<shard>/worker/<id>/telemetry`, else `/worker/<id>/telemetry`. */
  telemetryPath: string;
}

export interface WorkersFile {
  active: number;
  max: number;
  spawned: number;
  workers: WorkerRow[];
}

/** `key=value` pairs of one line; a bare word is ignored. */
export function keyValues(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const token of line.trim().split(/\s+/)) {
    const eq = token.indexOf("=");
    if (eq > 0) out.set(token.slice(0, eq), token.slice(eq + 1));
  }
  return out;
}

function num(kv: Map<string, string>, key: string): number {
  const v = Number(kv.get(key) ?? "0");
  return Number.isFinite(v) ? v : 0;
}

/** Parses `/proc/workers`: a header line `workers active= max= spawned=`, then one line per worker. */
export function parseWorkers(text: string): WorkersFile {
  const lines = text.split("\n").filter((l) => l.length > 0);
  const out: WorkersFile = { active: 0, max: 0, spawned: 0, workers: [] };
  for (const line of lines) {
    const kv = keyValues(line);
    const first = line.split(" ", 1)[0];
    if (first === "workers") {
      out.active = num(kv, "active");
      out.max = num(kv, "max");
      out.spawned = num(kv, "spawned");
      continue;
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(first)) continue;
    const shard = kv.get("shard");
    const telemetryPath = kv.get("path") ??
      (shard !== undefined ? `/shard/${shard}/worker/${first}/telemetry` : `/worker/${first}/telemetry`);
    out.workers.push({
      id: first,
      kind: kv.get("kind") ?? "unknown",
      tick: num(kv, "tick"),
      telemetryStart: num(kv, "telemetry_start"),
      telemetryEnd: num(kv, "telemetry_end"),
      dropped: num(kv, "dropped"),
      state: kv.get("state") ?? "running",
      exitReason: kv.get("reason") ?? "",
      telemetryPath,
    });
  }
  return out;
}

/**
 * Pressure counters: `/proc/pressure` as one `k=v k=v` line, or (newer hives) a directory whose files
 * each hold `k=v` lines; both collapse into one map of numeric counters.
 */
export function parsePressure(texts: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const text of texts) {
    for (const line of text.split("\n")) {
      for (const [k, v] of keyValues(line)) {
        const n = Number(v);
        if (/^[a-z_][a-z0-9_]*$/.test(k) && Number.isFinite(n)) out.set(k, n);
      }
    }
  }
  return out;
}

/** The lifecycle state word from `/proc/lifecycle/state` (`state=online` or a bare `online`). */
export function parseLifecycleState(text: string): string {
  const line = text.split("\n")[0].trim();
  const kv = keyValues(line);
  const v = kv.get("state") ?? line;
  return /^[A-Za-z_-]{1,32}$/.test(v) ? v.toLowerCase() : "unknown";
}

/** Boot facts the fleet keys a hive's boot on: the manifest fingerprint and, when the hive prints one, its boot id. */
export interface BootFacts {
  manifest: string;
  bootId: string;
}

export function parseBoot(text: string): BootFacts {
  let manifest = "";
  let bootId = "";
  for (const line of text.split("\n")) {
    const kv = keyValues(line);
    manifest = kv.get("manifest") ?? manifest;
    bootId = kv.get("boot_id") ?? bootId;
  }
  return { manifest, bootId };
}
