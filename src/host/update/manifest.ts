/**
 * Signed update manifests: the CBOR document that names an update's chunks by sha256.
 *
 * Wire form (`manifest.cbor`), fixed so the guest can decode it with a small strict reader:
 *   outer = [body: bstr, kid: bstr(4), signature: bstr(64)]
 *   body  = CBOR [1, epoch, chunkBytes, totalBytes, baseEpoch (0: full update), [[name, size], …], [sha256: bstr(32), …]]
 * The signature is Ed25519 over `DOMAIN ‖ body`; carrying the body as a byte string lets a verifier
 * check exactly the bytes that were signed without re-encoding anything.
 * kid = sha256(publicKey)[0..4], the same key-id rule as tickets.
 */
import * as ed from "@noble/ed25519";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js";
import { decodeCbor as decodeCborItem, encodeCbor as encode } from "../cbor.ts";
import { keyId } from "../ticket/codec.ts";

ed.hashes.sha512 = sha512;

export const MANIFEST_FORMAT = 1;
export const UPDATE_DOMAIN = new TextEncoder().encode("cohesix-update-v1\0");
/** Longest manifest accepted: bounds decode work on both sides (8192 chunks of 32 bytes plus headers). */
export const MAX_MANIFEST_BYTES = 300_000;
export const MAX_CHUNKS = 8192;
export const MAX_FILES = 64;
export const MAX_NAME_CHARS = 128;

export interface UpdateFile {
  name: string;
  size: number;
}

export interface UpdateBody {
  epoch: number;
  chunkBytes: number;
  totalBytes: number;
  /** Epoch whose chunks this update may reuse; 0 for a full update. */
  baseEpoch: number;
  files: UpdateFile[];
  /** Lowercase hex sha256 of each chunk, in payload order. */
  chunks: string[];
}

export interface SignedManifest {
  body: UpdateBody;
  kid: string;
  /** The exact signed body bytes. */
  bodyBytes: Uint8Array;
  signature: Uint8Array;
}

/** A refusal with a stable reason word (printed as `reason=<word>`). */
export class ManifestError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

export function encodeBody(b: UpdateBody): Uint8Array {
  return encode([
    MANIFEST_FORMAT,
    b.epoch,
    b.chunkBytes,
    b.totalBytes,
    b.baseEpoch,
    b.files.map((f) => [f.name, f.size]),
    b.chunks.map((c) => hexToBytes(c)),
  ]);
}

/** Signs a body with a 32-byte Ed25519 secret key; the result is the bytes of `manifest.cbor`. */
export function signManifest(body: UpdateBody, secretKey: Uint8Array): Uint8Array {
  const bodyBytes = encodeBody(body);
  const pub = ed.getPublicKey(secretKey);
  const signature = ed.sign(concatBytes(UPDATE_DOMAIN, bodyBytes), secretKey);
  return encode([bodyBytes, hexToBytes(keyId(pub)), signature]);
}

function malformed(message: string): never {
  throw new ManifestError("malformed", `manifest malformed: ${message}`);
}

function uint(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) malformed(`${what} is not an unsigned integer`);
  return v;
}

function bytes(v: unknown, len: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== len) malformed(`${what} is not a ${len}-byte string`);
  return v;
}

function decodeCbor(b: Uint8Array, what: string): unknown {
  try {
    return decodeCborItem(b);
  } catch {
    malformed(`${what} is not CBOR`);
  }
}

/** Decodes `manifest.cbor` strictly (shape, bounds, consistency) without checking the signature. */
export function decodeManifest(raw: Uint8Array): SignedManifest {
  if (raw.length > MAX_MANIFEST_BYTES) malformed(`${raw.length} bytes exceeds ${MAX_MANIFEST_BYTES}`);
  const outer = decodeCbor(raw, "outer");
  if (!Array.isArray(outer) || outer.length !== 3) malformed("outer is not [body, kid, signature]");
  if (!(outer[0] instanceof Uint8Array)) malformed("body is not a byte string");
  const bodyBytes = outer[0];
  const kid = bytesToHex(bytes(outer[1], 4, "kid"));
  const signature = bytes(outer[2], 64, "signature");
  if (bytesToHex(encode(outer)) !== bytesToHex(raw)) malformed("outer is not canonically encoded");
  const inner = decodeCbor(bodyBytes, "body");
  if (!Array.isArray(inner) || inner.length !== 7) malformed("body is not a 7-element array");
  if (inner[0] !== MANIFEST_FORMAT) malformed(`format ${String(inner[0])} is not ${MANIFEST_FORMAT}`);
  const epoch = uint(inner[1], "epoch");
  const chunkBytes = uint(inner[2], "chunk size");
  const totalBytes = uint(inner[3], "total size");
  const baseEpoch = uint(inner[4], "base epoch");
  if (epoch < 1) malformed("epoch must be >= 1");
  if (chunkBytes < 1) malformed("chunk size must be >= 1");
  if (baseEpoch >= epoch) malformed(`base epoch ${baseEpoch} is not below epoch ${epoch}`);
  if (!Array.isArray(inner[5]) || inner[5].length > MAX_FILES) malformed(`files is not a list of at most ${MAX_FILES}`);
  const files = inner[5].map((f: unknown, i: number) => {
    if (!Array.isArray(f) || f.length !== 2 || typeof f[0] !== "string") malformed(`file ${i} is not [name, size]`);
    if (f[0].length === 0 || f[0].length > MAX_NAME_CHARS) malformed(`file ${i} name length out of range`);
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f/]/.test(f[0])) malformed(`file ${i} name holds '/' or a control character`);
    return { name: f[0], size: uint(f[1], `file ${i} size`) };
  });
  if (!Array.isArray(inner[6]) || inner[6].length > MAX_CHUNKS) malformed(`chunks is not a list of at most ${MAX_CHUNKS}`);
  const chunks = inner[6].map((c: unknown, i: number) => bytesToHex(bytes(c, 32, `chunk ${i}`)));
  const body: UpdateBody = { epoch, chunkBytes, totalBytes, baseEpoch, files, chunks };
  if (files.reduce((n, f) => n + f.size, 0) !== totalBytes) malformed("file sizes do not add up to the total size");
  if (chunks.length !== Math.ceil(totalBytes / chunkBytes)) {
    malformed(`${chunks.length} chunks do not cover ${totalBytes} bytes at ${chunkBytes} per chunk`);
  }
  if (bytesToHex(encodeBody(body)) !== bytesToHex(bodyBytes)) malformed("body is not canonically encoded");
  return { body, kid, bodyBytes, signature };
}

/** A trusted update key: its kid and 32-byte public key as hex. */
export interface TrustedUpdateKey {
  kid: string;
  publicKey: string;
}

/** Decodes and verifies a manifest against the trusted keys; throws ManifestError with the reason. */
export function verifyManifest(raw: Uint8Array, trusted: TrustedUpdateKey[]): SignedManifest {
  const m = decodeManifest(raw);
  const key = trusted.find((k) => k.kid === m.kid);
  if (!key) throw new ManifestError("untrusted-key", `manifest signed by key ${m.kid}, which the hive does not trust`);
  let ok = false;
  try {
    ok = ed.verify(m.signature, concatBytes(UPDATE_DOMAIN, m.bodyBytes), hexToBytes(key.publicKey));
  } catch {
    ok = false;
  }
  if (!ok) throw new ManifestError("bad-signature", `manifest signature does not verify under key ${m.kid}`);
  return m;
}

/** Lowercase hex sha256: the name of a chunk. */
export function chunkName(chunk: Uint8Array): string {
  return bytesToHex(sha256(chunk));
}

/** The development update key's seed: sha256("cohesix-dev-update-key"). Replace it before deployment. */
export function devUpdateSeed(): Uint8Array {
  return sha256(new TextEncoder().encode("cohesix-dev-update-key"));
}
