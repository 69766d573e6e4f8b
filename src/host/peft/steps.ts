/**
 * The four `cohesix peft` steps. Each checks everything before it changes anything, and logs itself
 * in the registry's log.jsonl; the hive audits activations in /log/queen.log.
 * - export: /queen/export/lora_jobs/<job>/{telemetry.cbor,base_model.ref,policy.toml} -> <out>/<job>/
 *   plus export.json (sizes, sha256, records); the job directory is replaced whole (re-export = same bytes).
 * - import: an adapter file into the registry (sha256-named blob + manifest.toml), refused when empty,
 *   over the manifest's [gpu.bridge] adapter_max_bytes, or not matching --sha256; then published.
 * - activate: publishes the registry's models and points /gpu/models/active at one of them.
 * - rollback: points /gpu/models/active back at the previously active model.
 */
import { basename, join } from "node:path";
import { decode } from "cbor-x";
import { ENOENT } from "../../secure9p/errors.ts";
import { NineError } from "../../secure9p/host/client.ts";
import type { HiveLink } from "../cli/hive_link.ts";
import { MODEL_ID, publishSnapshot, sha256Hex, SNAPSHOT_LIMITS } from "../gpu/snapshot.ts";
import { type AdapterManifest, manifestToml, PeftError, type Registry } from "./registry.ts";

export const JOB_ID = /^[A-Za-z0-9._:-]{1,32}$/;
const EXPORT_FILES = ["telemetry.cbor", "base_model.ref", "policy.toml"] as const;

export interface ExportReport {
  job: string;
  dir: string;
  files: Record<string, { bytes: number; sha256: string }>;
  records: number;
  base_model: string;
}

export async function exportJob(link: HiveLink, reg: Registry, job: string, out: string): Promise<ExportReport> {
  if (!JOB_ID.test(job)) throw new PeftError(`job id '${job}' is not 1..32 characters of [A-Za-z0-9._:-]`);
  const got: Record<string, Uint8Array> = {};
  for (const f of EXPORT_FILES) {
    try {
      got[f] = await link.readFrom(`/queen/export/lora_jobs/${job}/${f}`, 0);
    } catch (e) {
      if (e instanceof NineError && e.errno === ENOENT) {
        throw new PeftError(`the hive has no finished LoRA job '${job}' (see /queen/export/lora_jobs; jobs come from 'cohesix run --lora-job')`);
      }
      throw e;
    }
  }
  let records: unknown;
  try {
    records = decode(got["telemetry.cbor"]);
  } catch (e) {
    throw new PeftError(`telemetry.cbor of job '${job}' is not CBOR (${(e as Error).message}); nothing written`);
  }
  if (!Array.isArray(records) || records.some((r) => typeof r !== "string")) {
    throw new PeftError(`telemetry.cbor of job '${job}' is not an array of text records; nothing written`);
  }
  const base = new TextDecoder().decode(got["base_model.ref"]).trim();
  const files: ExportReport["files"] = {};
  for (const f of EXPORT_FILES) files[f] = { bytes: got[f].length, sha256: sha256Hex(got[f]) };
  const dir = join(out, job);
  const tmp = `${dir}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  for (const f of EXPORT_FILES) await Deno.writeFile(join(tmp, f), got[f]);
  const report: ExportReport = { job, dir, files, records: records.length, base_model: base };
  await Deno.writeTextFile(join(tmp, "export.json"), JSON.stringify({ version: 1, job, base_model: base, records: records.length, files }, null, 2) + "\n");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, dir);
  await reg.log({ step: "export", job, dir, records: records.length, files });
  return report;
}

export interface ImportOptions {
  model: string;
  from: string;
  sha256?: string;
  baseModel?: string;
  loraJob?: string;
  maxBytes: number;
}

export async function importAdapter(link: HiveLink, reg: Registry, o: ImportOptions): Promise<AdapterManifest> {
  if (!MODEL_ID.test(o.model)) throw new PeftError(`model id '${o.model}' is not [A-Za-z0-9._-]{1,48}`);
  if (o.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(o.sha256)) throw new PeftError(`--sha256 must be 64 lowercase hex digits`);
  let size: number;
  try {
    const st = await Deno.stat(o.from);
    if (!st.isFile) throw new PeftError(`${o.from} is not a file; give the adapter file (e.g. adapter_model.safetensors)`);
    size = st.size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new PeftError(`no adapter at ${o.from}`);
    throw e;
  }
  // The bound is checked on the size first: an oversize adapter is never read.
  if (size === 0) throw new PeftError(`adapter ${o.from} is empty; nothing imported`);
  if (size > o.maxBytes) {
    throw new PeftError(`adapter ${o.from} is ${size} bytes, over the manifest's [gpu.bridge] adapter_max_bytes ${o.maxBytes}; nothing imported`);
  }
  const bytes = await Deno.readFile(o.from);
  const hex = sha256Hex(bytes);
  if (o.sha256 !== undefined && o.sha256 !== hex) {
    throw new PeftError(`adapter ${o.from} has sha256 ${hex}, not the expected ${o.sha256}; nothing imported`);
  }
  let base = o.baseModel;
  let job = o.loraJob;
  // An export directory beside the adapter names the base model and the job.
  const exportJson = join(o.from, "..", "export.json");
  try {
    const ex = JSON.parse(await Deno.readTextFile(exportJson));
    base ??= ex.base_model;
    job ??= ex.job;
  } catch { /* no export beside it */ }
  const m: AdapterManifest = {
    id: o.model,
    adapter_sha256: hex,
    adapter_bytes: bytes.length,
    base_model: base ?? "none",
    source: basename(o.from),
    ...(job ? { lora_job: job } : {}),
  };
  const existing = await reg.manifest(o.model);
  if (existing !== null && !existing.includes(`adapter_sha256 = "${hex}"`)) {
    throw new PeftError(`model '${o.model}' is already in the registry with other adapter bytes; import under a new model id`);
  }
  const models = (await reg.models()).filter((x) => x.id !== o.model);
  models.push({ id: o.model, manifest: manifestToml(m) });
  models.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (models.length > SNAPSHOT_LIMITS.models) {
    throw new PeftError(`the registry would hold ${models.length} models; the hive shows at most ${SNAPSHOT_LIMITS.models}`);
  }
  // The hive takes the new set first; only then does the registry change (no half-imported model).
  await publishSnapshot(link, { gpus: null, models });
  await reg.store(hex, bytes, m);
  await reg.log({ step: "import", model: o.model, sha256: hex, bytes: bytes.length, base_model: m.base_model, source: o.from });
  return m;
}

async function point(link: HiveLink, reg: Registry, model: string): Promise<void> {
  await publishSnapshot(link, { gpus: null, models: await reg.models() });
  try {
    await link.writeLines("/gpu/models/active", [model]);
  } catch (e) {
    if (e instanceof NineError) throw new PeftError(`the hive refused to activate '${model}' (${e.message})`);
    throw e;
  }
}

export async function activate(link: HiveLink, reg: Registry, model: string): Promise<{ model: string; previous: string | null }> {
  if (!MODEL_ID.test(model) || !(await reg.has(model))) {
    throw new PeftError(`no model '${model}' in the registry ${reg.root}; import it first with 'cohesix peft import'`);
  }
  const st = await reg.state();
  const previous = st.history.at(-1) ?? null;
  await point(link, reg, model);
  if (previous !== model) st.history.push(model);
  await reg.saveState(st);
  await reg.log({ step: "activate", model, previous });
  return { model, previous };
}

export async function rollback(link: HiveLink, reg: Registry): Promise<{ model: string; from: string }> {
  const st = await reg.state();
  if (st.history.length < 2) {
    throw new PeftError(`nothing to roll back to: ${st.history.length === 0 ? "no model was activated" : `only '${st.history[0]}' was ever active`}`);
  }
  const from = st.history[st.history.length - 1];
  const model = st.history[st.history.length - 2];
  if (!(await reg.has(model))) throw new PeftError(`the previous model '${model}' is no longer in the registry`);
  await point(link, reg, model);
  st.history.pop();
  await reg.saveState(st);
  await reg.log({ step: "rollback", model, from });
  return { model, from };
}
