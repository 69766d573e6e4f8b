/**
 * The guest's reader for `manifest.cbor` (src/host/update/manifest.ts writes it). The guest cannot
 * afford a general CBOR decoder, so this reads exactly one shape and refuses everything else:
 *   outer = [body: bstr, kid: bstr(4), signature: bstr(64)]
 *   body  = [1, epoch, chunkBytes, totalBytes, baseEpoch, [[name: tstr, size], …], [bstr(32), …]]
 * Definite lengths, shortest-form integers, no trailing bytes, every count under the caps given at
 * construction, sizes consistent. It allocates its tables once; umrRead allocates nothing and never
 * throws: it returns UMR_OK or a negative code whose reason is umrReason(code). The signature is
 * checked elsewhere (the verifier gets umrBodyOff/umrBodyLen and umrSigOff from here).
 * Porffor rules: arithmetic only on byte values (no bit ops), no closures, fields prefixed `umr`.
 */
import { newF64, newI32, newU8 } from "../../secure9p/alloc.ts";

/** Files a manifest may name (the reader's cap, and what the manifest size allows for). */
export const UMR_MAX_FILES = 8;

/** The largest manifest.cbor the hive accepts for `maxChunks` chunks: header, 34 bytes per hash, files. */
export function casManifestCap(maxChunks: number): number {
  return 64 + maxChunks * 34 + UMR_MAX_FILES * 160;
}

export const UMR_OK = 0;
export const UMR_TRUNCATED = -1;
export const UMR_SHAPE = -2;
export const UMR_NOT_CANONICAL = -3;
export const UMR_TOO_MANY = -4;
export const UMR_INCONSISTENT = -5;
export const UMR_BAD_NAME = -6;
export const UMR_TOO_BIG = -7;

export function umrReason(code: number): string {
  if (code === UMR_OK) return "ok";
  if (code === UMR_TRUNCATED) return "manifest truncated";
  if (code === UMR_SHAPE) return "manifest is not [body, kid, signature] with the update body";
  if (code === UMR_NOT_CANONICAL) return "manifest integer or length not in shortest form";
  if (code === UMR_TOO_MANY) return "manifest lists more files or chunks than the hive allows";
  if (code === UMR_INCONSISTENT) return "manifest sizes, epochs or chunk count do not agree";
  if (code === UMR_BAD_NAME) return "manifest file name empty, too long, or holds '/' or a control byte";
  if (code === UMR_TOO_BIG) return "manifest larger than the hive allows";
  return "manifest refused";
}

const FORMAT = 1;
const KID_LEN = 4;
const SIG_LEN = 64;
const HASH_LEN = 32;
const NAME_MAX = 128;
const TWO_53 = 9007199254740992;

/** Bytes of a shortest-form CBOR head whose argument is `v`. */
function umrHeadBytes(v: number): number {
  if (v < 24) return 1;
  if (v < 256) return 2;
  if (v < 65536) return 3;
  if (v < 4294967296) return 5;
  return 9;
}

/**
 * The longest body umrRead can accept with these caps: every field at its widest — the array head,
 * format, four integers of 9 bytes (epoch, chunk size, total, base), maxFiles entries of
 * [name of NAME_MAX bytes, size of 9 bytes], and maxChunks 32-byte hashes (34 bytes each with their
 * head). With 8 files: 1,159 + 34 per chunk + the chunk list's head (9,900 B for 257 chunks).
 */
export function umrBodyCap(maxChunks: number, maxFiles: number): number {
  const file = 1 + umrHeadBytes(NAME_MAX) + NAME_MAX + 9;
  return 1 + 1 + 4 * 9 + umrHeadBytes(maxFiles) + maxFiles * file + umrHeadBytes(maxChunks) +
    maxChunks * (2 + HASH_LEN);
}

export class UpdateManifestReader {
  umrMaxBytes: number;
  umrMaxChunks: number;
  umrMaxFiles: number;
  // Outputs of the last successful read (offsets point into the source buffer).
  umrEpoch = 0;
  umrChunkBytes = 0;
  umrTotal = 0;
  umrBase = 0;
  umrBodyOff = 0;
  umrBodyLen = 0;
  umrKidOff = 0;
  umrSigOff = 0;
  umrFileCount = 0;
  umrChunkCount = 0;
  /** umrChunkCount hashes, 32 bytes each, in payload order. */
  umrHashes: Uint8Array;
  umrNameOff: Int32Array;
  umrNameLen: Int32Array;
  umrFileSize: Float64Array;
  // Cursor state while reading.
  umrSrc: Uint8Array;
  umrPos = 0;
  umrEnd = 0;
  umrArg = 0;

  constructor(maxBytes: number, maxChunks: number, maxFiles: number) {
    this.umrMaxBytes = maxBytes;
    this.umrMaxChunks = maxChunks;
    this.umrMaxFiles = maxFiles;
    this.umrHashes = newU8(maxChunks * HASH_LEN + 1);
    this.umrNameOff = newI32(maxFiles + 1);
    this.umrNameLen = newI32(maxFiles + 1);
    this.umrFileSize = newF64(maxFiles + 1);
    this.umrSrc = newU8(1);
  }

  /**
   * Reads a CBOR head of major type `major` at the cursor into umrArg; returns UMR_OK or an error.
   * Refuses indefinite lengths, 8-byte arguments of 2^53 or more, and non-shortest forms.
   */
  umrHead(major: number): number {
    if (this.umrPos >= this.umrEnd) return UMR_TRUNCATED;
    const src = this.umrSrc;
    const b = src[this.umrPos];
    if (Math.floor(b / 32) !== major) return UMR_SHAPE;
    const info = b % 32;
    this.umrPos = this.umrPos + 1;
    if (info < 24) {
      this.umrArg = info;
      return UMR_OK;
    }
    let n = 0;
    if (info === 24) n = 1;
    else if (info === 25) n = 2;
    else if (info === 26) n = 4;
    else if (info === 27) n = 8;
    else return UMR_SHAPE;
    if (this.umrPos + n > this.umrEnd) return UMR_TRUNCATED;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + src[this.umrPos + i];
    this.umrPos = this.umrPos + n;
    if (v >= TWO_53) return UMR_TOO_BIG;
    let min = 24;
    if (n === 2) min = 256;
    else if (n === 4) min = 65536;
    else if (n === 8) min = 4294967296;
    if (v < min) return UMR_NOT_CANONICAL;
    this.umrArg = v;
    return UMR_OK;
  }

  /** The last head's argument (a call, so TypeScript does not narrow it across reads). */
  umrTake(): number {
    return this.umrArg;
  }

  /** A byte string of exactly `len` bytes at the cursor; returns its offset, or a negative code. */
  umrFixedBytes(len: number): number {
    const r = this.umrHead(2);
    if (r !== UMR_OK) return r;
    if (this.umrArg !== len) return UMR_SHAPE;
    if (this.umrPos + len > this.umrEnd) return UMR_TRUNCATED;
    const at = this.umrPos;
    this.umrPos = this.umrPos + len;
    return at;
  }

  /** Reads `src[0..len)`; UMR_OK when it is exactly the manifest shape. */
  umrRead(src: Uint8Array, len: number): number {
    this.umrFileCount = 0;
    this.umrChunkCount = 0;
    if (len > this.umrMaxBytes) return UMR_TOO_BIG;
    if (len > src.length) return UMR_TRUNCATED;
    this.umrSrc = src;
    this.umrPos = 0;
    this.umrEnd = len;
    let r = this.umrHead(4);
    if (r !== UMR_OK) return r;
    if (this.umrArg !== 3) return UMR_SHAPE;
    r = this.umrHead(2);
    if (r !== UMR_OK) return r;
    const bodyLen = this.umrArg;
    const bodyOff = this.umrPos;
    if (bodyOff + bodyLen > len) return UMR_TRUNCATED;
    this.umrPos = bodyOff + bodyLen;
    const kid = this.umrFixedBytes(KID_LEN);
    if (kid < 0) return kid;
    const sig = this.umrFixedBytes(SIG_LEN);
    if (sig < 0) return sig;
    if (this.umrPos !== len) return UMR_SHAPE;
    this.umrBodyOff = bodyOff;
    this.umrBodyLen = bodyLen;
    this.umrKidOff = kid;
    this.umrSigOff = sig;
    // The body, bounded by its own length.
    this.umrPos = bodyOff;
    this.umrEnd = bodyOff + bodyLen;
    return this.umrBody();
  }

  umrBody(): number {
    let r = this.umrHead(4);
    if (r !== UMR_OK) return r;
    if (this.umrTake() !== 7) return UMR_SHAPE;
    r = this.umrHead(0);
    if (r !== UMR_OK) return r;
    if (this.umrTake() !== FORMAT) return UMR_SHAPE;
    r = this.umrHead(0);
    if (r !== UMR_OK) return r;
    this.umrEpoch = this.umrArg;
    r = this.umrHead(0);
    if (r !== UMR_OK) return r;
    this.umrChunkBytes = this.umrArg;
    r = this.umrHead(0);
    if (r !== UMR_OK) return r;
    this.umrTotal = this.umrArg;
    r = this.umrHead(0);
    if (r !== UMR_OK) return r;
    this.umrBase = this.umrArg;
    if (this.umrEpoch < 1 || this.umrChunkBytes < 1 || this.umrBase >= this.umrEpoch) return UMR_INCONSISTENT;
    r = this.umrFiles();
    if (r !== UMR_OK) return r;
    r = this.umrChunks();
    if (r !== UMR_OK) return r;
    if (this.umrPos !== this.umrEnd) return UMR_SHAPE;
    return UMR_OK;
  }

  umrFiles(): number {
    let r = this.umrHead(4);
    if (r !== UMR_OK) return r;
    const n = this.umrArg;
    if (n > this.umrMaxFiles) return UMR_TOO_MANY;
    const src = this.umrSrc;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      r = this.umrHead(4);
      if (r !== UMR_OK) return r;
      if (this.umrArg !== 2) return UMR_SHAPE;
      r = this.umrHead(3);
      if (r !== UMR_OK) return r;
      const nameLen = this.umrArg;
      if (nameLen < 1 || nameLen > NAME_MAX) return UMR_BAD_NAME;
      if (this.umrPos + nameLen > this.umrEnd) return UMR_TRUNCATED;
      for (let j = 0; j < nameLen; j++) {
        const c = src[this.umrPos + j];
        if (c < 32 || c === 47 || c === 127) return UMR_BAD_NAME;
      }
      {
        const tw = this.umrNameOff;
        tw[i] = this.umrPos;
      }
      {
        const tw = this.umrNameLen;
        tw[i] = nameLen;
      }
      this.umrPos = this.umrPos + nameLen;
      r = this.umrHead(0);
      if (r !== UMR_OK) return r;
      {
        const tw = this.umrFileSize;
        tw[i] = this.umrArg;
      }
      sum = sum + this.umrArg;
    }
    this.umrFileCount = n;
    if (sum !== this.umrTotal) return UMR_INCONSISTENT;
    return UMR_OK;
  }

  umrChunks(): number {
    const r = this.umrHead(4);
    if (r !== UMR_OK) return r;
    const n = this.umrArg;
    if (n > this.umrMaxChunks) return UMR_TOO_MANY;
    if (n !== Math.ceil(this.umrTotal / this.umrChunkBytes)) return UMR_INCONSISTENT;
    const src = this.umrSrc;
    const hashes = this.umrHashes;
    for (let i = 0; i < n; i++) {
      const at = this.umrFixedBytes(HASH_LEN);
      if (at < 0) return at;
      for (let j = 0; j < HASH_LEN; j++) hashes[i * HASH_LEN + j] = src[at + j];
    }
    this.umrChunkCount = n;
    return UMR_OK;
  }
}
