/**
 * Markdown snippets for the docs: the namespace and role tables, the limits table and the list of
 * every resolved key. Each ends with a line naming the manifest and its fingerprint.
 */
import type { ResolvedManifest } from "../load.ts";

export const SNIPPET_KINDS = ["namespace", "limits", "manifest"] as const;
export type SnippetKind = (typeof SNIPPET_KINDS)[number];

const GATES: Record<string, string> = {
  gpu: "features.gpu",
  host: "ecosystem.host.enable",
  shard: "sharding.enabled",
};

function footer(m: ResolvedManifest, source: string): string {
  return `_Generated from ${source} (sha256: ${m.fingerprint})._`;
}

function table(header: string[], rows: (string | number | boolean)[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map((c) => String(c).replaceAll("|", "\\|")).join(" | ")} |`),
  ];
}

function namespaceSnippet(m: ResolvedManifest): string[] {
  const mounts = table(
    ["service", "mounted at", "present when"],
    m.namespaces.mounts.map((x) => [x.service, `\`${x.at}\``, GATES[x.service] ? `\`${GATES[x.service]}\`` : "always"]),
  );
  const roles = table(
    ["role", "ticket", "rule", "mode"],
    m.roles.flatMap((r) => r.rules.map((p) => [r.name, r.ticket, `\`${p.path}\``, p.mode])),
  );
  const eco = m.ecosystem;
  const optional = [
    `- \`${eco.host.mount_at}\` (host providers: ${eco.host.providers.join(", ") || "none"}): ${eco.host.enable ? "enabled" : "off"} (\`ecosystem.host.enable\`)`,
    `- \`/audit/{journal,decisions,export}\` (journal ${eco.audit.journal_max_bytes} bytes, decisions ${eco.audit.decisions_max_bytes} bytes; oldest records dropped and counted): ${eco.audit.enable ? "enabled" : "off"} (\`ecosystem.audit.enable\`)`,
    `- \`/replay/{ctl,status}\` (${eco.audit.replay_max_entries} control actions): ${eco.audit.enable && eco.audit.replay_enable ? "enabled" : "off"} (\`ecosystem.audit.replay_enable\`)`,
    `- \`/policy/{ctl,rules,preflight/{req,diff}}\`, \`/actions/{queue,<id>/status}\` (${eco.policy.queue_max_entries} approvals, queue writes <= ${eco.policy.queue_max_bytes} bytes): ${eco.policy.enable ? "enabled" : "off"} (\`ecosystem.policy.enable\`)`,
    ...eco.policy.rules.map((r) => `  - rule \`${r.id}\`: a write to \`${r.target}\` needs an approval in \`/actions/queue\``),
    `- models: ${eco.models.enable ? "enabled" : "off"} (\`ecosystem.models.enable\`)`,
    `- \`/gpu/bridge/{ctl,status}\`, \`/gpu/<uuid>/info\`, \`/gpu/<id>/lease\` (gpu-lease/v1, <= 1024 bytes), LEASE queue (${m.gpu.bridge.lease_queue} per GPU), gpu-breadcrumb/v1 on \`/gpu/<id>/status\` (<= 512 bytes), \`/gpu/models/{available,active}\`, \`/gpu/telemetry/schema.json\`, \`/queen/export/lora_jobs/\` (snapshots <= ${m.gpu.bridge.snapshot_max_bytes} bytes, ${m.gpu.bridge.max_gpus} GPUs, ${m.gpu.bridge.max_models} models; adapters <= ${m.gpu.bridge.adapter_max_bytes} bytes): ${m.features.gpu && m.gpu.bridge.enable ? "enabled" : "off"} (\`gpu.bridge.enable\`)`,
    ...observabilityLines(m),
  ];
  const sh = m.sharding;
  const lc = m.lifecycle;
  const layout = sh.enabled
    ? `Workers live at \`/shard/<label>/worker/<id>/telemetry\` (${2 ** sh.shard_bits} labels: byte 0 of sha256(id) >> ${
      8 - sh.shard_bits}, two hex digits)${sh.legacy_worker_alias ? "; `/worker/<id>/telemetry` is an alias of the same file" : ""}.`
    : "Workers live at `/worker/<id>/telemetry` (sharding off).";
  const auto = lc.auto_transitions.map((t) => `${t.from} -> ${t.to}`).join(", ") || "none";
  return [
    `Namespace of profile \`${m.profile.name}\` (role isolation ${m.namespaces.role_isolation ? "on" : "off"}):`,
    "",
    ...mounts,
    "",
    layout,
    "",
    `Lifecycle: boots in ${lc.initial_state}; automatic at boot completion: ${auto}. ` +
    "`/proc/lifecycle/{state,reason,since}`, `/queen/lifecycle/ctl` (cordon, drain, resume, quiesce, reset).",
    "",
    "Ecosystem surfaces appear only when enabled:",
    "",
    ...optional,
    "",
    "Role table (`$self` is the session's worker id, `$gpu` its leased GPU, `$shard` its shard label, `*` one component, `**` a subtree):",
    "",
    ...roles,
  ];
}

/** The gated /proc files: each one on (with its byte cap) or off. */
function observabilityLines(m: ResolvedManifest): string[] {
  const o = m.observability as unknown as Record<string, Record<string, number | boolean>>;
  const dirs: [string, string, string[]][] = [
    ["proc_root", "/proc/root", ["reachable", "last_seen_ms", "cut_reason"]],
    ["proc_9p_session", "/proc/9p/session", ["active", "state", "since_ms", "owner"]],
    ["proc_pressure", "/proc/pressure", ["busy", "quota", "cut", "policy"]],
    ["proc_ingest", "/proc/ingest", ["p50_ms", "p95_ms", "backpressure", "dropped", "queued"]],
  ];
  const lines = dirs.map(([section, dir, nodes]) => {
    const on = nodes.filter((n) => o[section][n] === true).map((n) => `${n} <= ${o[section][`${n}_bytes`]} B`);
    return `- \`${dir}\`: ${on.length > 0 ? on.join(", ") : "off"} (\`observability.${section}\`)`;
  });
  const pi = m.observability.proc_ingest;
  lines.push(
    `- \`/proc/ingest/watch\`: ${
      pi.watch
        ? `${pi.watch_max_entries} lines of <= ${pi.watch_line_bytes} B, one per >= ${pi.watch_min_interval_ms} ms when a value moves`
        : "off"
    } (\`observability.proc_ingest.watch\`)`,
  );
  return lines;
}

function limitsSnippet(m: ResolvedManifest): string[] {
  const s = m.secure9p;
  const b = m.budget;
  return table(["limit", "value"], [
    ["`secure9p.msize`", `${s.msize} bytes (red line: <= 8192)`],
    ["`secure9p.walk_depth`", `${s.walk_depth} (red line: <= 8)`],
    ["`secure9p.tags_per_session`", s.tags_per_session],
    ["`secure9p.batch_frames`", s.batch_frames],
    ["`secure9p.max_sessions`", s.max_sessions],
    ["`secure9p.max_fids_per_session`", s.max_fids_per_session],
    ["`secure9p.short_write.policy`", s.short_write.policy],
    ["`event_pump.tick_ms`", m.event_pump.tick_ms],
    ["`profile.max_workers`", m.profile.max_workers],
    ["`event_pump.max_catch_up_ticks`", m.event_pump.max_catch_up_ticks],
    ["`namespaces.max_mounts_per_session`", m.namespaces.max_mounts_per_session],
    ["`queen.max_ctl_bytes`", m.queen.max_ctl_bytes],
    ["`queen.max_ctl_commands`", m.queen.max_ctl_commands],
    ["`workers.default_budget`", `ticks ${m.workers.default_budget.ticks}, ops ${m.workers.default_budget.ops}, ttl ${m.workers.default_budget.ttl_s} s`],
    ["`telemetry.ring_bytes_per_worker`", m.telemetry.ring_bytes_per_worker],
    ["`trace.ring_bytes`", m.trace.ring_bytes],
    ["`trace.worker_ring_bytes`", m.trace.worker_ring_bytes],
    ["`log.queen_log_bytes`", m.log.queen_log_bytes],
    ["`image.max_bytes`", m.image.max_bytes],
    ["memory budget used", `${b.total} of ${b.limit} bytes`],
  ]);
}

/** Flattens the resolved manifest into `key = value` pairs, sorted by key. */
function flatten(value: unknown, prefix: string, out: [string, string][]): void {
  if (Array.isArray(value)) {
    if (value.length === 0) out.push([prefix, "[]"]);
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (value !== null && typeof value === "object") {
    for (const k of Object.keys(value).sort()) {
      flatten((value as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k, out);
    }
  } else out.push([prefix, JSON.stringify(value)]);
}

function manifestSnippet(m: ResolvedManifest): string[] {
  const pairs: [string, string][] = [];
  flatten(JSON.parse(m.resolvedJson).manifest, "", pairs);
  return pairs.map(([k, v]) => `- \`${k}\`: \`${v}\``);
}

/** Renders one snippet, ending with the generated-from line and a final LF. */
export function snippet(kind: SnippetKind, m: ResolvedManifest, source: string): string {
  const body = kind === "namespace" ? namespaceSnippet(m) : kind === "limits" ? limitsSnippet(m) : manifestSnippet(m);
  return [...body, "", footer(m, source), ""].join("\n");
}
