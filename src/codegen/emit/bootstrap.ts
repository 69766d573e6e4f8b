/**
 * The guest bootstrap module (`src/guest/generated/bootstrap.ts`): the manifest's limits, ticket
 * verifying keys, namespace mounts and role table as plain data, so the hive boots from generated
 * tables instead of hand-written constants.
 */
import type { ResolvedManifest } from "../load.ts";
import {
  type BootConfig,
  type BusAdapterSpec,
  ecosystemLinked,
  ecosystemServicesOn,
  type NetConfig,
  type ObservabilitySpec,
} from "../../guest/boot.ts";
import { ipv4Bytes, keyId } from "../redlines.ts";
import { tsLiteral } from "./ts_literal.ts";

/** The adapters of every enabled `[sidecars.modbus|dnp3]` section, in manifest order. */
function busAdaptersValue(m: ResolvedManifest): BusAdapterSpec[] {
  const out: BusAdapterSpec[] = [];
  for (const protocol of ["modbus", "dnp3"] as const) {
    const sc = m.sidecars[protocol];
    if (!sc.enable) continue;
    for (const a of sc.adapters) {
      out.push({
        protocol,
        id: a.id,
        mountAt: sc.mount_at,
        mount: a.mount,
        scope: a.scope,
        link: a.link,
        baud: a.baud,
        spoolMaxEntries: a.spool.max_entries,
        spoolMaxBytes: a.spool.max_bytes,
      });
    }
  }
  return out;
}

/** The manifest as the guest's `BootConfig` (src/guest/boot.ts). */
export function bootConfigValue(m: ResolvedManifest): BootConfig {
  const s = m.secure9p;
  const b = m.workers.default_budget;
  const eco = m.ecosystem;
  return {
    manifestFingerprint: m.fingerprint,
    tickMs: m.event_pump.tick_ms,
    limits: {
      maxSessions: s.max_sessions,
      maxWorkers: m.profile.max_workers,
      maxMountsPerSession: m.namespaces.max_mounts_per_session,
      maxOpenPerSession: s.max_fids_per_session,
      maxCtlBytes: m.queen.max_ctl_bytes,
      maxCtlCommands: m.queen.max_ctl_commands,
      maxCatchUpTicks: m.event_pump.max_catch_up_ticks,
      msize: s.msize,
      maxWalk: s.walk_depth,
      maxTagsPerSession: s.tags_per_session,
      allowFidReuse: s.allow_fid_reuse,
    },
    telemetryRingBytes: m.telemetry.ring_bytes_per_worker,
    logRingBytes: m.log.queen_log_bytes,
    telemetryIngest: {
      maxDevices: m.telemetry_ingest.max_devices,
      maxSegments: m.telemetry_ingest.max_segments_per_device,
      maxSegmentBytes: m.telemetry_ingest.max_bytes_per_segment,
      maxDeviceBytes: m.telemetry_ingest.max_total_bytes_per_device,
      eviction: m.telemetry_ingest.eviction_policy === "refuse" ? 0 : 1,
      maxRecordBytes: 4096,
    },
    traceRingBytes: m.trace.ring_bytes,
    workerTraceRingBytes: m.trace.worker_ring_bytes,
    traceLevel: m.trace.default_level,
    traceCategories: [...m.trace.categories],
    defaultBudget: { ticks: b.ticks, ops: b.ops, ttlS: b.ttl_s },
    workerRetainS: m.workers.retain_s,
    gpus: m.features.gpu
      ? m.gpu.devices.map((d) => ({ id: d.id, model: d.model, memMb: d.mem_mb, streams: d.streams }))
      : [],
    roles: m.roles.map((r) => ({
      name: r.name,
      ticket: r.ticket,
      workerSubject: r.worker_subject,
      rules: r.rules.map((x) => ({ path: x.path, mode: x.mode })),
      quota: { ops: r.quota.ops, bytes: r.quota.bytes, fids: r.quota.fids },
    })),
    ticketKeys: m.tickets.map((t) => ({ kid: keyId(t.public_key), publicKey: t.public_key })),
    lifecycle: {
      initialState: m.lifecycle.initial_state,
      autoTransitions: m.lifecycle.auto_transitions.map((t) => ({ from: t.from, to: t.to })),
    },
    sharding: {
      enabled: m.sharding.enabled,
      shardBits: m.sharding.shard_bits,
      legacyWorkerAlias: m.sharding.legacy_worker_alias,
    },
    observability: observabilityValue(m),
    busAdapters: busAdaptersValue(m),
    cas: {
      enable: m.cas.enable,
      chunkBytes: m.cas.store.chunk_bytes,
      maxBytes: m.cas.store.max_bytes,
      maxEpochs: m.cas.store.max_epochs,
      maxChunks: m.cas.store.max_chunks,
      delta: m.cas.delta.enable,
    },
    updateKeys: m.cas.update_keys.map((k) => ({ kid: keyId(k.public_key), publicKey: k.public_key })),
    ecosystem: {
      gpuBridge: {
        enable: m.features.gpu && m.gpu.bridge.enable,
        maxGpus: m.gpu.bridge.max_gpus,
        maxModels: m.gpu.bridge.max_models,
        snapshotMaxBytes: m.gpu.bridge.snapshot_max_bytes,
        leaseQueue: m.gpu.bridge.lease_queue,
        adapterMaxBytes: m.gpu.bridge.adapter_max_bytes,
      },
      host: {
        enable: eco.host.enable,
        providers: [...eco.host.providers],
        mountAt: eco.host.mount_at,
        staleMs: eco.host.stale_ms,
        maxEntries: eco.host.max_entries,
      },
      policy: {
        enable: eco.policy.enable,
        queueMaxEntries: eco.policy.queue_max_entries,
        queueMaxBytes: eco.policy.queue_max_bytes,
        ctlMaxBytes: eco.policy.ctl_max_bytes,
        statusMaxBytes: eco.policy.status_max_bytes,
        rules: eco.policy.rules.map((r) => ({ id: r.id, target: r.target })),
      },
      audit: {
        enable: eco.audit.enable,
        journalMaxBytes: eco.audit.journal_max_bytes,
        decisionsMaxBytes: eco.audit.decisions_max_bytes,
        replayEnable: eco.audit.replay_enable,
        replayMaxEntries: eco.audit.replay_max_entries,
        replayCtlMaxBytes: eco.audit.replay_ctl_max_bytes,
        replayStatusMaxBytes: eco.audit.replay_status_max_bytes,
      },
    },
  };
}

/** `[observability.*]` as byte caps, 0 for a file the manifest leaves off. */
function observabilityValue(m: ResolvedManifest): ObservabilitySpec {
  const o = m.observability;
  const r = o.proc_root, se = o.proc_9p_session, p = o.proc_pressure, i = o.proc_ingest;
  const on = (enabled: boolean, bytes: number) => enabled ? bytes : 0;
  return {
    root: {
      reachable: on(r.reachable, r.reachable_bytes),
      lastSeenMs: on(r.last_seen_ms, r.last_seen_ms_bytes),
      cutReason: on(r.cut_reason, r.cut_reason_bytes),
    },
    session: {
      active: on(se.active, se.active_bytes),
      state: on(se.state, se.state_bytes),
      sinceMs: on(se.since_ms, se.since_ms_bytes),
      owner: on(se.owner, se.owner_bytes),
    },
    pressure: {
      busy: on(p.busy, p.busy_bytes),
      quota: on(p.quota, p.quota_bytes),
      cut: on(p.cut, p.cut_bytes),
      policy: on(p.policy, p.policy_bytes),
    },
    ingest: {
      p50Ms: on(i.p50_ms, i.p50_ms_bytes),
      p95Ms: on(i.p95_ms, i.p95_ms_bytes),
      backpressure: on(i.backpressure, i.backpressure_bytes),
      dropped: on(i.dropped, i.dropped_bytes),
      queued: on(i.queued, i.queued_bytes),
      watchMaxEntries: i.watch ? i.watch_max_entries : 0,
      watchLineBytes: i.watch_line_bytes,
      watchMinIntervalMs: i.watch_min_interval_ms,
      latencySamples: i.latency_samples,
      latencyToleranceMs: i.latency_tolerance_ms,
      counterTolerance: i.counter_tolerance,
    },
  };
}

/** The manifest's network settings for the native guest. */
export function netConfigValue(m: ResolvedManifest): NetConfig {
  const [addr, prefix] = m.net.mode === "static" && m.net.address !== undefined
    ? [ipv4Bytes(m.net.address.split("/")[0]) ?? [0, 0, 0, 0], Number(m.net.address.split("/")[1])]
    : [[0, 0, 0, 0], 0];
  return {
    enabled: m.features.net_console,
    consolePort: m.console.net_port,
    ninepPort: m.console.ninep_port,
    maxConsoles: m.console.max_sessions,
    maxNinep: m.secure9p.max_sessions,
    mode: m.net.mode,
    address: addr,
    prefix,
    gateway: m.net.gateway === undefined ? [0, 0, 0, 0] : ipv4Bytes(m.net.gateway) ?? [0, 0, 0, 0],
  };
}

/**
 * The expression that builds the native guest's extension: null when no [ecosystem]-like service is
 * on; with `[cas]`, update manifests are verified by the platform (libsodium behind a mailbox).
 */
export function extensionSource(boot: BootConfig, bootName: string): string {
  if (!ecosystemLinked(boot)) return "null";
  const check = boot.cas.enable ? `new PlatformUpdateSignatureCheck(${bootName}.updateKeys, ${bootName}.cas.maxChunks)` : "";
  return `new ${extensionClass(boot)}(${check})`;
}

/** The extension class a build links: the whole [ecosystem] set, or /updates alone when only [cas] is on. */
export function extensionClass(boot: BootConfig): "EcosystemProviders" | "CasProviders" {
  return ecosystemServicesOn(boot) ? "EcosystemProviders" : "CasProviders";
}

/** The import line of that class, with `prefix` the path to src/guest/ninedoor/. */
export function extensionImports(boot: BootConfig, prefix: string, updatesPrefix: string): string[] {
  if (!ecosystemLinked(boot)) return [];
  const cls = extensionClass(boot);
  const file = cls === "EcosystemProviders" ? "ecosystem.ts" : "cas_extension.ts";
  return [
    `import { ${cls} } from "${prefix}${file}";`,
    ...(boot.cas.enable ? [`import { PlatformUpdateSignatureCheck } from "${updatesPrefix}platform_signature_check.ts";`] : []),
  ];
}

/** Renders the module text. `source` is the manifest path shown in the header. */
export function bootstrapModule(m: ResolvedManifest, source: string): string {
  // The native guest links the [ecosystem] providers only when the manifest enables one of them.
  const boot = bootConfigValue(m);
  const eco = ecosystemLinked(boot);
  return [
    `// Generated by cohesix rtc from ${source}. Do not edit: change the manifest and run 'cohesix rtc'.`,
    `// Manifest fingerprint (sha256 of the resolved JSON): ${m.fingerprint}`,
    "",
    `import type { BootConfig, NetConfig } from "../boot.ts";`,
    `import type { NamespaceExtension } from "../ninedoor/extension.ts";`,
    ...extensionImports(boot, "../ninedoor/", "../updates/"),
    "",
    `/** SHA-256 of the resolved manifest; the hive prints it in /proc/boot. */`,
    `export const MANIFEST_FINGERPRINT = ${JSON.stringify(m.fingerprint)};`,
    "",
    `/** Boot tables compiled from the manifest (profile ${m.profile.name}). */`,
    `export const BOOT_CONFIG: BootConfig = ${tsLiteral(bootConfigValue(m))};`,
    "",
    `/** The native guest's network: ports, connection limits, DHCP or a static address. */`,
    `export const NET_CONFIG: NetConfig = ${tsLiteral(netConfigValue(m))};`,
    "",
    eco
      ? `/** Providers linked beyond NineDoor's own: the manifest enables [ecosystem] services or [cas]. */`
      : `/** Providers linked beyond NineDoor's own: none ([ecosystem] is off, its code is not linked). */`,
    `export const NAMESPACE_EXTENSION: NamespaceExtension | null = ${extensionSource(boot, "BOOT_CONFIG")};`,
    "",
  ].join("\n");
}
