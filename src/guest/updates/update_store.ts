/**
 * The hive's store for content-addressed updates (the state behind /updates/<epoch>/): a fixed slab
 * of chunk slots shared by every epoch, so a delta update reuses its base epoch's chunks. A manifest
 * is read strictly (UpdateManifestReader), its signature checked by the platform's verifier, and the
 * slots its new chunks need are reserved up front: an update that does not fit is refused before any
 * chunk is stored. A chunk is accepted only when its sha256 equals its name; a re-sent chunk is a no-op.
 * Porffor rules: everything allocated in the constructor, no Map, no closures, fields prefixed `ust`,
 * typed-array fields written through a local alias (Porffor drops `this.field[i] = v`).
 */
import { newF64, newI32, newU8 } from "../../secure9p/alloc.ts";
import type { ByteWriter } from "../lib/bytes.ts";
import { Sha256 } from "../lib/sha256.ts";
import { casManifestCap, UMR_MAX_FILES, UMR_OK, umrReason, UpdateManifestReader } from "./manifest_reader.ts";

/** Checks an Ed25519 signature over `"cohesix-update-v1\0" ‖ body` under the trusted key with this kid. */
export interface UpdateSignatureCheck {
  /**
   * 0: valid; UST_UNTRUSTED: no trusted key has this kid; UST_BAD_SIGNATURE: it does not verify;
   * UST_NO_VERIFIER: nothing could check it (a native check with no platform behind its mailbox);
   * UMR_TOO_BIG: the body is longer than the check accepts. Anything but 0 is a refusal.
   */
  uscVerify(src: Uint8Array, kidOff: number, bodyOff: number, bodyLen: number, sigOff: number): number;
}

/** The check of a build with no verifier behind it: nothing is ever accepted unverified. */
export class NoUpdateVerifier implements UpdateSignatureCheck {
  uscVerify(_src: Uint8Array, _kidOff: number, _bodyOff: number, _bodyLen: number, _sigOff: number): number {
    return UST_NO_VERIFIER;
  }
}

export const UST_OK = 0;
export const UST_UNTRUSTED = -20;
export const UST_BAD_SIGNATURE = -21;
export const UST_NO_ROOM = -22;
export const UST_MISSING_BASE = -23;
export const UST_WRONG_EPOCH = -24;
export const UST_WRONG_CHUNK_SIZE = -25;
export const UST_NO_MANIFEST = -26;
export const UST_UNKNOWN_CHUNK = -27;
export const UST_HASH_MISMATCH = -28;
export const UST_NO_SLOT = -29;
export const UST_DELTA_OFF = -30;
export const UST_NO_VERIFIER = -31;

export function ustReason(code: number): string {
  if (code === UST_UNTRUSTED) return "untrusted-key";
  if (code === UST_BAD_SIGNATURE) return "bad-signature";
  if (code === UST_NO_ROOM) return "too-big";
  if (code === UST_MISSING_BASE) return "missing-base";
  if (code === UST_WRONG_EPOCH) return "epoch-mismatch";
  if (code === UST_WRONG_CHUNK_SIZE) return "chunk-size-mismatch";
  if (code === UST_NO_MANIFEST) return "no-manifest";
  if (code === UST_UNKNOWN_CHUNK) return "unknown-chunk";
  if (code === UST_HASH_MISMATCH) return "sha256-mismatch";
  if (code === UST_NO_SLOT) return "too-many-epochs";
  if (code === UST_DELTA_OFF) return "delta-disabled";
  if (code === UST_NO_VERIFIER) return "no-verifier";
  if (code < 0 && code > -20) return "malformed";
  return "ok";
}

const HASH = 32;
/** Chunk slots per data segment (64 KiB at 4096-byte chunks). */
export const UST_SEGMENT_SLOTS = 16;
const ST_EMPTY = 0;
const ST_RECEIVING = 1;
const ST_READY = 2;
const ST_INVALID = 3;

export class UpdateStore {
  ustChunkBytes: number;
  ustSlots: number;
  ustMaxChunks: number;
  ustMaxEpochs: number;
  ustReader: UpdateManifestReader;
  ustSig: UpdateSignatureCheck;
  ustSha: Sha256 = new Sha256();
  ustDigest: Uint8Array;
  /** Slot s: hash at s*32, data at s*chunkBytes, length, owner count (0: free), filled flag. */
  ustSlotHash: Uint8Array;
  /**
   * Chunk bytes in segments of UST_SEGMENT_SLOTS slots: one typed array over ~1 MiB reads and writes
   * the wrong bytes under Porffor (measured: 255 of 260 slots wrong in a 1 MiB + 1 array; none in 64 KiB
   * segments), and the store is sized in MiB.
   */
  ustSlotData: Uint8Array[] = [];
  ustSlotLen: Int32Array;
  ustSlotRefs: Int32Array;
  ustSlotFilled: Uint8Array;
  /** Epoch e (index): number, state, reason code, chunk count, and its chunk list as slot indexes. */
  ustEpochNo: Float64Array;
  ustEpochState: Int32Array;
  ustEpochReason: Int32Array;
  ustEpochChunks: Int32Array;
  ustEpochSlot: Int32Array;
  /** Whether a manifest may name a base epoch (`cas.delta.enable`). */
  ustDeltaOk = true;

  constructor(
    storeBytes: number,
    chunkBytes: number,
    maxChunks: number,
    maxEpochs: number,
    sig: UpdateSignatureCheck,
  ) {
    this.ustChunkBytes = chunkBytes;
    this.ustSlots = Math.floor(storeBytes / chunkBytes);
    this.ustMaxChunks = maxChunks;
    this.ustMaxEpochs = maxEpochs;
    this.ustReader = new UpdateManifestReader(casManifestCap(maxChunks), maxChunks, UMR_MAX_FILES);
    this.ustSig = sig;
    this.ustDigest = newU8(HASH);
    this.ustSlotHash = newU8(this.ustSlots * HASH + 1);
    for (let i = 0; i * UST_SEGMENT_SLOTS < this.ustSlots; i++) this.ustSlotData.push(newU8(UST_SEGMENT_SLOTS * chunkBytes));
    this.ustSlotLen = newI32(this.ustSlots + 1);
    this.ustSlotRefs = newI32(this.ustSlots + 1);
    this.ustSlotFilled = newU8(this.ustSlots + 1);
    this.ustEpochNo = newF64(maxEpochs + 1);
    this.ustEpochState = newI32(maxEpochs + 1);
    this.ustEpochReason = newI32(maxEpochs + 1);
    this.ustEpochChunks = newI32(maxEpochs + 1);
    this.ustEpochSlot = newI32(maxEpochs * maxChunks + 1);
  }

  /** Index of the epoch's record, or -1. */
  ustFind(epoch: number): number {
    for (let e = 0; e < this.ustMaxEpochs; e++) {
      if (this.ustEpochState[e] !== ST_EMPTY && this.ustEpochNo[e] === epoch) return e;
    }
    return -1;
  }

  /** Slot holding (or reserved for) the hash at src[off..off+32), or -1. */
  ustSlotOf(src: Uint8Array, off: number): number {
    const h = this.ustSlotHash;
    for (let s = 0; s < this.ustSlots; s++) {
      if (this.ustSlotRefs[s] === 0) continue;
      let same = true;
      for (let j = 0; j < HASH && same; j++) if (h[s * HASH + j] !== src[off + j]) same = false;
      if (same) return s;
    }
    return -1;
  }

  ustFreeSlots(): number {
    let n = 0;
    for (let s = 0; s < this.ustSlots; s++) if (this.ustSlotRefs[s] === 0) n++;
    return n;
  }

  /** Records a refusal for `epoch` (so status can show it) and returns the code. */
  ustRefuse(epoch: number, code: number): number {
    let e = this.ustFind(epoch);
    if (e < 0) {
      for (let i = 0; i < this.ustMaxEpochs && e < 0; i++) if (this.ustEpochState[i] === ST_EMPTY) e = i;
    }
    if (e >= 0 && this.ustEpochState[e] !== ST_READY && this.ustEpochState[e] !== ST_RECEIVING) {
      {
        const tw = this.ustEpochNo;
        tw[e] = epoch;
      }
      {
        const tw = this.ustEpochState;
        tw[e] = ST_INVALID;
      }
      {
        const tw = this.ustEpochReason;
        tw[e] = code;
      }
      {
        const tw = this.ustEpochChunks;
        tw[e] = 0;
      }
    }
    return code;
  }

  /** Accepts the manifest of `epoch` (src[0..len)): reads, verifies, reserves room; UST_OK or a code. */
  ustManifest(epoch: number, src: Uint8Array, len: number): number {
    const existing = this.ustFind(epoch);
    if (existing >= 0 && this.ustEpochState[existing] !== ST_INVALID) return UST_OK; // re-sent manifest
    const r = this.ustReader;
    const code = r.umrRead(src, len);
    if (code !== UMR_OK) return this.ustRefuse(epoch, code);
    if (r.umrEpoch !== epoch) return this.ustRefuse(epoch, UST_WRONG_EPOCH);
    if (r.umrChunkBytes !== this.ustChunkBytes) return this.ustRefuse(epoch, UST_WRONG_CHUNK_SIZE);
    const sig = this.ustSig.uscVerify(src, r.umrKidOff, r.umrBodyOff, r.umrBodyLen, r.umrSigOff);
    if (sig !== UST_OK) return this.ustRefuse(epoch, sig);
    if (r.umrBase !== 0) {
      if (!this.ustDeltaOk) return this.ustRefuse(epoch, UST_DELTA_OFF);
      const b = this.ustFind(r.umrBase);
      if (b < 0 || this.ustEpochState[b] !== ST_READY) return this.ustRefuse(epoch, UST_MISSING_BASE);
    }
    // Count the chunks no slot holds yet (a chunk listed twice needs one slot).
    let fresh = 0;
    for (let i = 0; i < r.umrChunkCount; i++) {
      if (this.ustSlotOf(r.umrHashes, i * HASH) >= 0) continue;
      let dup = false;
      for (let k = 0; k < i && !dup; k++) {
        let same = true;
        for (let j = 0; j < HASH && same; j++) {
          if (r.umrHashes[k * HASH + j] !== r.umrHashes[i * HASH + j]) same = false;
        }
        dup = same;
      }
      if (!dup) fresh++;
    }
    if (fresh > this.ustFreeSlots()) return this.ustRefuse(epoch, UST_NO_ROOM);
    let e = existing;
    for (let i = 0; i < this.ustMaxEpochs && e < 0; i++) if (this.ustEpochState[i] === ST_EMPTY) e = i;
    if (e < 0) return UST_NO_SLOT;
    // Reserve: every listed chunk gets a slot (shared when another epoch already holds it).
    for (let i = 0; i < r.umrChunkCount; i++) {
      let s = this.ustSlotOf(r.umrHashes, i * HASH);
      if (s < 0) {
        s = 0;
        while (this.ustSlotRefs[s] !== 0) s++;
        for (let j = 0; j < HASH; j++) {
          const tw = this.ustSlotHash;
          tw[s * HASH + j] = r.umrHashes[i * HASH + j];
        }
        {
          const tw = this.ustSlotFilled;
          tw[s] = 0;
        }
        {
          const tw = this.ustSlotLen;
          tw[s] = 0;
        }
      }
      {
        const tw = this.ustSlotRefs;
        tw[s] = this.ustSlotRefs[s] + 1;
      }
      {
        const tw = this.ustEpochSlot;
        tw[e * this.ustMaxChunks + i] = s;
      }
    }
    {
      const tw = this.ustEpochNo;
      tw[e] = epoch;
    }
    {
      const tw = this.ustEpochChunks;
      tw[e] = r.umrChunkCount;
    }
    {
      const tw = this.ustEpochReason;
      tw[e] = UST_OK;
    }
    {
      const tw = this.ustEpochState;
      tw[e] = ST_RECEIVING;
    }
    this.ustSettle(e);
    return UST_OK;
  }

  /** Marks the epoch ready once every chunk is filled. */
  ustSettle(e: number): void {
    if (this.ustEpochState[e] !== ST_RECEIVING) return;
    for (let i = 0; i < this.ustEpochChunks[e]; i++) {
      if (this.ustSlotFilled[this.ustEpochSlot[e * this.ustMaxChunks + i]] === 0) return;
    }
    {
      const tw = this.ustEpochState;
      tw[e] = ST_READY;
    }
  }

  /** Stores chunk `name` (32 raw hash bytes at name[nameOff..]) of `epoch` from src[off..off+len). */
  ustChunk(
    epoch: number,
    name: Uint8Array,
    nameOff: number,
    src: Uint8Array,
    off: number,
    len: number,
  ): number {
    const e = this.ustFind(epoch);
    if (e < 0 || this.ustEpochState[e] === ST_INVALID) return UST_NO_MANIFEST;
    let s = -1;
    for (let i = 0; i < this.ustEpochChunks[e] && s < 0; i++) {
      const c = this.ustEpochSlot[e * this.ustMaxChunks + i];
      let same = true;
      for (let j = 0; j < HASH && same; j++) {
        if (this.ustSlotHash[c * HASH + j] !== name[nameOff + j]) same = false;
      }
      if (same) s = c;
    }
    if (s < 0) return UST_UNKNOWN_CHUNK;
    return this.ustFill(s, src, off, len);
  }

  /** Stores src[off..off+len) in slot `s` when its sha256 is the slot's name; settles every epoch. */
  ustFill(s: number, src: Uint8Array, off: number, len: number): number {
    if (len > this.ustChunkBytes) return UST_HASH_MISMATCH;
    this.ustSha.digest(src, off, len, this.ustDigest, 0);
    for (let j = 0; j < HASH; j++) {
      if (this.ustDigest[j] !== this.ustSlotHash[s * HASH + j]) return UST_HASH_MISMATCH;
    }
    if (this.ustSlotFilled[s] === 0) {
      const seg = this.ustSlotData[Math.floor(s / UST_SEGMENT_SLOTS)];
      const at = (s % UST_SEGMENT_SLOTS) * this.ustChunkBytes;
      for (let j = 0; j < len; j++) seg[at + j] = src[off + j];
      {
        const tw = this.ustSlotLen;
        tw[s] = len;
      }
      {
        const tw = this.ustSlotFilled;
        tw[s] = 1;
      }
    }
    for (let i = 0; i < this.ustMaxEpochs; i++) this.ustSettle(i);
    return len;
  }

  /** The slot of chunk `i` of `epoch`'s manifest, or -1 (no such epoch, invalid, or i out of range). */
  ustSlotAt(epoch: number, i: number): number {
    const e = this.ustFind(epoch);
    if (e < 0 || this.ustEpochState[e] === ST_INVALID || i < 0 || i >= this.ustEpochChunks[e]) return -1;
    return this.ustEpochSlot[e * this.ustMaxChunks + i];
  }

  /** Chunk `i` of `epoch` (the manifest's order) from src[off..off+len): the bytes taken or a code. */
  ustChunkAt(epoch: number, i: number, src: Uint8Array, off: number, len: number): number {
    const s = this.ustSlotAt(epoch, i);
    if (s < 0) return UST_NO_MANIFEST;
    return this.ustFill(s, src, off, len);
  }

  /** Bytes of chunk `i` of `epoch` now stored (0 until it arrives). */
  ustChunkSize(epoch: number, i: number): number {
    const s = this.ustSlotAt(epoch, i);
    return s < 0 || this.ustSlotFilled[s] === 0 ? 0 : this.ustSlotLen[s];
  }

  /** Copies chunk `i` of `epoch` from `offset` into dst; bytes copied (0 before it arrives). */
  ustChunkRead(epoch: number, i: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    const s = this.ustSlotAt(epoch, i);
    if (s < 0 || this.ustSlotFilled[s] === 0 || offset >= this.ustSlotLen[s]) return 0;
    let n = this.ustSlotLen[s] - offset;
    if (n > count) n = count;
    const base = (s % UST_SEGMENT_SLOTS) * this.ustChunkBytes + offset;
    const data = this.ustSlotData[Math.floor(s / UST_SEGMENT_SLOTS)];
    for (let j = 0; j < n; j++) dst[dstOff + j] = data[base + j];
    return n;
  }

  /** Chunks in `epoch`'s manifest (0 when the hive holds no valid manifest for it). */
  ustChunkCount(epoch: number): number {
    const e = this.ustFind(epoch);
    return e < 0 || this.ustEpochState[e] === ST_INVALID ? 0 : this.ustEpochChunks[e];
  }

  /** Hex digit `d` (0..63) of chunk `i`'s sha256 name, as a character code. */
  ustNameDigit(epoch: number, i: number, d: number): number {
    const s = this.ustSlotAt(epoch, i);
    if (s < 0) return 48;
    const b = this.ustSlotHash[s * HASH + Math.floor(d / 2)];
    return ustHexDigit(d % 2 === 0 ? Math.floor(b / 16) : b % 16);
  }

  /** Forgets `epoch`: its record, and every chunk no other epoch lists. False when there is none. */
  ustDrop(epoch: number): boolean {
    const e = this.ustFind(epoch);
    if (e < 0) return false;
    if (this.ustEpochState[e] !== ST_INVALID) {
      for (let i = 0; i < this.ustEpochChunks[e]; i++) {
        const s = this.ustEpochSlot[e * this.ustMaxChunks + i];
        const refs = this.ustSlotRefs;
        refs[s] = refs[s] - 1;
        if (refs[s] === 0) {
          const f = this.ustSlotFilled;
          f[s] = 0;
          const l = this.ustSlotLen;
          l[s] = 0;
        }
      }
    }
    {
      const tw = this.ustEpochState;
      tw[e] = ST_EMPTY;
    }
    {
      const tw = this.ustEpochChunks;
      tw[e] = 0;
    }
    return true;
  }

  /** True when the store holds a record (receiving, ready or invalid) for `epoch`. */
  ustKnows(epoch: number): boolean {
    return this.ustFind(epoch) >= 0;
  }

  /** Free chunk slots (what a new update's fresh chunks must fit in). */
  ustFree(): number {
    return this.ustFreeSlots();
  }

  /** `state=<receiving|ready|invalid> chunks=<n> have=<n> missing=<n>[ reason=<r>]` then missing names. */
  ustStatus(epoch: number, w: ByteWriter, listMax: number): boolean {
    const e = this.ustFind(epoch);
    if (e < 0) return false;
    const st = this.ustEpochState[e];
    w.ascii("state=");
    if (st === ST_READY) w.ascii("ready");
    else if (st === ST_RECEIVING) w.ascii("receiving");
    else w.ascii("invalid");
    const n = this.ustEpochChunks[e];
    let have = 0;
    for (let i = 0; i < n; i++) {
      if (this.ustSlotFilled[this.ustEpochSlot[e * this.ustMaxChunks + i]] !== 0) have++;
    }
    w.labelUint(" chunks=", n);
    w.labelUint(" have=", have);
    w.labelUint(" missing=", n - have);
    if (st === ST_INVALID) {
      w.ascii(" reason=");
      w.ascii(ustReason(this.ustEpochReason[e]));
      const c = this.ustEpochReason[e];
      if (c < 0 && c > -20) {
        w.ascii(" detail=");
        w.ascii(umrReason(c));
      }
    }
    w.byte(10);
    let listed = 0;
    for (let i = 0; i < n && listed < listMax; i++) {
      const s = this.ustEpochSlot[e * this.ustMaxChunks + i];
      if (this.ustSlotFilled[s] !== 0) continue;
      w.ascii("missing ");
      for (let j = 0; j < HASH; j++) {
        const b = this.ustSlotHash[s * HASH + j];
        w.byte(ustHexDigit(Math.floor(b / 16)));
        w.byte(ustHexDigit(b % 16));
      }
      w.byte(10);
      listed++;
    }
    return true;
  }
}

function ustHexDigit(v: number): number {
  return v < 10 ? 48 + v : 87 + v;
}
