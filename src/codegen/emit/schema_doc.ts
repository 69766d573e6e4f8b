/**
 * The schema reference snippet: every manifest key with its type, what is allowed and its default,
 * read from the zod schema itself so the docs cannot disagree with the compiler.
 */
import { ManifestSchema, SCHEMA_VERSION } from "../schema.ts";

type Node = any;

interface Row {
  key: string;
  type: string;
  allowed: string;
  fallback: string;
}

function checks(node: Node): Record<string, unknown>[] {
  return (node._zod.def.checks ?? []).map((c: Node) => c._zod.def);
}

/** What the schema bounds cannot say: the red lines and formats checked in redlines.ts. */
const NOTES: Record<string, string> = {
  "root_task.schema": `exactly "${SCHEMA_VERSION}"`,
  "tickets[].public_key": "64 lowercase hex characters: a 32-byte Ed25519 public key on the curve",
  "namespaces.mounts[].at": "absolute; no empty, `.` or `..` component; depth <= secure9p.walk_depth",
  "roles[].rules[].path":
    "absolute; components, `*`, `**` (last only), `$self`, `$gpu`, `$shard` (the worker's shard label); depth <= secure9p.walk_depth; no `/worker` when sharding.legacy_worker_alias = false",
  "sharding.enabled": "needs secure9p.walk_depth >= 5",
  "sharding.legacy_worker_alias": "keeps `/worker/<id>` beside `/shard/<label>/worker/<id>`; needs walk_depth >= 3",
  "lifecycle.auto_transitions": "at most 8; only BOOTING -> ONLINE or BOOTING -> DEGRADED (one of them); applied once when boot completes",
  "observability.proc_ingest.watch": "needs p50_ms, p95_ms, backpressure, dropped and queued on",
  "observability.proc_ingest.watch_max_entries": "1..64",
  "observability.proc_ingest.latency_samples": "1..64",
  "observability.proc_ingest.watch_min_interval_ms": ">= 1",
  "telemetry.ring_bytes_per_worker": "> 0",
  "ecosystem.host.mount_at": "absolute, not `/`; no `..`; depth <= secure9p.walk_depth",
  "image.rootfs[].src": "relative to the repository root; no `..`",
  "image.rootfs[].dest": "absolute; no `..`; unique",
  "image.esp[].src": "relative to the repository root; no `..`",
  "image.esp[].dest": "absolute; no `..`; unique; not /EFI/BOOT/BOOTAA64.EFI",
};

function count(n: unknown, unit: string): string {
  if (n !== 1) return `${n} ${unit}`;
  return `${n} ${unit === "entries" ? "entry" : unit.replace(/s$/, "")}`;
}

function bounds(node: Node, unit: string): string {
  const parts: string[] = [];
  for (const c of checks(node)) {
    if (c.check === "greater_than") parts.push(`>= ${c.value}`);
    if (c.check === "less_than") parts.push(`<= ${c.value}`);
    if (c.check === "min_length") parts.push(`at least ${count(c.minimum, unit)}`);
    if (c.check === "max_length") parts.push(`at most ${count(c.maximum, unit)}`);
    if (c.check === "string_format" && c.format === "regex") parts.push(`matches \`${String(c.pattern)}\``);
  }
  return parts.join(", ");
}

function leafType(node: Node): { type: string; allowed: string } {
  const def = node._zod.def;
  switch (def.type) {
    case "number":
      return { type: "integer", allowed: bounds(node, "") };
    case "string":
      return { type: "string", allowed: bounds(node, "characters") };
    case "boolean":
      return { type: "bool", allowed: "true, false" };
    case "enum":
      return { type: "string", allowed: Object.values(def.entries).join(", ") };
    default:
      return { type: def.type, allowed: "" };
  }
}

function walk(node: Node, key: string, inherited: unknown, rows: Row[]): void {
  let own: unknown = undefined;
  // `prefault` (a table that may be absent) feeds `{}` through the inner schema: its keys keep their own defaults.
  while (node._zod.def.type === "default" || node._zod.def.type === "prefault") {
    if (node._zod.def.type === "default") own = node._zod.def.defaultValue;
    node = node._zod.def.innerType;
  }
  const fallback = own !== undefined ? own : inherited;
  const def = node._zod.def;
  if (def.type === "object") {
    for (const k of Object.keys(def.shape)) {
      const child = fallback && typeof fallback === "object" ? (fallback as Record<string, unknown>)[k] : undefined;
      walk(def.shape[k], key ? `${key}.${k}` : k, child, rows);
    }
    return;
  }
  if (def.type === "array" && def.element._zod.def.type === "object") {
    const size = bounds(node, "entries");
    rows.push({ key, type: "array of tables", allowed: size, fallback: fallback === undefined ? "required" : JSON.stringify(fallback) });
    walk(def.element, `${key}[]`, undefined, rows);
    return;
  }
  if (def.type === "array") {
    const el = leafType(def.element);
    const size = bounds(node, "entries");
    rows.push({
      key,
      type: `array of ${el.type}`,
      allowed: [el.allowed && `each: ${el.allowed}`, size].filter(Boolean).join("; "),
      fallback: fallback === undefined ? "required" : JSON.stringify(fallback),
    });
    return;
  }
  const leaf = leafType(node);
  const note = NOTES[key];
  if (note) leaf.allowed = leaf.allowed ? `${leaf.allowed}; ${note}` : note;
  rows.push({ key, ...leaf, fallback: fallback === undefined ? "required" : JSON.stringify(fallback) });
}

/** Snippet name (file `docs/snippets/manifest_schema.md`, markers `coh-rtc:manifest_schema`). */
export const SCHEMA_SNIPPET = "manifest_schema";

/** Renders the schema reference as Markdown (ends with LF). */
export function schemaSnippet(): string {
  const rows: Row[] = [];
  walk(ManifestSchema, "", undefined, rows);
  const esc = (s: string) => s.replaceAll("|", "\\|");
  return [
    `Manifest schema ${SCHEMA_VERSION}: every key, its type, what is allowed and its default ("required" when it has none).`,
    "Unknown keys are refused everywhere; `x[]` is an array of tables such as `[[x]]` or `x = [{ … }]`.",
    "",
    "| key | type | allowed | default |",
    "|---|---|---|---|",
    ...rows.map((r) => `| \`${r.key}\` | ${r.type} | ${esc(r.allowed)} | ${esc(r.fallback)} |`),
    "",
    `_Generated from src/codegen/schema.ts (schema ${SCHEMA_VERSION})._`,
    "",
  ].join("\n");
}
