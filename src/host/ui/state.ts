/**
 * The view model `cohesix ui` sends to the browser and stores in snapshots, and the WebSocket
 * messages between the page and the bridge. Pure data: the server (Deno) and the page (bundled by
 * esbuild) both import this file, so the two sides cannot drift apart.
 */

export interface BootView {
  version: string;
  /** sha256 of the resolved manifest, as /proc/boot prints it. */
  manifest: string;
  maxWorkers: number;
  maxSessions: number;
  tickMs: number;
  gpus: string[];
}

export interface WorkerView {
  id: string;
  kind: "heartbeat" | "gpu";
  /** Heartbeat ticks done and the tick budget (0: none). */
  tick: number;
  ticks: number;
  opsUsed: number;
  opsBudget: number;
  ttlMsLeft: number;
  /** The last telemetry line read at the worker's cursor ("" before the first). */
  lastHeartbeat: string;
  /** The telemetry cursor: absolute offset of the next unread byte. */
  cursor: number;
  dropped: number;
  gpu?: string;
  /** Shard label when the hive shards worker telemetry (/shard/<label>/worker/<id>). */
  shard?: string;
  /** Why an exited worker the hive still retains ended (killed, ticks, ops, ttl, …); absent while it runs. */
  exited?: string;
  /** How long the hive keeps an exited worker's files. */
  retainMsLeft?: number;
}

export interface GpuView {
  id: string;
  model: string;
  memMb: number;
  streams: number;
  /** The leasing worker, or "" when free. */
  lease: string;
  leaseMemMb: number;
  leaseStreams: number;
  queued: number;
  done: number;
}

export interface SessionView {
  id: number;
  role: string;
  subject: string;
  state: string;
  ops: number;
  bytes: number;
  open: number;
}

export interface LifecycleView {
  state: string;
  reason: string;
  sinceMs: number;
}

/** A refusal the hive gave one of the bridge's reads (quota, permission, …), shown to the user. */
export interface RefusalView {
  op: string;
  path: string;
  errno: number;
  /** EMSGSIZE/EPERM/… and what it means (e.g. "ticket quota exhausted"). */
  error: string;
  /** Hive time (ms since the view started) of the refusal. */
  atMs: number;
}

/** One frame of the live view: everything the canvas draws. */
export interface HiveState {
  /** Milliseconds since the view (or the recording) started. */
  atMs: number;
  /** Refresh number (monotonic). */
  seq: number;
  workersActive: number;
  workersSpawned: number;
  workers: WorkerView[];
  gpus: GpuView[];
  sessions: SessionView[];
  /** null when the hive serves no /proc/lifecycle. */
  lifecycle: LifecycleView | null;
  /** Counter name → value, from /proc/pressure (a file of key=value, or a directory of files). */
  pressure: Record<string, number>;
  /** The newest queen log lines read at the log cursor (bounded). */
  log: string[];
  refusals: RefusalView[];
}

export function emptyState(): HiveState {
  return {
    atMs: 0,
    seq: 0,
    workersActive: 0,
    workersSpawned: 0,
    workers: [],
    gpus: [],
    sessions: [],
    lifecycle: null,
    pressure: {},
    log: [],
    refusals: [],
  };
}

/** Terminal output recorded with the view, so a replay shows the terminal at each moment. */
export interface TermEvent {
  atMs: number;
  /** A complete line (no newline). */
  line: string;
}

// ---- WebSocket messages --------------------------------------------------------------------

/** Page → bridge. */
export type ClientMessage =
  | { t: "login"; role: string; ticket: string }
  | { t: "line"; text: string }
  | { t: "cancel" }
  | { t: "complete"; line: string }
  | { t: "logout" };

/** Bridge → page. */
export type ServerMessage =
  | { t: "hello"; mode: "live" | "replay"; hive: string; console: string; roles: string[] }
  | { t: "login"; ok: true; role: string; boot: BootView }
  | { t: "login"; ok: false; error: string }
  | { t: "out"; line: string }
  | { t: "done" }
  /** Tab completion of `line`: `options` each replace its last word, `token`. */
  | { t: "completions"; line: string; token: string; options: string[] }
  | { t: "state"; state: HiveState }
  | { t: "error"; error: string }
  /** Something the user should know that is not an error (the view re-attached). */
  | { t: "notice"; text: string };

/** Bounds that keep a long-running page and its snapshots small. */
export const LIMITS = {
  /** Log lines kept in the view. */
  logLines: 12,
  /** Refusals kept in the view. */
  refusals: 8,
  /** Frames kept for a snapshot (one per refresh). */
  frames: 900,
  /** Terminal lines kept for a snapshot. */
  termLines: 4000,
} as const;
