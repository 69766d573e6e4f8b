/**
 * Red lines that relate several keys (the schema bounds cover single keys). Each rule yields the key
 * path it blames and one message; messages follow the reference compiler's wording where it has one.
 */
import { Point } from "@noble/ed25519";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { computeBudget } from "./budget.ts";
import { checkAbsolutePath, checkRelativePath, components, isUnder } from "./paths.ts";
import { type ManifestIR, MAX_AUTO_TRANSITIONS } from "./schema.ts";

export interface Violation {
  path: PropertyKey[];
  message: string;
}

const PLACEHOLDERS = ["$gpu", "$self", "$shard"];
/** Bytes of a Twrite header (size 4, type 1, tag 2, fid 4, offset 8, count 4): a ctl write must fit msize. */
const TWRITE_HEADER = 23;

/** Checks an Ed25519 public key written as 64 lowercase hex characters. */
export function checkPublicKey(hex: string, key: string): string | undefined {
  if (!/^[0-9a-f]*$/.test(hex)) {
    return `${key} must be lowercase hex (a 32-byte Ed25519 public key), found a character outside 0-9a-f`;
  }
  if (hex.length !== 64) {
    return `${key} must be 64 hex characters (a 32-byte Ed25519 public key), got ${hex.length}`;
  }
  try {
    Point.fromHex(hex);
  } catch {
    return `${key} is not a valid Ed25519 public key (not a point on the curve)`;
  }
  return undefined;
}

/** Key id the guest matches tickets by: first 4 bytes of sha256(raw public key), as hex. */
export function keyId(publicKeyHex: string): string {
  return bytesToHex(sha256(hexToBytes(publicKeyHex)).slice(0, 4));
}

function namespaceRules(ir: ManifestIR, out: Violation[]): void {
  const depth = ir.secure9p.walk_depth;
  const seen = new Map<string, string>();
  ir.namespaces.mounts.forEach((m, i) => {
    const label = `namespace mount ${m.service}`;
    const bad = checkAbsolutePath(m.at, { label, walkDepth: depth, notRoot: true });
    if (bad) out.push({ path: ["namespaces", "mounts", i, "at"], message: bad });
    const other = seen.get(m.at);
    if (other !== undefined) {
      out.push({ path: ["namespaces", "mounts", i, "at"], message: `${label} at '${m.at}' is already mounted by ${other}` });
    }
    seen.set(m.at, m.service);
    const need: Record<string, [boolean, string]> = {
      gpu: [ir.features.gpu, "features.gpu = true"],
      host: [ir.ecosystem.host.enable, "ecosystem.host.enable = true"],
    };
    const gate = need[m.service];
    if (gate && !gate[0]) out.push({ path: ["namespaces", "mounts", i, "service"], message: `${label} requires ${gate[1]}` });
    if (m.service === "host" && m.at !== ir.ecosystem.host.mount_at) {
      out.push({
        path: ["namespaces", "mounts", i, "at"],
        message: `${label} at '${m.at}' must match ecosystem.host.mount_at '${ir.ecosystem.host.mount_at}'`,
      });
    }
    if (m.service === "worker" && depth < 3) {
      out.push({ path: ["namespaces", "mounts", i, "service"], message: `${label} requires secure9p.walk_depth >= 3` });
    }
  });
}

/** The components of a rule before its first wildcard or placeholder. */
function literalPrefix(parts: string[]): string {
  const lit: string[] = [];
  for (const p of parts) {
    if (p === "*" || p === "**" || p.startsWith("$")) break;
    lit.push(p);
  }
  return "/" + lit.join("/");
}

function ruleChecks(ir: ManifestIR, role: ManifestIR["roles"][number], path: string, label: string): string[] {
  const bad = checkAbsolutePath(path, { label, walkDepth: ir.secure9p.walk_depth });
  if (bad) return [bad];
  const out: string[] = [];
  const parts = components(path);
  parts.forEach((part, k) => {
    if (part === "**" && k !== parts.length - 1) out.push(`${label} uses ** before the last component`);
    if (part.startsWith("$")) {
      if (!PLACEHOLDERS.includes(part)) {
        out.push(`${label} uses unknown placeholder ${part} (allowed: ${PLACEHOLDERS.join(", ")})`);
      } else if (part === "$self" && !role.worker_subject) {
        out.push(`${label} uses $self but roles.${role.name}.worker_subject is false`);
      } else if (part === "$shard" && !role.worker_subject) {
        out.push(`${label} uses $shard but roles.${role.name}.worker_subject is false`);
      } else if (part === "$shard" && !ir.sharding.enabled) {
        out.push(`${label} uses $shard but sharding.enabled is false`);
      } else if (part === "$gpu" && role.name !== "worker-gpu") {
        out.push(`${label} uses $gpu, which only role worker-gpu has`);
      }
    }
  });
  const prefix = literalPrefix(parts);
  const mounts = ir.namespaces.mounts.map((m) => m.at);
  if (prefix !== "/" && !mounts.some((at) => isUnder(prefix, at) || isUnder(at, prefix))) {
    out.push(`${label} is not under any namespace mount (mounted: ${mounts.join(", ")})`);
  }
  return out;
}

function roleRules(ir: ManifestIR, out: Violation[]): void {
  const seen = new Set<string>();
  ir.roles.forEach((role, i) => {
    if (seen.has(role.name)) out.push({ path: ["roles", i, "name"], message: `duplicate role entry ${role.name}` });
    seen.add(role.name);
    role.rules.forEach((rule, j) => {
      for (const message of ruleChecks(ir, role, rule.path, `role ${role.name} rule '${rule.path}'`)) {
        out.push({ path: ["roles", i, "rules", j, "path"], message });
      }
    });
    if (role.worker_subject && role.ticket !== "required") {
      out.push({
        path: ["roles", i, "worker_subject"],
        message: `role ${role.name} sets worker_subject = true, which requires ticket = "required"`,
      });
    }
    if (role.ticket !== "none" && ir.tickets.length === 0) {
      out.push({
        path: ["roles", i, "ticket"],
        message: `role ${role.name} has ticket = "${role.ticket}" but [[tickets]] lists no verifying key`,
      });
    }
    if (role.name === "worker-gpu" && !ir.features.gpu) {
      out.push({ path: ["roles", i, "name"], message: "role worker-gpu requires features.gpu = true" });
    }
    if (role.quota.fids > ir.secure9p.max_fids_per_session) {
      out.push({
        path: ["roles", i, "quota", "fids"],
        message: `role ${role.name} quota.fids ${role.quota.fids} exceeds secure9p.max_fids_per_session ${ir.secure9p.max_fids_per_session}`,
      });
    }
  });
  if (!seen.has("queen")) out.push({ path: ["roles"], message: "roles must include an entry for queen" });
}

function ticketRules(ir: ManifestIR, out: Violation[]): void {
  const issuers = new Set<string>();
  const keys = new Map<string, string>();
  ir.tickets.forEach((t, i) => {
    if (issuers.has(t.issuer)) {
      out.push({ path: ["tickets", i, "issuer"], message: `duplicate ticket entry for issuer ${t.issuer}` });
    }
    issuers.add(t.issuer);
    const bad = checkPublicKey(t.public_key, `tickets[${i}].public_key`);
    if (bad) return out.push({ path: ["tickets", i, "public_key"], message: bad });
    const other = keys.get(t.public_key);
    if (other !== undefined) {
      out.push({
        path: ["tickets", i, "public_key"],
        message: `duplicate ticket entry: issuers ${other} and ${t.issuer} share key ${keyId(t.public_key)}`,
      });
    }
    keys.set(t.public_key, t.issuer);
  });
}

function queenRules(ir: ManifestIR, out: Violation[]): void {
  const room = ir.secure9p.msize - TWRITE_HEADER;
  if (ir.queen.max_ctl_bytes > room) {
    out.push({
      path: ["queen", "max_ctl_bytes"],
      message: `queen.max_ctl_bytes ${ir.queen.max_ctl_bytes} exceeds what one write can carry at secure9p.msize ` +
        `${ir.secure9p.msize} (${room} bytes after the ${TWRITE_HEADER}-byte Twrite header)`,
    });
  }
}

/** "a.b.c.d" as four bytes, or null. */
export function ipv4Bytes(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255)) return null;
  return parts.map(Number);
}

function featureRules(ir: ManifestIR, out: Violation[]): void {
  const f = ir.features;
  if (!f.net_console && !f.serial_console) {
    out.push({
      path: ["features", "net_console"],
      message: "features.net_console and features.serial_console are both false; enable one so the hive has a console",
    });
  }
  if (f.gpu && ir.gpu.devices.length === 0) {
    out.push({ path: ["features", "gpu"], message: "features.gpu requires at least one [[gpu.devices]] entry" });
  }
  const ids = new Set<string>();
  ir.gpu.devices.forEach((d, i) => {
    if (ids.has(d.id)) out.push({ path: ["gpu", "devices", i, "id"], message: `gpu device ${d.id} is duplicated` });
    ids.add(d.id);
  });
  if (f.net_console && ir.console.net_port === ir.console.ninep_port) {
    out.push({ path: ["console", "ninep_port"], message: `console.net_port and console.ninep_port must differ (both ${ir.console.net_port})` });
  }
  const net = ir.net;
  if (net.mode === "static") {
    const m = net.address === undefined ? null : /^([0-9.]+)\/([0-9]+)$/.exec(net.address);
    const ok = m !== null && ipv4Bytes(m[1]) !== null && Number(m[2]) >= 1 && Number(m[2]) <= 30;
    if (!ok) {
      out.push({ path: ["net", "address"], message: `net.mode = "static" needs net.address as a.b.c.d/prefix (prefix 1..30), got ${JSON.stringify(net.address ?? null)}` });
    }
    if (net.gateway !== undefined && ipv4Bytes(net.gateway) === null) {
      out.push({ path: ["net", "gateway"], message: `net.gateway must be an address a.b.c.d, got ${JSON.stringify(net.gateway)}` });
    }
  } else if (net.address !== undefined || net.gateway !== undefined) {
    out.push({ path: ["net", "mode"], message: 'net.address and net.gateway are for net.mode = "static"; DHCP assigns them' });
  }
  if (ir.telemetry.ring_bytes_per_worker === 0) {
    out.push({ path: ["telemetry", "ring_bytes_per_worker"], message: "telemetry.ring_bytes_per_worker must be > 0" });
  }
  const ti = ir.telemetry_ingest;
  const tiKeys = ["max_devices", "max_segments_per_device", "max_bytes_per_segment", "max_total_bytes_per_device"] as const;
  const tiZero = tiKeys.filter((k) => ti[k] === 0);
  if (tiZero.length > 0 && tiZero.length < tiKeys.length) {
    out.push({ path: ["telemetry_ingest", tiZero[0]], message: "telemetry_ingest.* must be all zero (disabled) or all non-zero (enabled)" });
  } else if (tiZero.length === 0 && ti.max_total_bytes_per_device < ti.max_bytes_per_segment) {
    out.push({
      path: ["telemetry_ingest", "max_total_bytes_per_device"],
      message: `telemetry_ingest.max_total_bytes_per_device ${ti.max_total_bytes_per_device} must be >= max_bytes_per_segment ${ti.max_bytes_per_segment}`,
    });
  }
  const cats = new Set<string>();
  ir.trace.categories.forEach((c, i) => {
    if (cats.has(c)) out.push({ path: ["trace", "categories", i], message: `trace.categories lists ${c} twice` });
    cats.add(c);
  });
}

function ecosystemRules(ir: ManifestIR, out: Violation[]): void {
  const eco = ir.ecosystem;
  const bad = checkAbsolutePath(eco.host.mount_at, {
    label: "ecosystem.host.mount_at",
    walkDepth: ir.secure9p.walk_depth,
    notRoot: true,
  });
  if (bad) out.push({ path: ["ecosystem", "host", "mount_at"], message: bad });
  if (eco.host.enable) {
    if (!ir.namespaces.role_isolation) {
      out.push({ path: ["ecosystem", "host", "enable"], message: "ecosystem.host.enable requires namespaces.role_isolation = true" });
    }
    if (!ir.namespaces.mounts.some((m) => m.service === "host" && m.at === eco.host.mount_at)) {
      out.push({
        path: ["ecosystem", "host", "enable"],
        message: `ecosystem.host.enable requires a namespace mount { service = "host", at = "${eco.host.mount_at}" }`,
      });
    }
    if (eco.host.providers.length === 0) {
      out.push({ path: ["ecosystem", "host", "providers"], message: "ecosystem.host.enable requires at least one entry in ecosystem.host.providers" });
    }
  }
  if (eco.host.providers.includes("nvidia") && !ir.features.gpu) {
    out.push({ path: ["ecosystem", "host", "providers"], message: "ecosystem.host.providers nvidia requires features.gpu = true" });
  }
  if (eco.audit.replay_enable && !eco.audit.enable) {
    out.push({ path: ["ecosystem", "audit", "replay_enable"], message: "ecosystem.audit.replay_enable requires ecosystem.audit.enable = true" });
  }
  policyRuleChecks(ir, out);
  const pol = eco.policy;
  // A write must fit one Twrite frame, or the client splits it and the second half is a bad record.
  const room = ir.secure9p.msize - TWRITE_HEADER;
  for (const key of ["queue_max_bytes", "ctl_max_bytes"] as const) {
    if (pol.enable && pol[key] > room) {
      out.push({
        path: ["ecosystem", "policy", key],
        message: `ecosystem.policy.${key} ${pol[key]} exceeds one write (secure9p.msize ${ir.secure9p.msize} - ${TWRITE_HEADER} header bytes = ${room})`,
      });
    }
  }
  if (eco.audit.replay_enable && eco.audit.replay_ctl_max_bytes > room) {
    out.push({
      path: ["ecosystem", "audit", "replay_ctl_max_bytes"],
      message: `ecosystem.audit.replay_ctl_max_bytes ${eco.audit.replay_ctl_max_bytes} exceeds one write (secure9p.msize ${ir.secure9p.msize} - ${TWRITE_HEADER} header bytes = ${room})`,
    });
  }
  if (pol.rules.length > 0 && !pol.enable) {
    out.push({ path: ["ecosystem", "policy", "rules"], message: "ecosystem.policy.rules need ecosystem.policy.enable = true (rules are only enforced by the policy gate)" });
  }
  if (eco.models.enable && !ir.features.gpu) {
    out.push({ path: ["ecosystem", "models", "enable"], message: "ecosystem.models.enable requires features.gpu = true" });
  }
}

/** `[[ecosystem.policy.rules]]`: unique ids; targets are absolute globs of literals and `*` under a mount. */
function policyRuleChecks(ir: ManifestIR, out: Violation[]): void {
  const ids = new Set<string>();
  ir.ecosystem.policy.rules.forEach((rule, i) => {
    const label = `ecosystem.policy.rules[${i}] (${rule.id}) target`;
    if (ids.has(rule.id)) {
      out.push({ path: ["ecosystem", "policy", "rules", i, "id"], message: `ecosystem.policy.rules id ${rule.id} is listed twice` });
    }
    ids.add(rule.id);
    const bad = checkAbsolutePath(rule.target, { label, walkDepth: ir.secure9p.walk_depth, notRoot: true });
    if (bad) {
      out.push({ path: ["ecosystem", "policy", "rules", i, "target"], message: bad });
      return;
    }
    for (const part of components(rule.target)) {
      if (part === "*") continue;
      if (!/^[A-Za-z0-9._:-]+$/.test(part)) {
        out.push({
          path: ["ecosystem", "policy", "rules", i, "target"],
          message: `${label} component '${part}' must be '*' or a name of [A-Za-z0-9._:-] (no '**' or placeholders)`,
        });
      }
    }
    if (!ir.sharding.legacy_worker_alias && (rule.target === "/worker" || rule.target.startsWith("/worker/"))) {
      out.push({
        path: ["ecosystem", "policy", "rules", i, "target"],
        message: `${label} references legacy /worker paths while sharding.legacy_worker_alias is false`,
      });
    }
  });
}

function imageRules(ir: ManifestIR, out: Violation[]): void {
  for (const section of ["rootfs", "esp"] as const) {
    const dests = new Set<string>();
    ir.image[section].forEach((f, i) => {
      const src = checkRelativePath(f.src, `image.${section}[${i}].src`);
      if (src) out.push({ path: ["image", section, i, "src"], message: src });
      const dest = checkAbsolutePath(f.dest, { label: `image.${section}[${i}].dest`, notRoot: true });
      if (dest) out.push({ path: ["image", section, i, "dest"], message: dest });
      if (dests.has(f.dest)) {
        out.push({ path: ["image", section, i, "dest"], message: `image.${section} dest '${f.dest}' is listed twice` });
      }
      dests.add(f.dest);
      if (section === "esp" && f.dest.toUpperCase() === "/EFI/BOOT/BOOTAA64.EFI") {
        out.push({ path: ["image", section, i, "dest"], message: `image.esp dest '${f.dest}' is reserved for the boot loader` });
      }
    });
  }
}

/**
 * Under Porffor a typed array must fit one 16 KiB allocator page (src/secure9p/server.ts), so the
 * server's per-session tables hold at most this many slots on a native (profile.kernel) build.
 */
export const NATIVE_TABLE_SLOTS = 2048;

function nativeRules(ir: ManifestIR, out: Violation[]): void {
  if (!ir.profile.kernel) return;
  const s = ir.secure9p;
  for (const [key, per] of [["max_fids_per_session", s.max_fids_per_session], ["tags_per_session", s.tags_per_session]] as const) {
    const slots = s.max_sessions * per;
    if (slots > NATIVE_TABLE_SLOTS) {
      out.push({
        path: ["secure9p", key],
        message: `secure9p.max_sessions × secure9p.${key} is ${slots} slots, over the ${NATIVE_TABLE_SLOTS} a native ` +
          `(profile.kernel = true) guest table can hold; lower one of them`,
      });
    }
  }
}

function budgetRules(ir: ManifestIR, out: Violation[]): void {
  const b = computeBudget(ir);
  if (b.total > b.limit) {
    out.push({
      path: ["profile", "memory_bytes"],
      message: `budgets need ${b.total} bytes but profile.memory_bytes is ${b.limit} ` +
        `(frames ${b.frames} + fid tables ${b.fid_tables} + telemetry ${b.telemetry} + ingest ${b.ingest} + trace ${b.trace} + ` +
        `log ${b.log} + ecosystem ${b.ecosystem} + cas ${b.cas} + objects ${b.objects}); lower those sizes or raise profile.memory_bytes`,
    });
  }
}

/** `[sharding]` against the walk depth and the legacy `/worker` paths (reference compiler wording). */
function shardingRules(ir: ManifestIR, out: Violation[]): void {
  const sh = ir.sharding;
  const depth = ir.secure9p.walk_depth;
  if (sh.enabled && depth < 5) {
    out.push({ path: ["sharding", "enabled"], message: "sharding.enabled requires secure9p.walk_depth >= 5" });
  }
  if (sh.enabled && sh.legacy_worker_alias && depth < 3) {
    out.push({ path: ["sharding", "legacy_worker_alias"], message: "sharding.legacy_worker_alias requires secure9p.walk_depth >= 3" });
  }
  const legacy = !sh.enabled || sh.legacy_worker_alias;
  ir.namespaces.mounts.forEach((m, i) => {
    const worker = m.service === "worker" || m.at === "/worker" || m.at.startsWith("/worker/");
    if (worker && !legacy) {
      out.push({
        path: ["namespaces", "mounts", i, "at"],
        message: `namespace mount ${m.service} references legacy /worker paths while sharding.legacy_worker_alias is false`,
      });
    }
    if (m.service === "shard" && !sh.enabled) {
      out.push({ path: ["namespaces", "mounts", i, "service"], message: `namespace mount shard requires sharding.enabled = true` });
    }
  });
  ir.roles.forEach((role, i) => {
    role.rules.forEach((rule, j) => {
      if (!legacy && (rule.path === "/worker" || rule.path.startsWith("/worker/"))) {
        out.push({
          path: ["roles", i, "rules", j, "path"],
          message: `role ${role.name} rule '${rule.path}' references legacy /worker paths while sharding.legacy_worker_alias is false`,
        });
      }
    });
  });
}

/** `[lifecycle]`: only BOOTING -> ONLINE/DEGRADED may be automatic (reference compiler wording). */
function lifecycleRules(ir: ManifestIR, out: Violation[]): void {
  const auto = ir.lifecycle.auto_transitions;
  if (auto.length > MAX_AUTO_TRANSITIONS) {
    out.push({ path: ["lifecycle", "auto_transitions"], message: `lifecycle.auto_transitions exceeds max entries ${MAX_AUTO_TRANSITIONS}` });
  }
  const seen = new Set<string>();
  auto.forEach((t, i) => {
    const pair = `${t.from} -> ${t.to}`;
    if (t.from === t.to) {
      out.push({ path: ["lifecycle", "auto_transitions", i], message: `lifecycle.auto_transitions contains no-op ${pair}` });
    } else if (t.from !== "BOOTING" || (t.to !== "ONLINE" && t.to !== "DEGRADED")) {
      out.push({
        path: ["lifecycle", "auto_transitions", i],
        message: `lifecycle.auto_transitions contains unsupported ${pair} (only BOOTING -> ONLINE/DEGRADED allowed)`,
      });
    } else if (seen.has(pair)) {
      out.push({ path: ["lifecycle", "auto_transitions", i], message: `lifecycle.auto_transitions contains duplicate ${pair}` });
    } else if (seen.size > 0) {
      out.push({
        path: ["lifecycle", "auto_transitions", i],
        message: `lifecycle.auto_transitions contains conflicting ${pair} (BOOTING already leads to ${[...seen][0].split(" -> ")[1]})`,
      });
    }
    seen.add(pair);
  });
}

/** `[observability.proc_ingest]` (reference compiler wording). */
function observabilityRules(ir: ManifestIR, out: Violation[]): void {
  const pi = ir.observability.proc_ingest;
  const at = (key: string) => ["observability", "proc_ingest", key];
  if (pi.watch && !(pi.p50_ms && pi.p95_ms && pi.backpressure && pi.dropped && pi.queued)) {
    out.push({
      path: at("watch"),
      message: "observability.proc_ingest.watch requires p50_ms, p95_ms, backpressure, dropped, and queued to be enabled",
    });
  }
  const bounded = (key: "latency_samples" | "watch_max_entries", max: number) => {
    const v = pi[key];
    if (v < 1) out.push({ path: at(key), message: `observability.proc_ingest.${key} must be >= 1` });
    else if (v > max) out.push({ path: at(key), message: `observability.proc_ingest.${key} ${v} exceeds maximum ${max}` });
  };
  bounded("latency_samples", 64);
  bounded("watch_max_entries", 64);
  if (pi.watch_min_interval_ms < 1) {
    out.push({ path: at("watch_min_interval_ms"), message: "observability.proc_ingest.watch_min_interval_ms must be >= 1" });
  }
}

/** A pool the hive cannot admit, or a back-off that starts above its own ceiling, is refused here. */
function clientPolicyRules(ir: ManifestIR, out: Violation[]): void {
  const cp = ir.client_policies;
  const pool = cp.cohsh.pool;
  const sessions = pool.control_sessions + pool.telemetry_sessions;
  if (sessions > ir.secure9p.max_sessions) {
    out.push({
      path: ["client_policies", "cohsh", "pool"],
      message: `client_policies.cohsh.pool opens ${sessions} sessions (control_sessions + telemetry_sessions) but ` +
        `secure9p.max_sessions is ${ir.secure9p.max_sessions}`,
    });
  }
  if (cp.retry.backoff_ms > cp.retry.ceiling_ms) {
    out.push({
      path: ["client_policies", "retry", "backoff_ms"],
      message: `client_policies.retry.backoff_ms ${cp.retry.backoff_ms} exceeds ceiling_ms ${cp.retry.ceiling_ms}`,
    });
  }
}

/** The reference's sidecar red lines: adapters when enabled, unique scopes, serial baud, plain names. */
function sidecarRules(ir: ManifestIR, out: Violation[]): void {
  const scopes = new Set<string>();
  for (const label of ["modbus", "dnp3"] as const) {
    const sc = ir.sidecars[label];
    const at = (...k: (string | number)[]) => ["sidecars", label, ...k];
    if (sc.enable && sc.adapters.length === 0) out.push({ path: at("enable"), message: `${label}.enable requires at least one adapter` });
    const bad = checkAbsolutePath(sc.mount_at, { label: `sidecars.${label}.mount_at`, walkDepth: ir.secure9p.walk_depth, notRoot: true });
    if (bad) out.push({ path: at("mount_at"), message: bad });
    const own = new Set<string>();
    sc.adapters.forEach((a, i) => {
      for (const key of ["id", "mount", "scope"] as const) {
        if (a[key].includes("/") || a[key].includes("..")) {
          out.push({ path: at("adapters", i, key), message: `sidecars.${label}.adapters[${i}].${key} must be free of '/' and '..'` });
        }
      }
      if (own.has(a.scope)) out.push({ path: at("adapters", i, "scope"), message: `${label}.adapters scope '${a.scope}' is duplicated` });
      else if (scopes.has(a.scope)) out.push({ path: at("adapters", i, "scope"), message: `sidecar scope '${a.scope}' is duplicated` });
      own.add(a.scope);
      scopes.add(a.scope);
      if (a.link === "serial" && a.baud < 1) out.push({ path: at("adapters", i, "baud"), message: `${label}.adapters[].baud must be >= 1 for serial links` });
    });
  }
}

/** Chunk slots the guest's update store names in one table (32 bytes each, 1 MiB). */
const CAS_MAX_SLOTS = 32768;

/** `[cas]`: a chunk fits one Twrite, the slab holds a chunk, and every manifest is verified. */
function casRules(ir: ManifestIR, out: Violation[]): void {
  const c = ir.cas;
  const room = ir.secure9p.msize - TWRITE_HEADER;
  if (c.enable && c.store.chunk_bytes > room) {
    out.push({
      path: ["cas", "store", "chunk_bytes"],
      message: `cas.store.chunk_bytes ${c.store.chunk_bytes} exceeds what one write can carry at secure9p.msize ` +
        `${ir.secure9p.msize} (${room} bytes after the ${TWRITE_HEADER}-byte Twrite header): a chunk is one Twrite`,
    });
  }
  if (c.store.max_bytes < c.store.chunk_bytes) {
    out.push({ path: ["cas", "store", "max_bytes"], message: "cas.store.max_bytes must hold at least one chunk (cas.store.chunk_bytes)" });
  }
  // The guest keeps 32 bytes of name per chunk slot in one table, and Porffor corrupts tables over 1 MiB.
  const slots = Math.floor(c.store.max_bytes / c.store.chunk_bytes);
  if (slots > CAS_MAX_SLOTS) {
    out.push({
      path: ["cas", "store", "max_bytes"],
      message: `cas.store.max_bytes / cas.store.chunk_bytes is ${slots} chunk slots, over the ${CAS_MAX_SLOTS} the guest's ` +
        "store can name; raise chunk_bytes or lower max_bytes",
    });
  }
  if (!c.signing.required) {
    out.push({
      path: ["cas", "signing", "required"],
      message: "cas.signing.required = false is not supported: every update manifest is verified against cas.update_keys",
    });
  }
  if (c.enable && c.update_keys.length === 0) {
    out.push({ path: ["cas", "update_keys"], message: "cas.enable requires at least one [[cas.update_keys]] entry (the keys update manifests are signed with)" });
  }
  const ticketKeys = new Set(ir.tickets.map((t) => t.public_key));
  const issuers = new Set<string>();
  const keys = new Set<string>();
  c.update_keys.forEach((k, i) => {
    const at = ["cas", "update_keys", i];
    if (issuers.has(k.issuer)) out.push({ path: [...at, "issuer"], message: `duplicate cas.update_keys entry for issuer ${k.issuer}` });
    issuers.add(k.issuer);
    const bad = checkPublicKey(k.public_key, `cas.update_keys[${i}].public_key`);
    if (bad) return out.push({ path: [...at, "public_key"], message: bad });
    if (keys.has(k.public_key)) out.push({ path: [...at, "public_key"], message: `duplicate cas.update_keys key ${keyId(k.public_key)}` });
    keys.add(k.public_key);
    if (ticketKeys.has(k.public_key)) {
      out.push({
        path: [...at, "public_key"],
        message: `cas.update_keys[${i}] is also a ticket key (${keyId(k.public_key)}): keep update and ticket signing keys apart`,
      });
    }
  });
}

/** All red-line violations of a schema-valid manifest, in rule order. */
export function redLines(ir: ManifestIR): Violation[] {
  const out: Violation[] = [];
  namespaceRules(ir, out);
  roleRules(ir, out);
  ticketRules(ir, out);
  queenRules(ir, out);
  featureRules(ir, out);
  shardingRules(ir, out);
  lifecycleRules(ir, out);
  observabilityRules(ir, out);
  clientPolicyRules(ir, out);
  sidecarRules(ir, out);
  casRules(ir, out);
  ecosystemRules(ir, out);
  imageRules(ir, out);
  nativeRules(ir, out);
  budgetRules(ir, out);
  return out;
}
