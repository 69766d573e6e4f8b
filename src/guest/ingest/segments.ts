/**
 * `SegmentStore`: the state behind `/queen/telemetry/<device>/…` (telemetry ingest, seeds 21a).
 * Devices push bounded records into segments the hive names itself (`seg-000001`, …); the client
 * never chooses a name. Everything is allocated at boot from the manifest's `[telemetry_ingest]`:
 * a device table, per device `maxSegments` slots of `maxSegmentBytes` each.
 *
 * Bounds (each refusal leaves no partial state):
 *   - a record (one write) over `maxRecordBytes` → EMSGSIZE;
 *   - a write not at the segment's end → EINVAL (append-only, no random writes);
 *   - a segment that would pass `maxSegmentBytes` → EFBIG;
 *   - a device at `maxSegments` segments, or whose bytes would pass `maxDeviceBytes`:
 *     policy `refuse` → ENOSPC; policy `evict-oldest` → the oldest other segments are dropped
 *     (reads of them answer ENOENT) until the new one fits;
 *   - more devices than `maxDevices` → ENOSPC.
 * Guest code: sans-IO, no allocation per request (a device name string is kept once, at creation).
 */
import { allocF64, allocU8, StringTable } from "../ninedoor/alloc.ts";
import { EFBIG, EINVAL, EMSGSIZE, ENOENT, ENOSPC } from "../../secure9p/errors.ts";

export const Eviction = { Refuse: 0, EvictOldest: 1 } as const;

/** Media types a segment may be created with (index stored per segment). */
export const INGEST_MIMES = [
  "text/plain",
  "application/json",
  "application/x-ndjson",
  "text/csv",
  "application/octet-stream",
];

export interface IngestLimits {
  /** 0 = ingest disabled (no `/queen/telemetry`). */
  maxDevices: number;
  maxSegments: number;
  maxSegmentBytes: number;
  maxDeviceBytes: number;
  eviction: number;
  maxRecordBytes: number;
}

export class SegmentStore {
  readonly lim: IngestLimits;
  names: StringTable;
  used: Uint8Array;
  nextSeg: Float64Array;
  deviceBytes: Float64Array;
  evicted: Float64Array;
  /** Per slot (device * maxSegments + i): segment id (0 = free), length, mime index. */
  slotSeg: Float64Array;
  slotLen: Float64Array;
  slotMime: Uint8Array;
  bufs: Uint8Array[] = [];
  deviceCount = 0;

  constructor(lim: IngestLimits) {
    this.lim = lim;
    const d = lim.maxDevices;
    const slots = d * lim.maxSegments;
    this.names = new StringTable(d > 0 ? d : 1);
    this.used = allocU8(d + 1);
    this.nextSeg = allocF64(d + 1);
    this.deviceBytes = allocF64(d + 1);
    this.evicted = allocF64(d + 1);
    this.slotSeg = allocF64(slots + 1);
    this.slotLen = allocF64(slots + 1);
    this.slotMime = allocU8(slots + 1);
    for (let i = 0; i < slots; i++) this.bufs.push(allocU8(lim.maxSegmentBytes));
  }

  /** Device index for a name, or -ENOENT. */
  deviceIndex(name: string): number {
    const used = this.used;
    for (let d = 0; d < this.lim.maxDevices; d++) {
      if (used[d] !== 0 && this.names.get(d) === name) return d;
    }
    return -ENOENT;
  }

  /** Device index for a name, made on first use; -EINVAL for a bad name, -ENOSPC when the table is full. */
  deviceAdd(name: string): number {
    if (!validDeviceName(name)) return -EINVAL;
    const found = this.deviceIndex(name);
    if (found >= 0) return found;
    const used = this.used;
    for (let d = 0; d < this.lim.maxDevices; d++) {
      if (used[d] !== 0) continue;
      used[d] = 1;
      this.names.set(d, name);
      const next = this.nextSeg;
      next[d] = 1;
      this.deviceCount++;
      return d;
    }
    return -ENOSPC;
  }

  /** Creates the device's next segment; returns its id (> 0) or -errno. */
  segmentNew(d: number, mime: number): number {
    const lim = this.lim;
    if (this.segmentCount(d) >= lim.maxSegments) {
      if (lim.eviction !== Eviction.EvictOldest) return -ENOSPC;
      this.segmentEvict(d, this.segmentOldest(d, 0));
    }
    const base = d * lim.maxSegments;
    const slotSeg = this.slotSeg;
    for (let i = 0; i < lim.maxSegments; i++) {
      if (slotSeg[base + i] !== 0) continue;
      const id = this.nextSeg[d];
      const next = this.nextSeg;
      next[d] = id + 1;
      slotSeg[base + i] = id;
      const len = this.slotLen;
      len[base + i] = 0;
      const mimes = this.slotMime;
      mimes[base + i] = mime;
      return id;
    }
    return -ENOSPC;
  }

  /** Slot of a live segment, or -ENOENT (never made, or evicted). */
  segmentSlot(d: number, seg: number): number {
    const base = d * this.lim.maxSegments;
    const slotSeg = this.slotSeg;
    for (let i = 0; i < this.lim.maxSegments; i++) if (slotSeg[base + i] === seg && seg > 0) return base + i;
    return -ENOENT;
  }

  /** Newest segment id of the device (0 before the first). */
  segmentLatest(d: number): number {
    return this.nextSeg[d] > 1 ? this.nextSeg[d] - 1 : 0;
  }

  segmentCount(d: number): number {
    let n = 0;
    const base = d * this.lim.maxSegments;
    for (let i = 0; i < this.lim.maxSegments; i++) if (this.slotSeg[base + i] !== 0) n++;
    return n;
  }

  /** The k-th smallest live segment id of the device (0-based), or 0: readdir order. */
  segmentAt(d: number, k: number): number {
    let prev = 0;
    for (let n = 0; n <= k; n++) {
      const next = this.segmentAfter(d, prev);
      if (next === 0) return 0;
      prev = next;
    }
    return prev;
  }

  /**
   * Appends one record at `offset` (`atEnd` for the u64::MAX "append" offset). Returns bytes
   * written or -errno; a refused write changes nothing.
   */
  segmentAppend(
    d: number,
    seg: number,
    offset: number,
    atEnd: boolean,
    src: Uint8Array,
    srcOff: number,
    n: number,
  ): number {
    const lim = this.lim;
    const s = this.segmentSlot(d, seg);
    if (s < 0) return s;
    if (n > lim.maxRecordBytes) return -EMSGSIZE;
    const len = this.slotLen[s];
    if (!atEnd && offset !== len) return -EINVAL;
    if (len + n > lim.maxSegmentBytes) return -EFBIG;
    if (this.deviceBytes[d] + n > lim.maxDeviceBytes) {
      if (lim.eviction !== Eviction.EvictOldest) return -ENOSPC;
      // Count first, evict after: a write that cannot fit even with every other segment gone evicts nothing.
      if (len + n > lim.maxDeviceBytes) return -ENOSPC;
      while (this.deviceBytes[d] + n > lim.maxDeviceBytes) this.segmentEvict(d, this.segmentOldest(d, seg));
    }
    const buf = this.bufs[s];
    for (let i = 0; i < n; i++) buf[len + i] = src[srcOff + i];
    const lens = this.slotLen;
    lens[s] = len + n;
    const bytes = this.deviceBytes;
    bytes[d] = bytes[d] + n;
    return n;
  }

  /** Reads a live segment; -ENOENT once evicted. */
  segmentRead(d: number, seg: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    const s = this.segmentSlot(d, seg);
    if (s < 0) return s;
    const len = this.slotLen[s];
    if (offset >= len) return 0;
    const n = Math.min(count, len - offset);
    const buf = this.bufs[s];
    for (let i = 0; i < n; i++) dst[dstOff + i] = buf[offset + i];
    return n;
  }

  /** Oldest live segment id of the device other than `except` (0 if none). */
  private segmentOldest(d: number, except: number): number {
    let best = 0;
    const base = d * this.lim.maxSegments;
    for (let i = 0; i < this.lim.maxSegments; i++) {
      const id = this.slotSeg[base + i];
      if (id !== 0 && id !== except && (best === 0 || id < best)) best = id;
    }
    return best;
  }

  private segmentAfter(d: number, above: number): number {
    let best = 0;
    const base = d * this.lim.maxSegments;
    for (let i = 0; i < this.lim.maxSegments; i++) {
      const id = this.slotSeg[base + i];
      if (id > above && (best === 0 || id < best)) best = id;
    }
    return best;
  }

  private segmentEvict(d: number, seg: number): void {
    const s = this.segmentSlot(d, seg);
    if (s < 0) return;
    const bytes = this.deviceBytes;
    bytes[d] = bytes[d] - this.slotLen[s];
    const slotSeg = this.slotSeg;
    slotSeg[s] = 0;
    const lens = this.slotLen;
    lens[s] = 0;
    const ev = this.evicted;
    ev[d] = ev[d] + 1;
  }
}

/** A device id: 1-64 of `A-Z a-z 0-9 _ -` (character codes compared one by one: Porffor-safe). */
export function validDeviceName(name: string): boolean {
  if (name.length < 1 || name.length > 64) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
    if (!ok) return false;
  }
  return true;
}

/** Writes `seg-000001` for a segment id into `out` at `off`; returns the length (10 for ids < 10^6). */
export function segmentName(id: number, out: Uint8Array, off: number): number {
  let digits = 6;
  while (id >= Math.pow(10, digits)) digits++;
  out[off] = 115; // s
  out[off + 1] = 101; // e
  out[off + 2] = 103; // g
  out[off + 3] = 45; // -
  let v = id;
  for (let i = digits - 1; i >= 0; i--) {
    out[off + 4 + i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return 4 + digits;
}

/** Segment id from `seg-000001` bytes, or -1. */
export function parseSegmentName(name: string): number {
  if (
    name.length < 10 || name.charCodeAt(0) !== 115 || name.charCodeAt(1) !== 101 ||
    name.charCodeAt(2) !== 103 || name.charCodeAt(3) !== 45
  ) return -1;
  let v = 0;
  for (let i = 4; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  if (name.length > 10 && name.charCodeAt(4) === 48) return -1; // no extra leading zeros
  return v > 0 ? v : -1;
}
