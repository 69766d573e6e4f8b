/**
 * Signed, content-addressed updates (`[cas]`, Milestone 17; namespace reference §7), over the
 * UpdateStore (src/guest/updates/update_store.ts):
 *
 *   /updates/status               (read) `chunk_bytes=<n> slots=<n> free=<n> epochs=<n>/<max>`, then
 *                                 `epoch=<n> state=...` per epoch
 *   mkdir /updates/<epoch>        (queen) opens an update: a decimal epoch, 1..4294967295
 *   rmdir /updates/<epoch>        (queen) drops it: its files, and the chunks no other epoch lists
 *   /updates/<epoch>/manifest.cbor (append) the signed manifest, in one or more writes; it is read,
 *                                 verified and its room reserved once its last byte arrives (the
 *                                 CBOR header tells its length); the completing write gets the
 *                                 verdict as an errno, `status` the reason. Reads return it.
 *   /updates/<epoch>/chunks/<sha256> (append, one per chunk the manifest names) one write of the
 *                                 chunk's bytes, taken only when their sha256 is the name; a re-send
 *                                 is a no-op. Reads return the chunk once stored (nodes pull from here).
 *   /updates/<epoch>/status       (read) `state=<receiving|ready|invalid> chunks= have= missing=
 *                                 [reason=]` then up to 64 `missing <sha256>` lines;
 *                                 `state=receiving manifest=none staged=<n>` before the manifest.
 *
 * A manifest staged by one session is restarted when another session (a re-run push) writes, or
 * after a verdict. Tables are sized at boot from the manifest; chunk nodes are named when their
 * manifest is accepted. Porffor rules: fields prefixed `uf`, typed arrays written through aliases.
 */
import { allocF64, allocI32, allocU8 } from "../alloc.ts";
import type { ByteWriter } from "../../lib/bytes.ts";
import { EACCES, EEXIST, EFBIG, EINVAL, ENOENT, ENOSPC, EROFS } from "../../../secure9p/errors.ts";
import type { CasSpec } from "../../boot.ts";
import type { MkdirHook } from "../extension.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered } from "../provider.ts";
import { Access } from "../tree.ts";
import { casManifestCap } from "../../updates/manifest_reader.ts";
import {
  UST_BAD_SIGNATURE,
  UST_MISSING_BASE,
  UST_NO_ROOM,
  UST_NO_SLOT,
  UST_NO_VERIFIER,
  UST_OK,
  UST_UNTRUSTED,
  type UpdateSignatureCheck,
  UpdateStore,
} from "../../updates/update_store.ts";

const Kind = { Top: 1, Manifest: 2, Status: 3, Chunk: 4 } as const;
/** `missing` lines one status read lists (a push sends those, then reads again). */
const STATUS_LIST = 64;
const EPOCH_MAX = 4294967295;

/** Node-table slots: /updates and its status, and per epoch its directory, three entries and the chunks. */
export function updatesNodeCount(cas: CasSpec): number {
  return cas.enable ? 2 + cas.maxEpochs * (4 + cas.maxChunks) : 0;
}

/** The verdict of a manifest as an errno: signature → EACCES, room → ENOSPC, base → ENOENT, else EINVAL. */
function manifestErrno(code: number): number {
  if (code === UST_UNTRUSTED || code === UST_BAD_SIGNATURE || code === UST_NO_VERIFIER) return -EACCES;
  if (code === UST_NO_ROOM || code === UST_NO_SLOT) return -ENOSPC;
  if (code === UST_MISSING_BASE) return -ENOENT;
  return -EINVAL;
}

/**
 * Length of the manifest whose first `have` bytes are in buf: `[body: bstr, kid: bstr(4),
 * sig: bstr(64)]`, so the body's header fixes it. -1 while too few bytes arrived, -2 when the
 * header is not that shape (the reader then names the fault).
 */
function manifestLength(buf: Uint8Array, have: number): number {
  if (have < 2) return -1;
  if (buf[0] !== 0x83) return -2;
  const h = buf[1];
  let hdr = 1;
  let body = -1;
  if (h >= 0x40 && h < 0x58) body = h - 0x40;
  else if (h === 0x58) hdr = 2;
  else if (h === 0x59) hdr = 3;
  else if (h === 0x5a) hdr = 5;
  else return -2;
  if (body < 0) {
    if (have < 1 + hdr) return -1;
    body = 0;
    for (let i = 1; i < hdr; i++) body = body * 256 + buf[1 + i];
  }
  return 1 + hdr + body + 5 + 66;
}

export class UpdateFiles implements Provider, MkdirHook {
  provId = -1;
  mhDir = -1;
  private ufNd: NineDoor;
  private ufCas: CasSpec;
  private ufStore: UpdateStore;
  private ufCap: number;
  /** Per epoch slot: its number (0: free), directory and chunks directory nodes. */
  private ufEpoch: Float64Array;
  private ufDirNode: Int32Array;
  private ufChunksNode: Int32Array;
  private ufNamed: Uint8Array;
  /** The manifest being staged: bytes, count, expected length (-1 unknown), writer, verdict given. */
  private ufStage: Uint8Array[] = [];
  private ufStaged: Int32Array;
  private ufExpect: Int32Array;
  private ufWriter: Int32Array;
  private ufWriterGen: Int32Array;
  private ufSettled: Uint8Array;
  /** The 64 hex digits of a chunk name being made. */
  private ufDigits: Uint8Array;

  constructor(nd: NineDoor, check: UpdateSignatureCheck) {
    this.ufNd = nd;
    const cas = nd.boot.cas;
    this.ufCas = cas;
    const on = cas.enable;
    const epochs = on ? cas.maxEpochs : 1;
    this.ufCap = on ? casManifestCap(cas.maxChunks) : 1;
    // Off: a one-chunk store, never mounted (the extension is linked for other services).
    this.ufStore = on
      ? new UpdateStore(cas.maxBytes, cas.chunkBytes, cas.maxChunks, cas.maxEpochs, check)
      : new UpdateStore(128, 128, 1, 1, check);
    this.ufStore.ustDeltaOk = cas.delta;
    this.ufEpoch = allocF64(epochs);
    this.ufDirNode = allocI32(epochs);
    this.ufChunksNode = allocI32(epochs);
    this.ufNamed = allocU8(epochs);
    for (let e = 0; e < epochs; e++) this.ufStage.push(allocU8(this.ufCap));
    this.ufStaged = allocI32(epochs);
    this.ufExpect = allocI32(epochs);
    this.ufWriter = allocI32(epochs);
    this.ufWriterGen = allocI32(epochs);
    this.ufSettled = allocU8(epochs);
    this.ufDigits = allocU8(64);
  }

  mountNodes(): void {
    if (!this.ufCas.enable) return;
    const nd = this.ufNd;
    const t = nd.tree;
    const dir = t.addDir(0, "updates", 0, 0);
    this.mhDir = dir;
    t.add(dir, "status", this.provId, Kind.Top, Access.ReadOnly, 0, 0);
    nd.mkdirHook = this;
  }

  /** `mkdir /updates/<epoch>`: a canonical decimal epoch not yet open, in a free epoch slot. */
  mhMkdir(_s: number, buf: Uint8Array, off: number, len: number): number {
    if (len < 1 || len > 10 || buf[off] === 48) return -EINVAL;
    let epoch = 0;
    for (let i = 0; i < len; i++) {
      const c = buf[off + i];
      if (c < 48 || c > 57) return -EINVAL;
      epoch = epoch * 10 + (c - 48);
    }
    if (epoch > EPOCH_MAX) return -EINVAL;
    let free = -1;
    for (let e = 0; e < this.ufEpoch.length; e++) {
      if (this.ufEpoch[e] === epoch) return -EEXIST;
      if (free < 0 && this.ufEpoch[e] === 0) free = e;
    }
    if (free < 0) return -ENOSPC;
    const t = this.ufNd.tree;
    const name = String(epoch);
    const d = t.addDir(this.mhDir, name, free, Math.floor(this.ufNd.nowMs / 1000));
    if (d < 0) return -ENOSPC;
    t.add(d, "manifest.cbor", this.provId, Kind.Manifest, Access.AppendOnly, free, 0);
    t.add(d, "status", this.provId, Kind.Status, Access.ReadOnly, free, 0);
    const c = t.addDir(d, "chunks", free, 0);
    {
      const w = this.ufEpoch;
      w[free] = epoch;
    }
    {
      const w = this.ufDirNode;
      w[free] = d;
    }
    {
      const w = this.ufChunksNode;
      w[free] = c;
    }
    {
      const w = this.ufSettled;
      w[free] = 1;
    }
    return d;
  }

  /** `rmdir /updates/<epoch>`: the epoch's nodes go, its chunk slots are freed unless shared. */
  mhRemove(_s: number, slot: number): number {
    let e = -1;
    for (let i = 0; i < this.ufEpoch.length && e < 0; i++) if (this.ufEpoch[i] !== 0 && this.ufDirNode[i] === slot) e = i;
    if (e < 0) return -ENOENT;
    this.ufStore.ustDrop(this.ufEpoch[e]);
    this.ufNd.dropSubtree(slot);
    {
      const w = this.ufEpoch;
      w[e] = 0;
    }
    {
      const w = this.ufNamed;
      w[e] = 0;
    }
    {
      const w = this.ufStaged;
      w[e] = 0;
    }
    {
      const w = this.ufSettled;
      w[e] = 1;
    }
    return 0;
  }

  nodeRead(kind: number, a: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    const st = this.ufStore;
    if (kind === Kind.Chunk) {
      const e = Math.floor(a / this.ufCas.maxChunks);
      return st.ustChunkRead(this.ufEpoch[e], a % this.ufCas.maxChunks, offset, dst, dstOff, count);
    }
    if (kind === Kind.Manifest) {
      const have = this.ufStaged[a];
      if (offset >= have) return 0;
      let n = have - offset;
      if (n > count) n = count;
      const src = this.ufStage[a];
      const base = offset;
      for (let i = 0; i < n; i++) dst[dstOff + i] = src[base + i];
      return n;
    }
    const w = this.ufNd.scratch;
    w.reset();
    if (kind === Kind.Status) this.ufEpochStatus(a, w, STATUS_LIST);
    else {
      let open = 0;
      for (let e = 0; e < this.ufEpoch.length; e++) if (this.ufEpoch[e] !== 0) open++;
      w.labelUint("chunk_bytes=", this.ufCas.chunkBytes);
      w.labelUint(" slots=", st.ustSlots);
      w.labelUint(" free=", st.ustFree());
      w.labelUint(" epochs=", open);
      w.labelUint("/", this.ufCas.maxEpochs);
      w.byte(10);
      for (let e = 0; e < this.ufEpoch.length; e++) {
        if (this.ufEpoch[e] === 0) continue;
        w.labelUint("epoch=", this.ufEpoch[e]);
        w.byte(32);
        this.ufEpochStatus(e, w, 0);
      }
    }
    return readRendered(w, offset, dst, dstOff, count);
  }

  private ufEpochStatus(e: number, w: ByteWriter, list: number): void {
    const epoch = this.ufEpoch[e];
    if (this.ufStore.ustStatus(epoch, w, list)) return;
    w.ascii("state=receiving manifest=none");
    w.labelUint(" staged=", this.ufStaged[e]);
    w.byte(10);
  }

  nodeWrite(s: number, kind: number, a: number, src: Uint8Array, srcOff: number, count: number): number {
    if (kind === Kind.Chunk) {
      const m = this.ufCas.maxChunks;
      const r = this.ufStore.ustChunkAt(this.ufEpoch[Math.floor(a / m)], a % m, src, srcOff, count);
      return r < 0 ? -EINVAL : count;
    }
    if (kind !== Kind.Manifest) return -EROFS;
    return this.ufManifestWrite(s, a, src, srcOff, count);
  }

  /** Stages a manifest write; when the last byte is in, hands it to the store and names the chunks. */
  private ufManifestWrite(s: number, e: number, src: Uint8Array, srcOff: number, count: number): number {
    const gen = this.ufNd.sessions.gen[s];
    const staged = this.ufStaged;
    const expect = this.ufExpect;
    if (this.ufSettled[e] !== 0 || this.ufWriter[e] !== s || this.ufWriterGen[e] !== gen) {
      staged[e] = 0;
      expect[e] = -1;
      const settled = this.ufSettled;
      settled[e] = 0;
      const wr = this.ufWriter;
      wr[e] = s;
      const wg = this.ufWriterGen;
      wg[e] = gen;
    }
    if (staged[e] + count > this.ufCap) {
      const settled = this.ufSettled;
      settled[e] = 1;
      staged[e] = 0;
      return -EFBIG;
    }
    const stage = this.ufStage[e];
    for (let i = 0; i < count; i++) stage[staged[e] + i] = src[srcOff + i];
    staged[e] = staged[e] + count;
    if (expect[e] < 0) expect[e] = manifestLength(stage, staged[e]);
    // -1: the header is not complete yet; -2: not a manifest (the store's reader says why).
    if (expect[e] === -1 || (expect[e] > 0 && staged[e] < expect[e])) return count;
    const settled = this.ufSettled;
    settled[e] = 1;
    const st = this.ufStore;
    const epoch = this.ufEpoch[e];
    const r = st.ustManifest(epoch, stage, staged[e]);
    if (r !== UST_OK) return manifestErrno(r);
    this.ufNameChunks(e, epoch);
    return count;
  }

  /** Adds `chunks/<sha256>` for each chunk of the accepted manifest (once per epoch). */
  private ufNameChunks(e: number, epoch: number): void {
    if (this.ufNamed[e] !== 0) return;
    const named = this.ufNamed;
    named[e] = 1;
    const st = this.ufStore;
    const t = this.ufNd.tree;
    const n = st.ustChunkCount(epoch);
    const m = this.ufCas.maxChunks;
    for (let i = 0; i < n; i++) {
      const name = this.ufHexName(epoch, i);
      // A chunk the manifest lists twice is one file.
      if (t.childNamed(this.ufChunksNode[e], name) >= 0) continue;
      t.add(this.ufChunksNode[e], name, this.provId, Kind.Chunk, Access.AppendOnly, e * m + i, 0);
    }
  }

  /**
   * Chunk `i`'s sha256 as 64 hex digits, made as one string: the guest has no GC, and building it
   * a character at a time cost 64 strings per chunk (natively the arena ran out at ~40 chunks).
   */
  private ufHexName(epoch: number, i: number): string {
    const d = this.ufDigits;
    for (let k = 0; k < 64; k++) d[k] = this.ufStore.ustNameDigit(epoch, i, k);
    return String.fromCharCode(
      d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15],
      d[16], d[17], d[18], d[19], d[20], d[21], d[22], d[23], d[24], d[25], d[26], d[27], d[28], d[29], d[30], d[31],
      d[32], d[33], d[34], d[35], d[36], d[37], d[38], d[39], d[40], d[41], d[42], d[43], d[44], d[45], d[46], d[47],
      d[48], d[49], d[50], d[51], d[52], d[53], d[54], d[55], d[56], d[57], d[58], d[59], d[60], d[61], d[62], d[63],
    );
  }

  nodeSize(kind: number, a: number): number {
    if (kind === Kind.Manifest) return this.ufStaged[a];
    if (kind === Kind.Chunk) {
      const m = this.ufCas.maxChunks;
      return this.ufStore.ustChunkSize(this.ufEpoch[Math.floor(a / m)], a % m);
    }
    return 0;
  }

  nodeStart(_kind: number, _a: number): number {
    return 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {}
}
