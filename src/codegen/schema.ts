/**
 * Manifest schema 1.0: the zod description of `configs/*.toml`. Every table is strict (unknown keys are
 * refused); optional tables and keys get the defaults written here, so the resolved manifest is complete.
 * Range limits that are red lines (msize, walk depth, …) live here as bounds; rules that relate several
 * keys live in `redlines.ts`.
 */
import { z } from "zod";

/** The only schema version this compiler accepts. */
export const SCHEMA_VERSION = "1.0";

/** Red-line maxima shared by the schema, the red-line checks and the generated docs. */
export const LIMITS = {
  msizeMax: 8192,
  msizeMin: 512,
  walkDepthMax: 8,
  tagsPerSessionMax: 64,
  batchFramesMax: 16,
  imageBytesMax: 4 * 1024 * 1024,
} as const;

export const ROLES = ["queen", "worker-heartbeat", "worker-gpu", "observer"] as const;
export const SERVICES = ["proc", "log", "queen", "worker", "shard", "gpu", "trace", "host"] as const;
/** Node lifecycle states (namespace reference §4); must equal LIFECYCLE_STATES in the guest (a test checks). */
export const LIFECYCLE_STATES = ["BOOTING", "DEGRADED", "ONLINE", "DRAINING", "QUIESCED", "OFFLINE"] as const;
/** At most this many `[[lifecycle.auto_transitions]]` (reference compiler). */
export const MAX_AUTO_TRANSITIONS = 8;
export const PLATFORMS = ["qemu-virt-aarch64", "rpi4-aarch64", "jetson-orin-aarch64"] as const;
export const MODES = ["r", "w", "rw"] as const;
export const TICKET_POLICIES = ["none", "optional", "required"] as const;
export const TRACE_LEVELS = ["error", "warn", "info", "debug"] as const;
/** Must equal TRACE_CATEGORIES in src/guest/ninedoor/trace.ts (a test checks). */
export const TRACE_CATEGORIES = ["boot", "ninep", "queen", "worker", "ticket", "gpu", "audit"] as const;
export const HOST_PROVIDERS = ["systemd", "k8s", "docker", "nvidia", "jetson", "net"] as const;

const u32 = () => z.number().int().min(0).max(0xffffffff);
const posInt = (max: number) => z.number().int().min(1).max(max);
const text = (max: number) => z.string().min(1).max(max);

const Meta = z.strictObject({
  author: text(80).default("cohesix"),
  purpose: text(200).default("unspecified"),
}).default({ author: "cohesix", purpose: "unspecified" });

const RootTask = z.strictObject({ schema: z.string() });

const Profile = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/),
  platform: z.enum(PLATFORMS),
  kernel: z.boolean(),
  memory_bytes: z.number().int().min(1024 * 1024).max(0x7fffffff),
  max_workers: posInt(4096),
});

const EventPump = z.strictObject({
  tick_ms: posInt(60000),
  max_catch_up_ticks: posInt(100000).default(1000),
});

const Secure9p = z.strictObject({
  msize: z.number().int().min(LIMITS.msizeMin).max(LIMITS.msizeMax),
  walk_depth: z.number().int().min(1).max(LIMITS.walkDepthMax),
  tags_per_session: z.number().int().min(1).max(LIMITS.tagsPerSessionMax),
  batch_frames: z.number().int().min(1).max(LIMITS.batchFramesMax),
  max_sessions: posInt(256),
  max_fids_per_session: posInt(1024),
  short_write: z.strictObject({ policy: z.enum(["reject", "retry"]) }).default({ policy: "reject" }),
  /** Let a session use a clunked fid number again (Linux v9fs and `diodls -l` pool fid numbers). */
  allow_fid_reuse: z.boolean().default(false),
});

const Console = z.strictObject({
  net_port: z.number().int().min(1).max(65535).default(31337),
  ninep_port: z.number().int().min(1).max(65535).default(5640),
  max_line_bytes: z.number().int().min(64).max(4096).default(256),
  /** TCP console sessions at once (the hive keeps 8 consoles, one is the serial line). */
  max_sessions: z.number().int().min(1).max(7).default(4),
}).default({ net_port: 31337, ninep_port: 5640, max_line_bytes: 256, max_sessions: 4 });

/** The native guest's address: DHCP (QEMU's user network answers it) or a static address. */
const Net = z.strictObject({
  mode: z.enum(["dhcp", "static"]).default("dhcp"),
  /** Static mode: "a.b.c.d/prefix". */
  address: z.string().regex(/^[0-9.]+\/[0-9]{1,2}$/).optional(),
  /** Static mode: the default gateway (optional). */
  gateway: z.string().optional(),
}).default({ mode: "dhcp" });

const Features = z.strictObject({
  net_console: z.boolean(),
  serial_console: z.boolean(),
  gpu: z.boolean(),
});

/** A trusted ticket issuer: tickets are Ed25519-signed claims; the role is a claim. */
const Ticket = z.strictObject({
  issuer: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/),
  public_key: z.string(),
});

const Mount = z.strictObject({ service: z.enum(SERVICES), at: z.string() });

const Namespaces = z.strictObject({
  role_isolation: z.boolean().default(true),
  max_mounts_per_session: posInt(64).default(8),
  mounts: z.array(Mount).min(1).max(32),
});

const Queen = z.strictObject({
  max_ctl_bytes: posInt(65536).default(4096),
  max_ctl_commands: posInt(64).default(8),
}).default({ max_ctl_bytes: 4096, max_ctl_commands: 8 });

const Budget = z.strictObject({ ticks: u32(), ops: u32(), ttl_s: u32() });
const Workers = z.strictObject({
  default_budget: Budget.default({ ticks: 1000, ops: 10000, ttl_s: 300 }),
  /** Seconds an exited worker's telemetry and trace stay readable (read-only); 0 removes them at exit. */
  retain_s: z.number().int().min(0).max(86400).default(60),
}).default({ default_budget: { ticks: 1000, ops: 10000, ttl_s: 300 }, retain_s: 60 });

const Rule = z.strictObject({ path: z.string(), mode: z.enum(MODES) });
const Quota = z.strictObject({ ops: u32(), bytes: u32(), fids: z.number().int().min(0).max(1024) });
const Role = z.strictObject({
  name: z.enum(ROLES),
  ticket: z.enum(TICKET_POLICIES),
  worker_subject: z.boolean().default(false),
  quota: Quota.default({ ops: 0, bytes: 0, fids: 0 }),
  rules: z.array(Rule).min(1).max(32),
});

const Telemetry = z.strictObject({ ring_bytes_per_worker: u32() });

/** Telemetry ingest (`/queen/telemetry/<device>/…`): all zero = disabled, else every bound set. */
export const EVICTION_POLICIES = ["refuse", "evict-oldest"] as const;
const TelemetryIngest = z.strictObject({
  max_devices: z.number().int().min(0).max(64).default(0),
  max_segments_per_device: z.number().int().min(0).max(64).default(0),
  max_bytes_per_segment: z.number().int().min(0).max(524288).default(0),
  max_total_bytes_per_device: z.number().int().min(0).max(16 * 1024 * 1024).default(0),
  eviction_policy: z.enum(EVICTION_POLICIES).default("evict-oldest"),
}).default({
  max_devices: 0,
  max_segments_per_device: 0,
  max_bytes_per_segment: 0,
  max_total_bytes_per_device: 0,
  eviction_policy: "evict-oldest",
});

/** `[sharding]`: workers under `/shard/<label>/worker/<id>` (label = sha256(id)[0] >> (8 - shard_bits)). */
const Sharding = z.strictObject({
  enabled: z.boolean().default(false),
  shard_bits: z.number().int().min(1).max(8).default(8),
  legacy_worker_alias: z.boolean().default(true),
}).default({ enabled: false, shard_bits: 8, legacy_worker_alias: true });

/** `[lifecycle]`: the state the hive boots in and the transitions applied when boot completes. */
const AutoTransition = z.strictObject({ from: z.enum(LIFECYCLE_STATES), to: z.enum(LIFECYCLE_STATES) });
const Lifecycle = z.strictObject({
  initial_state: z.enum(LIFECYCLE_STATES).default("BOOTING"),
  auto_transitions: z.array(AutoTransition).default([{ from: "BOOTING", to: "ONLINE" }]),
}).default({ initial_state: "BOOTING", auto_transitions: [{ from: "BOOTING", to: "ONLINE" }] });

/**
 * `[observability.*]`: the manifest-gated `/proc` files (namespace reference §7). Each node is a bool
 * plus a `<node>_bytes` cap on its rendering (a read past the cap is EMSGSIZE, never a cut line).
 * Absent sections leave every node off; the default manifest turns them on.
 */
const flag = z.boolean().default(false);
const cap = (bytes: number) => posInt(8192).default(bytes);
const ProcRoot = z.strictObject({
  reachable: flag,
  reachable_bytes: cap(32),
  last_seen_ms: flag,
  last_seen_ms_bytes: cap(64),
  cut_reason: flag,
  cut_reason_bytes: cap(64),
}).prefault({});
const Proc9pSession = z.strictObject({
  active: flag,
  active_bytes: cap(128),
  state: flag,
  state_bytes: cap(64),
  since_ms: flag,
  since_ms_bytes: cap(64),
  owner: flag,
  owner_bytes: cap(96),
}).prefault({});
const ProcPressure = z.strictObject({
  busy: flag,
  busy_bytes: cap(64),
  quota: flag,
  quota_bytes: cap(64),
  cut: flag,
  cut_bytes: cap(64),
  policy: flag,
  policy_bytes: cap(64),
}).prefault({});
const ProcIngest = z.strictObject({
  p50_ms: flag,
  p50_ms_bytes: cap(64),
  p95_ms: flag,
  p95_ms_bytes: cap(64),
  backpressure: flag,
  backpressure_bytes: cap(64),
  dropped: flag,
  dropped_bytes: cap(64),
  queued: flag,
  queued_bytes: cap(64),
  watch: flag,
  watch_max_entries: z.number().int().default(16),
  watch_line_bytes: posInt(1024).default(192),
  watch_min_interval_ms: z.number().int().default(50),
  latency_samples: z.number().int().default(32),
  latency_tolerance_ms: z.number().int().min(0).default(5),
  counter_tolerance: z.number().int().min(0).default(1),
}).prefault({});
const Observability = z.strictObject({
  proc_root: ProcRoot,
  proc_9p_session: Proc9pSession,
  proc_pressure: ProcPressure,
  proc_ingest: ProcIngest,
}).prefault({});

const Trace = z.strictObject({
  ring_bytes: posInt(1 << 24),
  worker_ring_bytes: posInt(1 << 20).default(2048),
  default_level: z.enum(TRACE_LEVELS).default("info"),
  categories: z.array(z.enum(TRACE_CATEGORIES)).default([...TRACE_CATEGORIES]),
});

const Log = z.strictObject({ queen_log_bytes: posInt(1 << 24).default(65536) }).default({ queen_log_bytes: 65536 });

const GpuDevice = z.strictObject({
  // Up to 64 characters: an nvidia-smi uuid (`GPU-<36 hex and dashes>`) names a real GPU the bridge reports.
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/),
  model: text(32),
  mem_mb: posInt(1 << 20),
  streams: posInt(64),
});
/** `[gpu.bridge]`: the host GPU bridge's files (off by default: the extension is not linked natively). */
export const GPU_BRIDGE_DEFAULTS = {
  enable: false,
  max_gpus: 8,
  max_models: 8,
  snapshot_max_bytes: 16384,
  lease_queue: 4,
  adapter_max_bytes: 67108864,
};
const GpuBridge = z.strictObject({
  enable: z.boolean().default(false),
  max_gpus: posInt(16).default(GPU_BRIDGE_DEFAULTS.max_gpus),
  max_models: posInt(32).default(GPU_BRIDGE_DEFAULTS.max_models),
  // One snapshot: header plus up to max_gpus info (512 B) and max_models manifests (1024 B).
  snapshot_max_bytes: z.number().int().min(1024).max(65536).default(GPU_BRIDGE_DEFAULTS.snapshot_max_bytes),
  lease_queue: posInt(16).default(GPU_BRIDGE_DEFAULTS.lease_queue),
  // `cohesix peft import` refuses larger LoRA adapters (the registry is on the host; 1 GiB at most).
  adapter_max_bytes: posInt(1 << 30).default(GPU_BRIDGE_DEFAULTS.adapter_max_bytes),
}).default(GPU_BRIDGE_DEFAULTS);
const Gpu = z.strictObject({ devices: z.array(GpuDevice).max(16).default([]), bridge: GpuBridge })
  .default({ devices: [], bridge: GPU_BRIDGE_DEFAULTS });

const EcoHost = z.strictObject({
  enable: z.boolean().default(false),
  providers: z.array(z.enum(HOST_PROVIDERS)).default([]),
  mount_at: z.string().default("/host"),
  /** The host-agent is stale (and /host says so) after this long without a word from it. */
  stale_ms: posInt(3600000).default(15000),
  /** Entries (units, nodes, containers, GPUs) the agent may publish, over all providers. */
  max_entries: posInt(64).default(32),
}).default({ enable: false, providers: [], mount_at: "/host", stale_ms: 15000, max_entries: 32 });
/** Byte bounds of the audit journal and replay window (reference compiler: every cap >= 1). */
export const AUDIT_DEFAULTS = {
  enable: false,
  journal_max_bytes: 65536,
  decisions_max_bytes: 4096,
  replay_enable: false,
  replay_max_entries: 64,
  replay_ctl_max_bytes: 1024,
  replay_status_max_bytes: 1024,
};
const EcoAudit = z.strictObject({
  enable: z.boolean().default(false),
  // At least one whole record (a record is up to ~400 bytes); at most one ring chunk (ring.ts).
  journal_max_bytes: z.number().int().min(512).max(524288).default(AUDIT_DEFAULTS.journal_max_bytes),
  decisions_max_bytes: z.number().int().min(512).max(524288).default(AUDIT_DEFAULTS.decisions_max_bytes),
  replay_enable: z.boolean().default(false),
  replay_max_entries: posInt(256).default(AUDIT_DEFAULTS.replay_max_entries),
  replay_ctl_max_bytes: posInt(8192).default(AUDIT_DEFAULTS.replay_ctl_max_bytes),
  replay_status_max_bytes: z.number().int().min(128).max(8192).default(AUDIT_DEFAULTS.replay_status_max_bytes),
}).default(AUDIT_DEFAULTS);
/** Rule ids and action ids: a token the audit records can carry unescaped. */
export const POLICY_ID = /^[A-Za-z0-9._:-]{1,32}$/;
const PolicyRule = z.strictObject({
  id: z.string().regex(POLICY_ID, "must be 1..32 characters of [A-Za-z0-9._:-]"),
  target: z.string().min(2).max(128),
});
export const POLICY_DEFAULTS = {
  enable: false,
  queue_max_entries: 16,
  queue_max_bytes: 4096,
  ctl_max_bytes: 2048,
  status_max_bytes: 512,
  rules: [] as { id: string; target: string }[],
};
const EcoPolicy = z.strictObject({
  enable: z.boolean().default(false),
  queue_max_entries: posInt(64).default(POLICY_DEFAULTS.queue_max_entries),
  queue_max_bytes: posInt(8192).default(POLICY_DEFAULTS.queue_max_bytes),
  ctl_max_bytes: posInt(8192).default(POLICY_DEFAULTS.ctl_max_bytes),
  status_max_bytes: z.number().int().min(128).max(8192).default(POLICY_DEFAULTS.status_max_bytes),
  rules: z.array(PolicyRule).max(16).default([]),
}).default(POLICY_DEFAULTS);
const EcoModels = z.strictObject({ enable: z.boolean().default(false) }).default({ enable: false });
const Ecosystem = z.strictObject({ host: EcoHost, audit: EcoAudit, policy: EcoPolicy, models: EcoModels })
  .default({
    host: { enable: false, providers: [], mount_at: "/host", stale_ms: 15000, max_entries: 32 },
    audit: AUDIT_DEFAULTS,
    policy: POLICY_DEFAULTS,
    models: { enable: false },
  });

/**
 * `[client_policies]`: how host clients (cohsh) pool sessions, retry and keep connections alive. The
 * values are the manifest's, so every deployment's CLI behaves as its hive was configured; coh-rtc
 * emits them with a hash (`configs/generated/cohsh_policy.toml`) that cohsh checks when loading one.
 */
export const CLIENT_POLICY_DEFAULTS = {
  pool: { control_sessions: 2, telemetry_sessions: 4 },
  retry: { max_attempts: 3, backoff_ms: 200, ceiling_ms: 2000, timeout_ms: 5000 },
  heartbeat: { interval_ms: 15000 },
};
const CohshPool = z.strictObject({
  control_sessions: posInt(8).default(CLIENT_POLICY_DEFAULTS.pool.control_sessions),
  telemetry_sessions: posInt(16).default(CLIENT_POLICY_DEFAULTS.pool.telemetry_sessions),
}).prefault({});
const Retry = z.strictObject({
  max_attempts: posInt(16).default(CLIENT_POLICY_DEFAULTS.retry.max_attempts),
  backoff_ms: posInt(60000).default(CLIENT_POLICY_DEFAULTS.retry.backoff_ms),
  ceiling_ms: posInt(600000).default(CLIENT_POLICY_DEFAULTS.retry.ceiling_ms),
  timeout_ms: posInt(600000).default(CLIENT_POLICY_DEFAULTS.retry.timeout_ms),
}).prefault({});
const Heartbeat = z.strictObject({
  interval_ms: posInt(3600000).default(CLIENT_POLICY_DEFAULTS.heartbeat.interval_ms),
}).prefault({});
const ClientPolicies = z.strictObject({
  cohsh: z.strictObject({ pool: CohshPool }).prefault({}),
  retry: Retry,
  heartbeat: Heartbeat,
}).prefault({});

/**
 * `[sidecars.modbus|dnp3]` (Milestone 18): field-bus adapters bridged by a host sidecar
 * (`cohesix bus-agent`) into `<mount_at>/<mount>/{ctl,telemetry,link,replay,spool}`. Each adapter names
 * its link (a serial line at `baud`, or tcp) and the bounds of the sidecar's offline spool.
 */
const BusAdapter = z.strictObject({
  id: z.string().min(1).max(64),
  mount: z.string().min(1).max(64),
  scope: z.string().min(1).max(64),
  link: z.enum(["serial", "tcp"]).default("serial"),
  baud: z.number().int().min(0).max(4000000).default(9600),
  spool: z.strictObject({
    max_entries: posInt(1024).default(64),
    max_bytes: posInt(65536).default(4096),
  }).prefault({}),
});
const BusSidecar = z.strictObject({
  enable: z.boolean().default(false),
  mount_at: z.string().default("/bus"),
  adapters: z.array(BusAdapter).max(8).default([]),
}).prefault({});
const Sidecars = z.strictObject({ modbus: BusSidecar, dnp3: BusSidecar }).prefault({});

/**
 * `[cas]` (Milestone 17): signed, content-addressed updates under `/updates/<epoch>/`. The store is a
 * fixed slab of `max_bytes` (chunks shared by epochs, so a delta reuses its base's chunks); a chunk is
 * one Twrite of at most `chunk_bytes`; every manifest is verified against `update_keys` (Ed25519).
 */
export const CAS_DEFAULTS = {
  enable: false,
  store: { chunk_bytes: 4096, max_bytes: 2097152, max_epochs: 4, max_chunks: 512 },
  delta: { enable: true },
  signing: { required: true },
  update_keys: [] as { issuer: string; public_key: string }[],
};
const Cas = z.strictObject({
  enable: z.boolean().default(false),
  store: z.strictObject({
    chunk_bytes: z.number().int().min(128).max(65536).default(CAS_DEFAULTS.store.chunk_bytes),
    max_bytes: posInt(1 << 26).default(CAS_DEFAULTS.store.max_bytes),
    max_epochs: posInt(16).default(CAS_DEFAULTS.store.max_epochs),
    max_chunks: posInt(4096).default(CAS_DEFAULTS.store.max_chunks),
  }).prefault({}),
  delta: z.strictObject({ enable: z.boolean().default(true) }).prefault({}),
  signing: z.strictObject({ required: z.boolean().default(true) }).prefault({}),
  update_keys: z.array(Ticket).max(8).default([]),
}).prefault({});

const ImageFile = z.strictObject({ src: z.string(), dest: z.string() });
const Image = z.strictObject({
  max_bytes: posInt(LIMITS.imageBytesMax),
  include_manifest: z.boolean().default(true),
  rootfs: z.array(ImageFile).max(64).default([]),
  esp: z.array(ImageFile).max(16).default([]),
});

/** The whole manifest. Required tables have no default. */
export const ManifestSchema = z.strictObject({
  meta: Meta,
  root_task: RootTask,
  profile: Profile,
  event_pump: EventPump,
  secure9p: Secure9p,
  console: Console,
  net: Net,
  features: Features,
  tickets: z.array(Ticket).max(16).default([]),
  namespaces: Namespaces,
  queen: Queen,
  workers: Workers,
  roles: z.array(Role).min(1).max(8),
  telemetry: Telemetry,
  telemetry_ingest: TelemetryIngest,
  sharding: Sharding,
  lifecycle: Lifecycle,
  observability: Observability,
  trace: Trace,
  log: Log,
  gpu: Gpu,
  ecosystem: Ecosystem,
  client_policies: ClientPolicies,
  sidecars: Sidecars,
  cas: Cas,
  image: Image,
});

/** The typed IR: a validated manifest with every default filled in. */
export type ManifestIR = z.infer<typeof ManifestSchema>;
export type Role = (typeof ROLES)[number];
