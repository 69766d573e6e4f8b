/**
 * Table-driven refusals: each case edits the valid fixture in one place and expects the exact
 * diagnostics (file:line: message) the compiler prints, in order.
 */
import { compileManifestText, ManifestError } from "../../src/codegen/mod.ts";
import { assert, assertEquals } from "../support/assert.ts";

const BASE = await Deno.readTextFile(new URL("./fixtures/base.toml", import.meta.url));
const QUEEN_KEY = "592fe4093dc3d37c730397f4f1133d4543b7e8306951066542558707bb8de380";
const ALL_TOP =
  "cas, client_policies, console, ecosystem, event_pump, features, gpu, image, lifecycle, log, meta, namespaces, net, observability, profile, queen, roles, root_task, secure9p, sharding, sidecars, telemetry, telemetry_ingest, tickets, trace, workers";

type Edit = [from: string, to: string];
interface Case {
  name: string;
  edits: Edit[];
  expected: string[];
}

/** Applies edits; each `from` must occur exactly once so a fixture change cannot silently skip a case. */
function edit(text: string, edits: Edit[]): string {
  for (const [from, to] of edits) {
    const at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`fixture edit '${from}' must match exactly once`);
    text = text.slice(0, at) + to + text.slice(at + from.length);
  }
  return text;
}

const APPEND = "streams = 2\n";
const HOST_MOUNT: Edit = ['{ service = "log", at = "/log" },', '{ service = "log", at = "/log" }, { service = "host", at = "/host" },'];

const NET = (table: string): Edit => ["[features]\n", `${table}\n[features]\n`];

const CASES: Case[] = [
  // The native network ([net], [console]).
  { name: "static address mode without an address", edits: [NET('[net]\nmode = "static"\n')], expected: ['bad.toml:23: net.mode = "static" needs net.address as a.b.c.d/prefix (prefix 1..30), got null'] },
  { name: "static address out of range", edits: [NET('[net]\nmode = "static"\naddress = "10.0.2.300/24"\n')], expected: ['bad.toml:25: net.mode = "static" needs net.address as a.b.c.d/prefix (prefix 1..30), got "10.0.2.300/24"'] },
  { name: "static gateway that is no address", edits: [NET('[net]\nmode = "static"\naddress = "10.0.2.15/24"\ngateway = "10.0.2"\n')], expected: ['bad.toml:26: net.gateway must be an address a.b.c.d, got "10.0.2"'] },
  { name: "address with DHCP", edits: [NET('[net]\nmode = "dhcp"\naddress = "10.0.2.15/24"\n')], expected: ['bad.toml:24: net.address and net.gateway are for net.mode = "static"; DHCP assigns them'] },
  { name: "unknown address mode", edits: [NET('[net]\nmode = "bootp"\n')], expected: ['bad.toml:24: net.mode "bootp" is not allowed (allowed: dhcp, static)'] },
  { name: "more TCP consoles than the hive keeps", edits: [NET("[console]\nmax_sessions = 8\n")], expected: ["bad.toml:24: console.max_sessions 8 exceeds maximum 7"] },
  // Red lines: Secure9P limits.
  { name: "msize over 8192", edits: [["msize = 8192", "msize = 9000"]], expected: ["bad.toml:16: secure9p.msize 9000 exceeds maximum 8192"] },
  { name: "walk depth over 8", edits: [["walk_depth = 8", "walk_depth = 9"]], expected: ["bad.toml:17: secure9p.walk_depth 9 exceeds maximum 8"] },
  { name: "zero tags per session", edits: [["tags_per_session = 16", "tags_per_session = 0"]], expected: ["bad.toml:18: secure9p.tags_per_session must be >= 1, got 0"] },
  // Red lines: paths.
  { name: "'..' in a mount", edits: [['at = "/proc"', 'at = "/proc/../etc"']], expected: ["bad.toml:38: namespace mount proc contains disallowed '..'"] },
  { name: "mount deeper than walk depth", edits: [['at = "/log"', 'at = "/a/b/c/d/e/f/g/h/i"']], expected: ["bad.toml:39: namespace mount log exceeds walk depth 8"] },
  { name: "empty component in a mount", edits: [['at = "/log"', 'at = "/log//x"']], expected: ["bad.toml:39: namespace mount log contains empty path component"] },
  { name: "relative mount", edits: [['at = "/log"', 'at = "log"']], expected: ["bad.toml:39: namespace mount log 'log' must be an absolute path"] },
  { name: "two services at one path", edits: [['at = "/log"', 'at = "/proc"']], expected: ["bad.toml:39: namespace mount log at '/proc' is already mounted by proc"] },
  { name: "'..' in a role rule", edits: [['path = "/gpu/$gpu/job"', 'path = "/worker/../gpu"']], expected: ["bad.toml:56: role worker-gpu rule '/worker/../gpu' contains disallowed '..'"] },
  { name: "'..' in an image source", edits: [['src = "configs/generated/boot_v0.coh"', 'src = "../secrets/key"']], expected: ["bad.toml:73: image.rootfs[0].src contains disallowed '..'"] },
  { name: "** before the last component", edits: [['path = "/**"', 'path = "/**/x"']], expected: ["bad.toml:47: role queen rule '/**/x' uses ** before the last component"] },
  { name: "unknown placeholder", edits: [['path = "/worker/$self/telemetry"', 'path = "/worker/$me/telemetry"']], expected: ["bad.toml:55: role worker-gpu rule '/worker/$me/telemetry' uses unknown placeholder $me (allowed: $gpu, $self, $shard)"] },
  { name: "$self on a role without worker subjects", edits: [['path = "/**"', 'path = "/worker/$self"']], expected: ["bad.toml:47: role queen rule '/worker/$self' uses $self but roles.queen.worker_subject is false"] },
  { name: "rule outside every mount", edits: [['path = "/gpu/$gpu/job"', 'path = "/secret/x"']], expected: ["bad.toml:56: role worker-gpu rule '/secret/x' is not under any namespace mount (mounted: /proc, /log, /worker, /gpu)"] },
  {
    name: "per-session tables too large for a native guest",
    edits: [["max_sessions = 8", "max_sessions = 65"]],
    expected: ["bad.toml:21: secure9p.max_sessions × secure9p.max_fids_per_session is 2080 slots, over the 2048 a native (profile.kernel = true) guest table can hold; lower one of them"],
  },
  // Unknown keys and schema version.
  { name: "unknown top-level key", edits: [["# Valid base manifest for the rtc tests; each bad case edits one thing. Line numbers matter: keep stable.", 'colour = "blue"']], expected: [`bad.toml:1: unknown key colour (allowed: ${ALL_TOP})`] },
  {
    name: "misspelt key in a table",
    edits: [["batch_frames = 1", "batch_frame = 1"]],
    expected: [
      "bad.toml:15: missing required key secure9p.batch_frames (an integer)",
      "bad.toml:19: unknown key secure9p.batch_frame (allowed in secure9p: allow_fid_reuse, batch_frames, max_fids_per_session, max_sessions, msize, short_write, tags_per_session, walk_depth)",
    ],
  },
  {
    name: "schema version mismatch",
    edits: [['schema = "1.0"', 'schema = "2.0"']],
    expected: ["bad.toml:3: unsupported root_task.schema 2.0 (expected 1.0); this compiler reads schema 1.0 only: upgrade the manifest to 1.0 (compare with configs/root_task.toml) or use the cohesix release that wrote it"],
  },
  { name: "missing required table", edits: [["[event_pump]\ntick_ms = 1000\n", ""]], expected: ["bad.toml:1: missing required table [event_pump] (a table)"] },
  // Feature prerequisites and budgets.
  {
    name: "GPU surfaces with features.gpu off",
    edits: [["gpu = true", "gpu = false"]],
    expected: ["bad.toml:41: namespace mount gpu requires features.gpu = true", "bad.toml:50: role worker-gpu requires features.gpu = true"],
  },
  { name: "no console at all", edits: [["net_console = true", "net_console = false"]], expected: ["bad.toml:24: features.net_console and features.serial_console are both false; enable one so the hive has a console"] },
  { name: "worker subject without a required ticket", edits: [['ticket = "required"', 'ticket = "optional"']], expected: ['bad.toml:52: role worker-gpu sets worker_subject = true, which requires ticket = "required"'] },
  {
    name: "budgets over the profile's memory",
    edits: [["memory_bytes = 16777216", "memory_bytes = 1048576"]],
    expected: ["bad.toml:9: budgets need 1318912 bytes but profile.memory_bytes is 1048576 (frames 131072 + fid tables 16384 + telemetry 16384 + ingest 0 + trace 40960 + log 65536 + ecosystem 0 + cas 0 + objects 1048576); lower those sizes or raise profile.memory_bytes"],
  },
  { name: "ctl writes larger than a frame", edits: [[APPEND, `${APPEND}\n[queen]\nmax_ctl_bytes = 8180\n`]], expected: ["bad.toml:72: queen.max_ctl_bytes 8180 exceeds what one write can carry at secure9p.msize 8192 (8169 bytes after the 23-byte Twrite header)"] },
  { name: "ecosystem.host without providers", edits: [HOST_MOUNT, [APPEND, `${APPEND}\n[ecosystem.host]\nenable = true\n`]], expected: ["bad.toml:71: ecosystem.host.enable requires at least one entry in ecosystem.host.providers"] },
  { name: "ecosystem.host without its mount", edits: [[APPEND, `${APPEND}\n[ecosystem.host]\nenable = true\nproviders = ["systemd"]\n`]], expected: ['bad.toml:72: ecosystem.host.enable requires a namespace mount { service = "host", at = "/host" }'] },
  { name: "host mount with ecosystem.host off", edits: [HOST_MOUNT], expected: ["bad.toml:39: namespace mount host requires ecosystem.host.enable = true"] },
  {
    name: "ecosystem.host without role isolation",
    edits: [HOST_MOUNT, ["[namespaces]\n", "[namespaces]\nrole_isolation = false\n"], [APPEND, `${APPEND}\n[ecosystem.host]\nenable = true\nproviders = ["systemd"]\n`]],
    expected: ["bad.toml:73: ecosystem.host.enable requires namespaces.role_isolation = true"],
  },
  // [observability.proc_ingest] (reference red lines).
  { name: "ingest watch without the values it watches", edits: [[APPEND, `${APPEND}\n[observability.proc_ingest]\nwatch = true\n`]], expected: ["bad.toml:72: observability.proc_ingest.watch requires p50_ms, p95_ms, backpressure, dropped, and queued to be enabled"] },
  { name: "no ingest latency samples", edits: [[APPEND, `${APPEND}\n[observability.proc_ingest]\nlatency_samples = 0\n`]], expected: ["bad.toml:72: observability.proc_ingest.latency_samples must be >= 1"] },
  { name: "too many watch lines", edits: [[APPEND, `${APPEND}\n[observability.proc_ingest]\nwatch_max_entries = 65\n`]], expected: ["bad.toml:72: observability.proc_ingest.watch_max_entries 65 exceeds maximum 64"] },
  { name: "zero watch interval", edits: [[APPEND, `${APPEND}\n[observability.proc_ingest]\nwatch_min_interval_ms = 0\n`]], expected: ["bad.toml:72: observability.proc_ingest.watch_min_interval_ms must be >= 1"] },
  { name: "observability cap over 8192", edits: [[APPEND, `${APPEND}\n[observability.proc_root]\nreachable = true\nreachable_bytes = 9000\n`]], expected: ["bad.toml:73: observability.proc_root.reachable_bytes 9000 exceeds maximum 8192"] },
  { name: "audit replay without audit", edits: [[APPEND, `${APPEND}\n[ecosystem.audit]\nreplay_enable = true\n`]], expected: ["bad.toml:72: ecosystem.audit.replay_enable requires ecosystem.audit.enable = true"] },
  // [client_policies] (Milestone 15): a pool the hive cannot admit, a back-off above its ceiling, zero values.
  { name: "pool larger than the hive's sessions", edits: [[APPEND, `${APPEND}\n[client_policies.cohsh.pool]\ncontrol_sessions = 8\ntelemetry_sessions = 16\n`]], expected: ["bad.toml:71: client_policies.cohsh.pool opens 24 sessions (control_sessions + telemetry_sessions) but secure9p.max_sessions is 8"] },
  { name: "retry back-off above its ceiling", edits: [[APPEND, `${APPEND}\n[client_policies.retry]\nbackoff_ms = 3000\nceiling_ms = 2000\n`]], expected: ["bad.toml:72: client_policies.retry.backoff_ms 3000 exceeds ceiling_ms 2000"] },
  { name: "zero retry attempts", edits: [[APPEND, `${APPEND}\n[client_policies.retry]\nmax_attempts = 0\n`]], expected: ["bad.toml:72: client_policies.retry.max_attempts must be >= 1, got 0"] },
  // [cas] (Milestone 17).
  { name: "a CAS chunk larger than one Twrite", edits: [[APPEND, `${APPEND}\n[cas]\nenable = true\nupdate_keys = [{ issuer = "u", public_key = "6d6cd7d0f908b9a031c480aec196542419cd07668ea7b40b4390a061908a490e" }]\n[cas.store]\nchunk_bytes = 9000\n`]], expected: ["bad.toml:75: cas.store.chunk_bytes 9000 exceeds what one write can carry at secure9p.msize 8192 (8169 bytes after the 23-byte Twrite header): a chunk is one Twrite"] },
  { name: "a CAS store with more chunk slots than the guest can name", edits: [[APPEND, `${APPEND}\n[cas]\nenable = true\nupdate_keys = [{ issuer = "u", public_key = "6d6cd7d0f908b9a031c480aec196542419cd07668ea7b40b4390a061908a490e" }]\n[cas.store]\nchunk_bytes = 128\nmax_bytes = 8388608\n`]], expected: ["bad.toml:76: cas.store.max_bytes / cas.store.chunk_bytes is 65536 chunk slots, over the 32768 the guest's store can name; raise chunk_bytes or lower max_bytes"] },
  { name: "unsigned CAS updates", edits: [[APPEND, `${APPEND}\n[cas]\nenable = true\nupdate_keys = [{ issuer = "u", public_key = "6d6cd7d0f908b9a031c480aec196542419cd07668ea7b40b4390a061908a490e" }]\n[cas.signing]\nrequired = false\n`]], expected: ["bad.toml:75: cas.signing.required = false is not supported: every update manifest is verified against cas.update_keys"] },
  { name: "CAS without an update key", edits: [[APPEND, `${APPEND}\n[cas]\nenable = true\n`]], expected: ["bad.toml:71: cas.enable requires at least one [[cas.update_keys]] entry (the keys update manifests are signed with)"] },
  { name: "an update key that is also a ticket key", edits: [[APPEND, `${APPEND}\n[cas]\nenable = true\nupdate_keys = [{ issuer = "u", public_key = "592fe4093dc3d37c730397f4f1133d4543b7e8306951066542558707bb8de380" }]\n`]], expected: ["bad.toml:73: cas.update_keys[0] is also a ticket key (0c5fa304): keep update and ticket signing keys apart"] },
  { name: "a malformed update key", edits: [[APPEND, `${APPEND}\n[cas]\nenable = true\nupdate_keys = [{ issuer = "u", public_key = "abc" }]\n`]], expected: ["bad.toml:73: cas.update_keys[0].public_key must be 64 hex characters (a 32-byte Ed25519 public key), got 3"] },
  // [sidecars.*] (reference red lines).
  { name: "a bus sidecar without adapters", edits: [[APPEND, `${APPEND}\n[sidecars.modbus]\nenable = true\n`]], expected: ["bad.toml:72: modbus.enable requires at least one adapter"] },
  { name: "a duplicated sidecar scope", edits: [[APPEND, `${APPEND}\n[sidecars.modbus]\nenable = true\nadapters = [{ id = "a", mount = "a", scope = "s" }, { id = "b", mount = "b", scope = "s" }]\n`]], expected: ["bad.toml:73: modbus.adapters scope 's' is duplicated"] },
  { name: "a serial adapter at 0 baud", edits: [[APPEND, `${APPEND}\n[sidecars.dnp3]\nenable = true\nadapters = [{ id = "a", mount = "a", scope = "s", baud = 0 }]\n`]], expected: ["bad.toml:73: dnp3.adapters[].baud must be >= 1 for serial links"] },
  { name: "an adapter mount with a slash", edits: [[APPEND, `${APPEND}\n[sidecars.modbus]\nenable = true\nadapters = [{ id = "a", mount = "x/y", scope = "s" }]\n`]], expected: ["bad.toml:73: sidecars.modbus.adapters[0].mount must be free of '/' and '..'"] },
  // [ecosystem.policy] and [ecosystem.audit] (reference red lines: every cap >= 1, replay <= 256 entries).
  { name: "policy queue of zero entries", edits: [[APPEND, `${APPEND}\n[ecosystem.policy]\nenable = true\nqueue_max_entries = 0\n`]], expected: ["bad.toml:73: ecosystem.policy.queue_max_entries must be >= 1, got 0"] },
  { name: "replay window over 256 entries", edits: [[APPEND, `${APPEND}\n[ecosystem.audit]\nenable = true\nreplay_enable = true\nreplay_max_entries = 300\n`]], expected: ["bad.toml:74: ecosystem.audit.replay_max_entries 300 exceeds maximum 256"] },
  { name: "audit journal below one record", edits: [[APPEND, `${APPEND}\n[ecosystem.audit]\nenable = true\njournal_max_bytes = 100\n`]], expected: ["bad.toml:73: ecosystem.audit.journal_max_bytes must be >= 512, got 100"] },
  { name: "policy queue write larger than a frame", edits: [[APPEND, `${APPEND}\n[ecosystem.policy]\nenable = true\nqueue_max_bytes = 8180\n`]], expected: ["bad.toml:73: ecosystem.policy.queue_max_bytes 8180 exceeds one write (secure9p.msize 8192 - 23 header bytes = 8169)"] },
  { name: "policy rules with policy off", edits: [[APPEND, `${APPEND}\n[[ecosystem.policy.rules]]\nid = "r"\ntarget = "/queen/ctl"\n`]], expected: ["bad.toml:71: ecosystem.policy.rules need ecosystem.policy.enable = true (rules are only enforced by the policy gate)"] },
  {
    name: "policy rule ids twice and a ** target",
    edits: [[APPEND, `${APPEND}\n[ecosystem.policy]\nenable = true\n[[ecosystem.policy.rules]]\nid = "r"\ntarget = "/queen/ctl"\n[[ecosystem.policy.rules]]\nid = "r"\ntarget = "/queen/**"\n`]],
    expected: ["bad.toml:77: ecosystem.policy.rules id r is listed twice", "bad.toml:78: ecosystem.policy.rules[1] (r) target component '**' must be '*' or a name of [A-Za-z0-9._:-] (no '**' or placeholders)"],
  },
  { name: "policy rule target relative", edits: [[APPEND, `${APPEND}\n[ecosystem.policy]\nenable = true\n[[ecosystem.policy.rules]]\nid = "r"\ntarget = "queen/ctl"\n`]], expected: ["bad.toml:75: ecosystem.policy.rules[0] (r) target 'queen/ctl' must be an absolute path"] },
  { name: "policy rule id with a space", edits: [[APPEND, `${APPEND}\n[ecosystem.policy]\nenable = true\n[[ecosystem.policy.rules]]\nid = "a b"\ntarget = "/queen/ctl"\n`]], expected: ["bad.toml:74: ecosystem.policy.rules[0].id string \"a b\" has the wrong format (allowed: /^[A-Za-z0-9._:-]{1,32}$/)"] },
  {
    name: "telemetry_ingest half enabled",
    edits: [[APPEND, `${APPEND}\n[telemetry_ingest]\nmax_devices = 4\nmax_segments_per_device = 4\nmax_bytes_per_segment = 4096\n`]],
    expected: ["bad.toml:71: telemetry_ingest.* must be all zero (disabled) or all non-zero (enabled)"],
  },
  {
    name: "telemetry_ingest device total below one segment",
    edits: [[APPEND, `${APPEND}\n[telemetry_ingest]\nmax_devices = 4\nmax_segments_per_device = 4\nmax_bytes_per_segment = 4096\nmax_total_bytes_per_device = 4095\n`]],
    expected: ["bad.toml:75: telemetry_ingest.max_total_bytes_per_device 4095 must be >= max_bytes_per_segment 4096"],
  },
  { name: "image over 4 MiB", edits: [["max_bytes = 4194304", "max_bytes = 4194305"]], expected: ["bad.toml:72: image.max_bytes 4194305 exceeds maximum 4194304"] },
  // Type errors and enums.
  { name: "string where an integer belongs", edits: [["msize = 8192", 'msize = "8192"']], expected: ['bad.toml:16: secure9p.msize must be an integer, got string "8192"'] },
  { name: "float where an integer belongs", edits: [["tick_ms = 1000", "tick_ms = 1.5"]], expected: ["bad.toml:13: event_pump.tick_ms must be an integer, got float 1.5"] },
  { name: "string where a boolean belongs", edits: [["kernel = true", 'kernel = "yes"']], expected: ['bad.toml:8: profile.kernel must be true or false, got string "yes"'] },
  { name: "table where an array belongs", edits: [["mounts = [", "mounts_x = ["]], expected: ["bad.toml:36: missing required key namespaces.mounts (an array)", "bad.toml:37: unknown key namespaces.mounts_x (allowed in namespaces: max_mounts_per_session, mounts, role_isolation)"] },
  { name: "unknown platform", edits: [['platform = "qemu-virt-aarch64"', 'platform = "x86"']], expected: ['bad.toml:7: profile.platform "x86" is not allowed (allowed: qemu-virt-aarch64, rpi4-aarch64, jetson-orin-aarch64)'] },
  { name: "unknown access mode", edits: [['{ path = "/**", mode = "rw" }', '{ path = "/**", mode = "rwx" }']], expected: ['bad.toml:47: roles[0].rules[0].mode "rwx" is not allowed (allowed: r, w, rw)'] },
  { name: "unknown mount service", edits: [['service = "log"', 'service = "logs"']], expected: ['bad.toml:39: namespaces.mounts[1].service "logs" is not allowed (allowed: proc, log, queen, worker, shard, gpu, trace, host)'] },
  // Tickets.
  { name: "duplicate ticket key", edits: [['public_key = "df28ccb9ec377802cb706011690bd39adadc1ecaa4f42fe917b0836103fe4dec"', `public_key = "${QUEEN_KEY}"`]], expected: ["bad.toml:34: duplicate ticket entry: issuers dev-queen and dev-worker share key 0c5fa304"] },
  { name: "duplicate ticket issuer", edits: [['issuer = "dev-worker"', 'issuer = "dev-queen"']], expected: ["bad.toml:33: duplicate ticket entry for issuer dev-queen"] },
  { name: "key with uppercase hex", edits: [[QUEEN_KEY, QUEEN_KEY.toUpperCase()]], expected: ["bad.toml:30: tickets[0].public_key must be lowercase hex (a 32-byte Ed25519 public key), found a character outside 0-9a-f"] },
  { name: "key of the wrong length", edits: [[QUEEN_KEY, QUEEN_KEY.slice(2)]], expected: ["bad.toml:30: tickets[0].public_key must be 64 hex characters (a 32-byte Ed25519 public key), got 62"] },
  { name: "key that is not a curve point", edits: [[QUEEN_KEY, "ff".repeat(32)]], expected: ["bad.toml:30: tickets[0].public_key is not a valid Ed25519 public key (not a point on the curve)"] },
  {
    name: "roles that need tickets but no keys",
    edits: [[`[[tickets]]\nissuer = "dev-queen"\npublic_key = "${QUEEN_KEY}"\n\n[[tickets]]\nissuer = "dev-worker"\npublic_key = "df28ccb9ec377802cb706011690bd39adadc1ecaa4f42fe917b0836103fe4dec"\n`, ""]],
    expected: [
      'bad.toml:39: role queen has ticket = "optional" but [[tickets]] lists no verifying key',
      'bad.toml:44: role worker-gpu has ticket = "required" but [[tickets]] lists no verifying key',
    ],
  },
  // TOML syntax.
  { name: "TOML value missing", edits: [["msize = 8192", "msize = "]], expected: ["bad.toml:16: TOML syntax error at column 9: invalid value"] },
  { name: "TOML key defined twice", edits: [["tick_ms = 1000", "tick_ms = 1000\ntick_ms = 5"]], expected: ["bad.toml:14: TOML syntax error at column 1: trying to redefine an already defined table or value"] },
];

Deno.test("compileManifestText accepts the unedited fixture", () => {
  assertEquals(compileManifestText(BASE, "bad.toml").profile.name, "test-hive");
});

Deno.test("bad manifest table has at least 25 cases with distinct names", () => {
  assert(CASES.length >= 25, `only ${CASES.length} cases`);
  assertEquals(new Set(CASES.map((c) => c.name)).size, CASES.length);
});

for (const c of CASES) {
  Deno.test(`compileManifestText refuses ${c.name} with the exact message`, () => {
    let caught: unknown;
    try {
      compileManifestText(edit(BASE, c.edits), "bad.toml");
    } catch (err) {
      caught = err;
    }
    assert(caught instanceof ManifestError, `expected a ManifestError, got ${String(caught)}`);
    assertEquals(caught.message.split("\n"), c.expected);
  });
}
