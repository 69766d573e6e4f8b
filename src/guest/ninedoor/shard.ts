/**
 * Shard labels (namespace reference §1): a worker lives under `/shard/<label>/worker/<id>`, where
 * `label` is byte 0 of sha256(id) shifted right by `8 - shard_bits`, as two lowercase hex digits.
 * Computed once per spawn (the id is bytes on the wire; no string is built per request).
 */
import { Sha256 } from "../lib/sha256.ts";
import { allocU8 } from "./alloc.ts";

const HEX = "0123456789abcdef";
const HASH = new Sha256();
const DIGEST = allocU8(32);
const ID = allocU8(64);

/** The shard index (0 .. 2^bits - 1) of worker id `id` (ASCII, at most 64 bytes). */
export function shardIndex(id: string, bits: number): number {
  const buf = ID;
  let n = id.length;
  if (n > buf.length) n = buf.length;
  for (let i = 0; i < n; i++) buf[i] = id.charCodeAt(i);
  HASH.digest(buf, 0, n, DIGEST, 0);
  return Math.floor(DIGEST[0] / Math.pow(2, 8 - bits));
}

/** Two lowercase hex digits of a shard index (0..255). */
export function shardName(index: number): string {
  let s = HEX.charAt(Math.floor(index / 16));
  s += HEX.charAt(index % 16);
  return s;
}

/** The label of worker `id` with `bits` shard bits. */
export function shardLabel(id: string, bits: number): string {
  return shardName(shardIndex(id, bits));
}
