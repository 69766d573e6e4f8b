/**
 * The host's LoRA adapter registry for `cohesix peft`: content-addressed and file-native.
 *   blobs/sha256/<hex>          adapter bytes, named by their digest
 *   models/<id>/manifest.toml   what the hive shows as /gpu/models/available/<id>/manifest.toml
 *   state.json                  activation history (last = active), for rollback
 *   log.jsonl                   one line per step (import, activate, rollback, export)
 * Every file is written to a temporary name and renamed, so a step either happened or did not.
 */
import { dirname, join } from "node:path";
import { homedir } from "node:os";
import { MODEL_ID, type ModelEntry } from "../gpu/snapshot.ts";

export interface RegistryState {
  version: 1;
  history: string[];
}

export interface AdapterManifest {
  id: string;
  adapter_sha256: string;
  adapter_bytes: number;
  base_model: string;
  source: string;
  lora_job?: string;
}

export class PeftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeftError";
  }
}

export function defaultRegistry(): string {
  return Deno.env.get("COHESIX_PEFT_REGISTRY") ?? join(homedir(), ".cohesix", "peft");
}

export async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** TOML with only string and integer values: the keys in a fixed order (same import, same bytes). */
export function manifestToml(m: AdapterManifest): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    "# cohesix peft adapter manifest (written by 'cohesix peft import')",
    `id = ${q(m.id)}`,
    `adapter_sha256 = ${q(m.adapter_sha256)}`,
    `adapter_bytes = ${m.adapter_bytes}`,
    `base_model = ${q(m.base_model)}`,
    `source = ${q(m.source)}`,
    ...(m.lora_job ? [`lora_job = ${q(m.lora_job)}`] : []),
    "",
  ].join("\n");
}

export class Registry {
  constructor(readonly root: string) {}

  blobPath(hex: string): string {
    return join(this.root, "blobs", "sha256", hex);
  }

  manifestPath(id: string): string {
    return join(this.root, "models", id, "manifest.toml");
  }

  async models(): Promise<ModelEntry[]> {
    const out: ModelEntry[] = [];
    try {
      for await (const e of Deno.readDir(join(this.root, "models"))) {
        if (!e.isDirectory || !MODEL_ID.test(e.name)) continue;
        const p = this.manifestPath(e.name);
        if (await exists(p)) out.push({ id: e.name, manifest: await Deno.readTextFile(p) });
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async has(id: string): Promise<boolean> {
    return await exists(this.manifestPath(id));
  }

  async manifest(id: string): Promise<string | null> {
    return (await exists(this.manifestPath(id))) ? await Deno.readTextFile(this.manifestPath(id)) : null;
  }

  async state(): Promise<RegistryState> {
    try {
      const s = JSON.parse(await Deno.readTextFile(join(this.root, "state.json"))) as RegistryState;
      if (s.version !== 1 || !Array.isArray(s.history)) throw new PeftError(`${this.root}/state.json is not a registry state (version 1)`);
      return s;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { version: 1, history: [] };
      throw e;
    }
  }

  async saveState(s: RegistryState): Promise<void> {
    await writeAtomic(join(this.root, "state.json"), JSON.stringify(s, null, 2) + "\n");
  }

  async log(step: Record<string, unknown>): Promise<void> {
    await Deno.mkdir(this.root, { recursive: true });
    const line = JSON.stringify({ ts: new Date().toISOString(), ...step }) + "\n";
    await Deno.writeTextFile(join(this.root, "log.jsonl"), line, { append: true });
  }

  async store(hex: string, bytes: Uint8Array, manifest: AdapterManifest): Promise<void> {
    if (!(await exists(this.blobPath(hex)))) await writeAtomic(this.blobPath(hex), bytes);
    await writeAtomic(this.manifestPath(manifest.id), manifestToml(manifest));
  }
}
