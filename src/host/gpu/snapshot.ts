/**
 * The bridge's snapshot: what the host publishes into the hive's /gpu in one upload.
 *
 *   cohesix-gpu-snapshot/v1 gpus=<0|1> models=<0|1>
 *   gpu <uuid> <n>            then n bytes: the /gpu/<uuid>/info JSON, then a newline
 *   model <id> <n>            then n bytes: /gpu/models/available/<id>/manifest.toml, then a newline
 *
 * `gpus=1` replaces the hive's bridged GPUs with the `gpu` records (none: every bridged GPU leaves),
 * `models=1` likewise the available models; a set flagged 0 is left as it is. Records are
 * length-prefixed so the guest needs no unescaping. The upload (namespace reference §5) is
 * `begin bytes=<n> sha256=<hex>`, `b64:<chunk>` lines and `end` on /gpu/bridge/ctl; the hive applies
 * the snapshot only when the bytes and the digest match, all of it or nothing.
 */
import { Buffer } from "node:buffer";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { type GpuRow, infoJson } from "./nvidia_smi.ts";
import type { HiveLink } from "../cli/hive_link.ts";

/** Guest bounds (src/guest/ninedoor/gpu_bridge.ts keeps the same numbers). */
export const SNAPSHOT_LIMITS = {
  gpus: 8,
  models: 8,
  infoBytes: 512,
  manifestBytes: 1024,
  /** Raw bytes per `b64:` line (4,000 base64 characters: one write, well under msize). */
  chunkBytes: 3000,
} as const;
export const MODEL_ID = /^[A-Za-z0-9._-]{1,48}$/;

export interface ModelEntry {
  id: string;
  manifest: string;
}

export interface Snapshot {
  gpus: GpuRow[] | null;
  models: ModelEntry[] | null;
}

const enc = new TextEncoder();

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const parts: Uint8Array[] = [
    enc.encode(`cohesix-gpu-snapshot/v1 gpus=${s.gpus ? 1 : 0} models=${s.models ? 1 : 0}\n`),
  ];
  if (s.gpus && s.gpus.length > SNAPSHOT_LIMITS.gpus) {
    throw new Error(`${s.gpus.length} GPUs exceed the bridge's ${SNAPSHOT_LIMITS.gpus}`);
  }
  if (s.models && s.models.length > SNAPSHOT_LIMITS.models) {
    throw new Error(`${s.models.length} models exceed the hive's ${SNAPSHOT_LIMITS.models}`);
  }
  for (const g of s.gpus ?? []) {
    const body = enc.encode(infoJson(g));
    if (body.length > SNAPSHOT_LIMITS.infoBytes) throw new Error(`info of ${g.uuid} is ${body.length} bytes (max ${SNAPSHOT_LIMITS.infoBytes})`);
    parts.push(enc.encode(`gpu ${g.uuid} ${body.length}\n`), body, enc.encode("\n"));
  }
  for (const m of s.models ?? []) {
    if (!MODEL_ID.test(m.id)) throw new Error(`model id '${m.id}' is not [A-Za-z0-9._-]{1,48}`);
    const body = enc.encode(m.manifest);
    if (body.length > SNAPSHOT_LIMITS.manifestBytes) {
      throw new Error(`manifest of ${m.id} is ${body.length} bytes (max ${SNAPSHOT_LIMITS.manifestBytes})`);
    }
    parts.push(enc.encode(`model ${m.id} ${body.length}\n`), body, enc.encode("\n"));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/** The ctl lines of one upload: begin, base64 chunks, end. */
export function uploadLines(bytes: Uint8Array): string[] {
  const lines = [`begin bytes=${bytes.length} sha256=${sha256Hex(bytes)}`];
  for (let o = 0; o < bytes.length; o += SNAPSHOT_LIMITS.chunkBytes) {
    lines.push("b64:" + Buffer.from(bytes.subarray(o, o + SNAPSHOT_LIMITS.chunkBytes)).toString("base64"));
  }
  lines.push("end");
  return lines;
}

export interface PublishResult {
  bytes: number;
  sha256: string;
  /** /gpu/bridge/status after the upload. */
  status: string;
}

/** Uploads one snapshot; throws when the hive's status is not `state=ok` with this digest. */
export async function publishSnapshot(link: HiveLink, s: Snapshot): Promise<PublishResult> {
  const bytes = encodeSnapshot(s);
  const digest = sha256Hex(bytes);
  await link.writeLines("/gpu/bridge/ctl", uploadLines(bytes));
  const status = (await link.read("/gpu/bridge/status")).trim();
  if (status !== `state=ok bytes=${bytes.length} sha256=${digest}`) {
    throw new Error(`the hive did not take the snapshot: /gpu/bridge/status says '${status}'`);
  }
  return { bytes: bytes.length, sha256: digest, status };
}
