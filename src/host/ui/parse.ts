/**
 * Parsers from the hive's text files (/proc/boot, /proc/workers, /proc/sessions, /proc/pressure,
 * /proc/lifecycle/*, /gpu/<id>/info) to the view model. Unknown keys are ignored and missing ones
 * default, so a hive that adds fields (or a newer /proc layout) still renders.
 */
import type { BootView, GpuView, LifecycleView, SessionView, WorkerView } from "./state.ts";

/** `key=value` tokens of one line (the first token may be a bare name). */
export function keyValues(line: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const token of line.trim().split(/\s+/)) {
    const eq = token.indexOf("=");
    if (eq > 0) kv.set(token.slice(0, eq), token.slice(eq + 1));
  }
  return kv;
}

const num = (v: string | undefined): number => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

export function parseBoot(text: string): BootView {
  const lines = text.split("\n");
  const field = (name: string) => lines.find((l) => l.startsWith(`${name}=`))?.slice(name.length + 1) ?? "";
  const limits = keyValues(lines.find((l) => l.startsWith("limits ")) ?? "");
  const gpus = field("gpus");
  return {
    version: field("version"),
    manifest: field("manifest"),
    maxWorkers: num(limits.get("workers")),
    maxSessions: num(limits.get("sessions")),
    tickMs: num(limits.get("tick_ms")),
    gpus: gpus === "" ? [] : gpus.split(","),
  };
}

export interface WorkersFile {
  active: number;
  spawned: number;
  workers: WorkerView[];
}

/**
 * `/proc/workers`: a header line, then `<id> kind=… tick=… ticks=… ops=U/B ttl_ms_left=… telemetry_end=…`
 * per running worker and `<id> kind=… state=exited reason=R tick=… ops=U telemetry_end=… retain_ms_left=…`
 * per exited worker the hive still retains.
 */
export function parseWorkers(text: string): WorkersFile {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const head = keyValues(lines[0] ?? "");
  const workers: WorkerView[] = [];
  for (const line of lines.slice(1)) {
    const id = line.split(/\s+/, 1)[0];
    const kv = keyValues(line);
    const [used, budget] = (kv.get("ops") ?? "0/0").split("/");
    workers.push({
      id,
      kind: kv.get("kind") === "gpu" ? "gpu" : "heartbeat",
      tick: num(kv.get("tick")),
      ticks: num(kv.get("ticks")),
      opsUsed: num(used),
      opsBudget: num(budget),
      ttlMsLeft: num(kv.get("ttl_ms_left")),
      lastHeartbeat: "",
      cursor: num(kv.get("telemetry_end")),
      dropped: num(kv.get("dropped")),
      ...(kv.has("gpu") ? { gpu: kv.get("gpu") } : {}),
      ...(kv.has("shard") ? { shard: kv.get("shard") } : {}),
      ...(kv.get("state") === "exited"
        ? { exited: kv.get("reason") ?? "exited", retainMsLeft: num(kv.get("retain_ms_left")) }
        : {}),
    });
  }
  return { active: num(head.get("active")), spawned: num(head.get("spawned")), workers };
}

/** `/proc/sessions`: a header, then `session id=… role=… subject=… state=… ops=… bytes=… open=…`. */
export function parseSessions(text: string): SessionView[] {
  return text.split("\n").filter((l) => l.startsWith("session ")).map((line) => {
    const kv = keyValues(line);
    return {
      id: num(kv.get("id")),
      role: kv.get("role") ?? "",
      subject: kv.get("subject") ?? "-",
      state: kv.get("state") ?? "",
      ops: num(kv.get("ops")),
      bytes: num(kv.get("bytes")),
      open: num(kv.get("open")),
    };
  });
}

/** Every numeric `key=value` of a pressure file (one line or several). */
export function parsePressure(text: string, prefix = ""): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    for (const [k, v] of keyValues(line)) {
      if (/^\d+$/.test(v)) out[prefix + k] = Number(v);
    }
  }
  return out;
}

/** `/proc/lifecycle/{state,reason,since}`: `state=ONLINE`, `reason=boot-complete`, `since_ms=N`. */
export function parseLifecycle(state: string, reason: string, since: string): LifecycleView {
  return {
    state: keyValues(state).get("state") ?? state.trim(),
    reason: keyValues(reason).get("reason") ?? reason.trim(),
    sinceMs: num(keyValues(since).get("since_ms")),
  };
}

/** `/gpu/<id>/info`: one JSON object. A malformed one still shows the GPU, unleased. */
export function parseGpuInfo(id: string, text: string): GpuView {
  let info: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object") info = parsed;
  } catch { /* shown as an unknown GPU */ }
  const lease = (info.lease ?? null) as Record<string, unknown> | null;
  return {
    id,
    model: typeof info.model === "string" ? info.model : "?",
    memMb: num(String(info.mem_mb)),
    streams: num(String(info.streams)),
    lease: lease && typeof lease.worker === "string" ? lease.worker : "",
    leaseMemMb: lease ? num(String(lease.mem_mb)) : 0,
    leaseStreams: lease ? num(String(lease.streams)) : 0,
    queued: num(String(info.queued)),
    done: num(String(info.done)),
  };
}

/** Complete lines of `text` (a trailing partial line is left for the next read at the cursor). */
export function completeLines(text: string): { lines: string[]; used: number } {
  const end = text.lastIndexOf("\n");
  if (end < 0) return { lines: [], used: 0 };
  return { lines: text.slice(0, end).split("\n"), used: end + 1 };
}
