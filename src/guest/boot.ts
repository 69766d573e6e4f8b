/**
 * `BootConfig`: everything the guest needs to build its namespace at boot, as plain data (numbers,
 * strings, arrays, nested plain objects) so `cohesix rtc` can emit it from `configs/root_task.toml`
 * (src/guest/generated/bootstrap.ts) and `defaultBootConfig()` can stand in for development.
 * Every table size here is fixed at boot: the guest allocates once and never grows (no GC on Porffor).
 */

/** One access rule of a role. */
export interface RoleRule {
  /**
   * Absolute path pattern, one component per segment: a literal name, `*` (any one component),
   * `**` (this and everything below, last segment only), `$self` (the session's subject, a worker id)
   * or `$gpu` (the GPU id leased to the session's worker).
   */
  path: string;
  /** `r`, `w` or `rw`. Walking through the ancestors of a rule's path is always allowed. */
  mode: string;
}

/** Per-session quotas; 0 means unlimited. A ticket may lower them, never raise them. */
export interface QuotaSpec {
  /** Namespace operations (walk, open, read, write, readdir, stat) per session. */
  ops: number;
  /** Bytes read plus written per session. */
  bytes: number;
  /** Concurrently open nodes per session. */
  fids: number;
}

/** One role of the role table. */
export interface RoleSpec {
  /** Role name as given on attach (`queen`, `worker-heartbeat`, `worker-gpu`, `observer`). */
  name: string;
  /** `none`: attach without a ticket; `optional`: a ticket is checked when given; `required`. */
  ticket: string;
  /** True when the ticket subject must name a live worker (worker roles). */
  workerSubject: boolean;
  /** Paths and modes this role may use; everything else is `Permission` plus an audit line. */
  rules: RoleRule[];
  /** Session quota ceilings for this role. */
  quota: QuotaSpec;
}

/** An Ed25519 verifying key trusted for tickets. */
export interface TicketKeySpec {
  /** Key id carried in tickets: 8 lowercase hex digits (first 4 bytes of sha256(publicKey)). */
  kid: string;
  /** Raw 32-byte Ed25519 public key, 64 lowercase hex digits. */
  publicKey: string;
}

/** A simulated GPU published under `/gpu/<id>/` when no host bridge is attached. */
export interface GpuSpec {
  /** Directory name, e.g. `GPU-0`. */
  id: string;
  /** Model name shown in `info`. */
  model: string;
  memMb: number;
  streams: number;
}

/** A worker budget; 0 means unlimited for that dimension. */
export interface BudgetSpec {
  /** Heartbeat ticks before the worker is revoked. */
  ticks: number;
  /** Successful namespace operations by the worker's sessions. */
  ops: number;
  /** Lifetime in seconds of the injected clock. */
  ttlS: number;
}

export interface BootLimits {
  /** Concurrent namespace sessions (attaches). */
  maxSessions: number;
  /** Concurrent workers. */
  maxWorkers: number;
  /** bind/mount entries per session. */
  maxMountsPerSession: number;
  /** Open nodes tracked per session (hard ceiling under any quota). */
  maxOpenPerSession: number;
  /** Largest single write accepted by a control file. */
  maxCtlBytes: number;
  /** Commands accepted in one `/queen/ctl` write. */
  maxCtlCommands: number;
  /** Ticks processed by one `advance` call; later ticks are counted as skipped. */
  maxCatchUpTicks: number;
  /** Largest 9P message size granted at Tversion (manifest `secure9p.msize`; the server caps it at 8192). */
  msize: number;
  /** Most names in one Twalk (manifest `secure9p.walk_depth`; red line 8). */
  maxWalk: number;
  /** Requests in flight per 9P session before EBUSY (manifest `secure9p.tags_per_session`). */
  maxTagsPerSession: number;
  /** A clunked fid number may be used again (manifest `secure9p.allow_fid_reuse`, for Linux v9fs); default refused. */
  allowFidReuse?: boolean;
}

import type { IngestLimits } from "./ingest/segments.ts";

/**
 * The native guest's network (src/guest/native/net_pump.ts): ports and limits from the manifest's
 * [console] and [secure9p], the address from [net]. The hosted runtime takes its ports from flags.
 */
export interface NetConfig {
  /** features.net_console */
  enabled: boolean;
  consolePort: number;
  ninepPort: number;
  /** TCP console sessions at once (console.max_sessions). */
  maxConsoles: number;
  /** Secure9P connections at once (secure9p.max_sessions; the pump also keeps to the hive's 16). */
  maxNinep: number;
  /** "dhcp" or "static" */
  mode: string;
  /** Static mode: address, prefix length and gateway (four bytes each; zeros when unset). */
  address: number[];
  prefix: number;
  gateway: number[];
}

export interface BootConfig {
  /** Hash of the manifest this configuration came from (`/proc/boot` shows it). */
  manifestFingerprint: string;
  /** Injected-clock milliseconds per worker tick. */
  tickMs: number;
  limits: BootLimits;
  /** Bytes of each worker's telemetry ring. */
  telemetryRingBytes: number;
  /** Bytes of the queen log ring (`/log/queen.log`). */
  logRingBytes: number;
  /** Telemetry ingest bounds (`[telemetry_ingest]`); maxDevices 0 = no `/queen/telemetry`. */
  telemetryIngest: IngestLimits;
  /** Bytes of the global trace ring (`/trace/events`). */
  traceRingBytes: number;
  /** Bytes of each worker's trace ring (`/proc/<id>/trace`). */
  workerTraceRingBytes: number;
  /** Initial trace level: `error`, `warn`, `info` or `debug`. */
  traceLevel: string;
  /** Initially enabled trace categories (see `TRACE_CATEGORIES` in ninedoor/trace.ts). */
  traceCategories: string[];
  /** Budget applied to spawns that do not name one. */
  defaultBudget: BudgetSpec;
  /** Seconds an exited worker's files stay readable (read-only) before they disappear; 0 = at once. */
  workerRetainS: number;
  gpus: GpuSpec[];
  roles: RoleSpec[];
  /** Keys the hosted ticket verifier trusts (the guest itself only enforces claims). */
  ticketKeys: TicketKeySpec[];
  /** Node lifecycle (`[lifecycle]`): initial state and the transitions applied when boot completes. */
  lifecycle: LifecycleSpec;
  /** Worker namespace layout (`[sharding]`). */
  sharding: ShardingSpec;
  /** `[ecosystem.*]`: /host, PolicyFS, AuditFS and ReplayFS (all off in the default manifest). */
  ecosystem: EcosystemSpec;
  /** Field-bus adapters of the enabled `[sidecars.*]` sections (empty: no /bus). */
  busAdapters: BusAdapterSpec[];
  /** `[observability.*]`: the gated /proc/{root,9p/session,pressure,ingest} files. */
  observability: ObservabilitySpec;
  /** `[cas]`: the /updates store (off: no /updates). */
  cas: CasSpec;
  /** Keys update manifests are verified against (`[[cas.update_keys]]`; kid = sha256(key)[0..4]). */
  updateKeys: TicketKeySpec[];
}

/** `[cas]` as the guest needs it: the store's bounds. */
export interface CasSpec {
  enable: boolean;
  chunkBytes: number;
  maxBytes: number;
  maxEpochs: number;
  maxChunks: number;
  /** `cas.delta.enable`: whether a manifest may name a base epoch. */
  delta: boolean;
}

/** `[cas]` off (the default manifest's choice). */
export function casOff(): CasSpec {
  return { enable: false, chunkBytes: 4096, maxBytes: 2097152, maxEpochs: 4, maxChunks: 512, delta: true };
}

/**
 * `[observability.*]`. Every file field is its byte cap, 0 when the manifest leaves the file off
 * (the `<node>` bool and `<node>_bytes` of the manifest folded into one number).
 */
export interface ObservabilitySpec {
  root: { reachable: number; lastSeenMs: number; cutReason: number };
  session: { active: number; state: number; sinceMs: number; owner: number };
  pressure: { busy: number; quota: number; cut: number; policy: number };
  ingest: {
    p50Ms: number;
    p95Ms: number;
    backpressure: number;
    dropped: number;
    queued: number;
    /** Lines kept in /proc/ingest/watch (0: no watch file). */
    watchMaxEntries: number;
    watchLineBytes: number;
    /** A watch line is added at most this often, and only when a value moved beyond its tolerance. */
    watchMinIntervalMs: number;
    /** Read-lag samples the percentiles are taken over. */
    latencySamples: number;
    latencyToleranceMs: number;
    counterTolerance: number;
  };
}

/** Every observability file off (a manifest without `[observability]`). */
export function observabilityOff(): ObservabilitySpec {
  return {
    root: { reachable: 0, lastSeenMs: 0, cutReason: 0 },
    session: { active: 0, state: 0, sinceMs: 0, owner: 0 },
    pressure: { busy: 0, quota: 0, cut: 0, policy: 0 },
    ingest: {
      p50Ms: 0,
      p95Ms: 0,
      backpressure: 0,
      dropped: 0,
      queued: 0,
      watchMaxEntries: 0,
      watchLineBytes: 192,
      watchMinIntervalMs: 50,
      latencySamples: 32,
      latencyToleranceMs: 5,
      counterTolerance: 1,
    },
  };
}

/** One `[[ecosystem.policy.rules]]`: writes to a path matching `target` need an approval. */
export interface PolicyRuleSpec {
  /** Rule name shown in /policy/rules and the audit records ([A-Za-z0-9._:-], 1..32). */
  id: string;
  /** Absolute path glob: literal components and `*` (exactly one whole component). */
  target: string;
}

/** `[ecosystem.host]`: the host sidecar's mount (served by the /host provider). */
export interface HostSpec {
  enable: boolean;
  /** `systemd`, `k8s`, `docker`, `nvidia`, `jetson`, `net`. */
  providers: string[];
  mountAt: string;
  /** Milliseconds without a word from the host-agent before /host reads `agent=stale`. */
  staleMs: number;
  /** Entries the agent may publish, over all providers (the node table reserves room for them). */
  maxEntries: number;
}

/** `[ecosystem.policy]`: approval gates on control writes (`/policy`, `/actions`). */
export interface PolicySpec {
  enable: boolean;
  /** Approvals held at once in `/actions` (queued or consumed). */
  queueMaxEntries: number;
  /** Largest write to `/actions/queue`. */
  queueMaxBytes: number;
  /** Largest write to `/policy/ctl`. */
  ctlMaxBytes: number;
  /** Largest rendering of `/actions/<id>/status`. */
  statusMaxBytes: number;
  rules: PolicyRuleSpec[];
}

/** `[ecosystem.audit]`: the bounded audit journal and the replay window. */
export interface AuditSpec {
  enable: boolean;
  /** Byte bound of `/audit/journal` (oldest records dropped and counted beyond it). */
  journalMaxBytes: number;
  /** Byte bound of `/audit/decisions`. */
  decisionsMaxBytes: number;
  replayEnable: boolean;
  /** Control actions kept for `/replay` (oldest dropped beyond it). */
  replayMaxEntries: number;
  /** Largest write to `/replay/ctl`. */
  replayCtlMaxBytes: number;
  /** Largest rendering of `/replay/status`. */
  replayStatusMaxBytes: number;
}

/** `[gpu.bridge]`: the host GPU bridge's files, leases queued by priority, breadcrumbs, models. */
export interface GpuBridgeSpec {
  enable: boolean;
  /** Bridged GPUs one snapshot may publish (`/gpu/<uuid>/info`). */
  maxGpus: number;
  /** Models one snapshot may publish (`/gpu/models/available/<model>`). */
  maxModels: number;
  /** Largest snapshot upload in bytes (after base64). */
  snapshotMaxBytes: number;
  /** Lease requests waiting per GPU. */
  leaseQueue: number;
  /** Largest LoRA adapter `cohesix peft import` takes into the host registry (host-side bound). */
  adapterMaxBytes: number;
}

export interface EcosystemSpec {
  host: HostSpec;
  policy: PolicySpec;
  audit: AuditSpec;
  /** From the manifest's `[gpu.bridge]` (linked with the other extension providers). */
  gpuBridge: GpuBridgeSpec;
}

/** One field-bus adapter (`[sidecars.modbus|dnp3].adapters`), mounted at `<mountAt>/<mount>`. */
export interface BusAdapterSpec {
  protocol: string;
  id: string;
  mountAt: string;
  mount: string;
  scope: string;
  link: string;
  baud: number;
  spoolMaxEntries: number;
  spoolMaxBytes: number;
}

/** True when a build must link the `[ecosystem]` extension: the manifest turns one of its services on. */
export function ecosystemLinked(boot: BootConfig): boolean {
  return ecosystemServicesOn(boot) || boot.cas.enable;
}

/** True when a service of the whole `[ecosystem]` set (not `[cas]` alone) is on. */
export function ecosystemServicesOn(boot: BootConfig): boolean {
  const eco = boot.ecosystem;
  return eco.policy.enable || eco.audit.enable || eco.host.enable || eco.gpuBridge.enable || boot.busAdapters.length > 0;
}

/** Everything in `[ecosystem]` off (the default manifest's choice). */
export function ecosystemOff(): EcosystemSpec {
  return {
    host: { enable: false, providers: [], mountAt: "/host", staleMs: 15000, maxEntries: 32 },
    gpuBridge: { enable: false, maxGpus: 8, maxModels: 8, snapshotMaxBytes: 16384, leaseQueue: 4, adapterMaxBytes: 67108864 },
    policy: { enable: false, queueMaxEntries: 16, queueMaxBytes: 4096, ctlMaxBytes: 2048, statusMaxBytes: 512, rules: [] },
    audit: {
      enable: false,
      journalMaxBytes: 65536,
      decisionsMaxBytes: 4096,
      replayEnable: false,
      replayMaxEntries: 64,
      replayCtlMaxBytes: 1024,
      replayStatusMaxBytes: 1024,
    },
  };
}

/** `[lifecycle]`: state names are BOOTING, DEGRADED, ONLINE, DRAINING, QUIESCED, OFFLINE. */
export interface LifecycleSpec {
  initialState: string;
  autoTransitions: { from: string; to: string }[];
}

/**
 * `[sharding]`: with `enabled`, workers live at `/shard/<label>/worker/<id>/telemetry` (label = byte 0
 * of sha256(id) >> (8 - shardBits), two hex digits); `legacyWorkerAlias` (or sharding off) keeps
 * `/worker/<id>/telemetry` too.
 */
export interface ShardingSpec {
  enabled: boolean;
  shardBits: number;
  legacyWorkerAlias: boolean;
}

/** Roles of the hive; the isolation matrix test is generated from this table. */
export function defaultRoles(): RoleSpec[] {
  return [
    {
      name: "queen",
      ticket: "optional",
      workerSubject: false,
      rules: [{ path: "/**", mode: "rw" }],
      quota: { ops: 0, bytes: 0, fids: 0 },
    },
    {
      name: "observer",
      ticket: "optional",
      workerSubject: false,
      rules: [{ path: "/**", mode: "r" }],
      quota: { ops: 0, bytes: 0, fids: 32 },
    },
    {
      name: "worker-heartbeat",
      ticket: "required",
      workerSubject: true,
      rules: [
        { path: "/proc/boot", mode: "r" },
        { path: "/log/queen.log", mode: "r" },
        { path: "/shard/$shard/worker/$self/telemetry", mode: "rw" },
        { path: "/worker/$self/telemetry", mode: "rw" },
        { path: "/proc/$self/trace", mode: "r" },
      ],
      quota: { ops: 100000, bytes: 1048576, fids: 8 },
    },
    {
      name: "worker-gpu",
      ticket: "required",
      workerSubject: true,
      rules: [
        { path: "/proc/boot", mode: "r" },
        { path: "/log/queen.log", mode: "r" },
        { path: "/shard/$shard/worker/$self/telemetry", mode: "rw" },
        { path: "/worker/$self/telemetry", mode: "rw" },
        { path: "/proc/$self/trace", mode: "r" },
        { path: "/gpu/$gpu", mode: "r" },
        { path: "/gpu/$gpu/info", mode: "r" },
        { path: "/gpu/$gpu/status", mode: "r" },
        { path: "/gpu/$gpu/ctl", mode: "rw" },
        { path: "/gpu/$gpu/job", mode: "rw" },
      ],
      quota: { ops: 100000, bytes: 1048576, fids: 8 },
    },
  ];
}

/** A development configuration: small tables, two simulated GPUs, no trusted ticket keys. */
export function defaultBootConfig(): BootConfig {
  return {
    manifestFingerprint: "dev-unmanifested",
    tickMs: 1000,
    limits: {
      maxSessions: 64,
      maxWorkers: 64,
      maxMountsPerSession: 8,
      maxOpenPerSession: 64,
      maxCtlBytes: 4096,
      maxCtlCommands: 8,
      maxCatchUpTicks: 1000,
      msize: 8192,
      maxWalk: 8,
      maxTagsPerSession: 16,
    },
    telemetryRingBytes: 1024,
    logRingBytes: 65536,
    // Off in the bare development tables (configs/root_task.toml turns it on).
    telemetryIngest: { maxDevices: 0, maxSegments: 0, maxSegmentBytes: 0, maxDeviceBytes: 0, eviction: 1, maxRecordBytes: 4096 },
    traceRingBytes: 65536,
    workerTraceRingBytes: 2048,
    traceLevel: "info",
    traceCategories: ["boot", "ninep", "queen", "worker", "ticket", "gpu", "audit"],
    defaultBudget: { ticks: 1000, ops: 10000, ttlS: 300 },
    workerRetainS: 60,
    gpus: [
      { id: "GPU-0", model: "sim-a100", memMb: 40960, streams: 4 },
      { id: "GPU-1", model: "sim-a100", memMb: 40960, streams: 4 },
    ],
    roles: defaultRoles(),
    ticketKeys: [],
    lifecycle: { initialState: "BOOTING", autoTransitions: [{ from: "BOOTING", to: "ONLINE" }] },
    sharding: { enabled: true, shardBits: 8, legacyWorkerAlias: true },
    ecosystem: ecosystemOff(),
    busAdapters: [],
    observability: observabilityOff(),
    cas: casOff(),
    updateKeys: [],
  };
}
