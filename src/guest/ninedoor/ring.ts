/**
 * `RingSet`: a fixed number of bounded byte rings sharing one arena allocated at boot
 * (one typed array for 1,000 workers instead of 1,000: each Porffor allocation costs ~16 KiB).
 *
 * The arena is split into chunks of at most 512 KiB, because one Porffor allocation must fit its
 * 1 MiB allocator chunk (alloc.ts); a single ring is capped at that size.
 *
 * A ring is an append-only file whose offsets are absolute: byte N of the stream keeps offset N for
 * ever, so a reader resumes exactly where it stopped by reading at its last offset (its cursor).
 * When an append does not fit, whole oldest lines are dropped and counted in `dropped`; a read below
 * the retained window is a stale cursor and gets -EINVAL instead of silently skipping data.
 */
import { allocF64, allocU8 } from "./alloc.ts";
import { EINVAL, EMSGSIZE } from "../../secure9p/errors.ts";

/** Largest arena chunk, and so the largest ring. */
export const RING_CHUNK_BYTES = 524288;

export class RingSet {
  readonly count: number;
  readonly cap: number;
  /** Rings per arena chunk. */
  readonly perChunk: number;
  chunks: Uint8Array[] = [];
  /** Absolute offset of the oldest retained byte. */
  start: Float64Array;
  /** Absolute offset one past the newest byte (total bytes ever appended). */
  end: Float64Array;
  /** Bytes dropped to make room (overflow, never silent). */
  dropped: Float64Array;
  /** Appends refused because one record was larger than the ring. */
  refused: Float64Array;

  constructor(count: number, cap: number) {
    if (cap > RING_CHUNK_BYTES) cap = RING_CHUNK_BYTES;
    if (cap < 1) cap = 1;
    this.count = count;
    this.cap = cap;
    const per = Math.floor(RING_CHUNK_BYTES / cap);
    this.perChunk = per;
    for (let first = 0; first < count; first += per) {
      const n = count - first < per ? count - first : per;
      this.chunks.push(allocU8(n * cap));
    }
    this.start = allocF64(count);
    this.end = allocF64(count);
    this.dropped = allocF64(count);
    this.refused = allocF64(count);
  }

  /** Empties ring `i` and clears its counters (a new worker reusing a slot starts at offset 0). */
  reset(i: number): void {
    const start = this.start;
    const end = this.end;
    const dropped = this.dropped;
    const refused = this.refused;
    start[i] = 0;
    end[i] = 0;
    dropped[i] = 0;
    refused[i] = 0;
  }

  /** Bytes currently retained by ring `i`. */
  used(i: number): number {
    return this.end[i] - this.start[i];
  }

  /**
   * Appends src[off..off+len) to ring `i` as one record. Returns len, or -EMSGSIZE (and counts a
   * refusal) when the record alone exceeds the ring.
   */
  append(i: number, src: Uint8Array, off: number, len: number): number {
    const cap = this.cap;
    if (len > cap) {
      const refused = this.refused;
      refused[i] = refused[i] + 1;
      return -EMSGSIZE;
    }
    const data = this.chunks[Math.floor(i / this.perChunk)];
    const startArr = this.start;
    const endArr = this.end;
    const base = (i % this.perChunk) * cap;
    let start = startArr[i];
    const end = endArr[i];
    if (end - start + len > cap) {
      // Drop from the oldest end, then on to the next line start so readers never see half a line.
      const oldStart = start;
      start = end + len - cap;
      while (start < end && data[base + ((start - 1) % cap)] !== 10) start = start + 1;
      const dropped = this.dropped;
      dropped[i] = dropped[i] + (start - oldStart);
      startArr[i] = start;
    }
    // Two straight copies (up to the ring's end, then from its start) instead of a wrap test per byte.
    const pos = end % cap;
    const first = cap - pos < len ? cap - pos : len;
    const at = base + pos;
    for (let k = 0; k < first; k++) data[at + k] = src[off + k];
    for (let k = first; k < len; k++) data[base + k - first] = src[off + k];
    endArr[i] = end + len;
    return len;
  }

  /**
   * Reads from ring `i` at absolute `offset` into dst[dstOff..]. Returns bytes read, 0 at the end,
   * or -EINVAL when `offset` fell out of the retained window (stale cursor).
   */
  read(i: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    const start = this.start[i];
    const end = this.end[i];
    if (offset < start) return -EINVAL;
    if (offset >= end) return 0;
    let n = end - offset;
    if (n > count) n = count;
    const cap = this.cap;
    const data = this.chunks[Math.floor(i / this.perChunk)];
    const base = (i % this.perChunk) * cap;
    const pos = offset % cap;
    const first = cap - pos < n ? cap - pos : n;
    const at = base + pos;
    for (let k = 0; k < first; k++) dst[dstOff + k] = data[at + k];
    for (let k = first; k < n; k++) dst[dstOff + k] = data[base + k - first];
    return n;
  }
}
