/**
 * Packs files into an update directory: `chunks/<sha256>` (the payload cut into chunkBytes pieces)
 * plus a signed `manifest.cbor`. Same inputs give byte-identical output (no clocks, no randomness).
 * With a base update, chunks the base already has are listed but not written again (delta).
 */
import { basename, join } from "node:path";
import { chunkName, decodeManifest, signManifest, type UpdateBody } from "./manifest.ts";

export interface PackInput {
  epoch: number;
  chunkBytes: number;
  secretKey: Uint8Array;
  files: { name: string; bytes: Uint8Array }[];
  /** Raw `manifest.cbor` of the base update (delta); its chunks are not written again. */
  baseManifest?: Uint8Array;
}

export interface PackedUpdate {
  manifest: Uint8Array;
  body: UpdateBody;
  /** Chunks to write, by name (the base's chunks left out). */
  newChunks: Map<string, Uint8Array>;
  reusedChunks: number;
}

export function packUpdate(input: PackInput): PackedUpdate {
  const total = input.files.reduce((n, f) => n + f.bytes.length, 0);
  const payload = new Uint8Array(total);
  let at = 0;
  for (const f of input.files) {
    payload.set(f.bytes, at);
    at += f.bytes.length;
  }
  const base = input.baseManifest ? decodeManifest(input.baseManifest).body : undefined;
  if (base && base.chunkBytes !== input.chunkBytes) {
    throw new Error(`the base update uses ${base.chunkBytes}-byte chunks, this one ${input.chunkBytes}: pack both with the same --chunk-bytes`);
  }
  if (base && base.epoch >= input.epoch) throw new Error(`the base epoch ${base.epoch} must be below --epoch ${input.epoch}`);
  const baseNames = new Set(base?.chunks ?? []);
  const chunks: string[] = [];
  const newChunks = new Map<string, Uint8Array>();
  let reusedChunks = 0;
  for (let off = 0; off < total; off += input.chunkBytes) {
    const chunk = payload.subarray(off, Math.min(off + input.chunkBytes, total));
    const name = chunkName(chunk);
    chunks.push(name);
    if (baseNames.has(name)) reusedChunks++;
    else newChunks.set(name, chunk);
  }
  const body: UpdateBody = {
    epoch: input.epoch,
    chunkBytes: input.chunkBytes,
    totalBytes: total,
    baseEpoch: base?.epoch ?? 0,
    files: input.files.map((f) => ({ name: f.name, size: f.bytes.length })),
    chunks,
  };
  return { manifest: signManifest(body, input.secretKey), body, newChunks, reusedChunks };
}

/**
 * Writes a packed update to `out` all-or-nothing: into a sibling temp directory first, renamed into
 * place at the end, so a failure leaves no half-written update behind. Refuses an existing `out`.
 */
export async function writeUpdateDir(out: string, packed: PackedUpdate): Promise<void> {
  try {
    await Deno.lstat(out);
    throw new Error(`${out} already exists: choose a new --out directory`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const tmp = join(out, "..", `.${basename(out)}.partial-${Deno.pid}`);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  try {
    await Deno.mkdir(join(tmp, "chunks"), { recursive: true });
    for (const name of [...packed.newChunks.keys()].sort()) {
      await Deno.writeFile(join(tmp, "chunks", name), packed.newChunks.get(name)!);
    }
    await Deno.writeFile(join(tmp, "manifest.cbor"), packed.manifest);
    await Deno.rename(tmp, out);
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
}
