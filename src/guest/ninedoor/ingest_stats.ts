/**
 * Telemetry ingest statistics behind `/proc/ingest`: every append to a worker's telemetry ring or an
 * ingest segment, every refusal and every byte dropped to make room, and the read lag — how long the
 * oldest unread data of a stream waited (injected clock) before a reader took it. The lag is sampled
 * once per stream per wait (the first read after appends), kept in a ring of `latencySamples`, and
 * reported as nearest-rank percentiles. Streams are numbered by the caller: worker slots first, then
 * ingest segment slots. Every column is allocated here, once.
 */
import { allocF64 } from "./alloc.ts";

export interface IngestStatsSpec {
  latencySamples: number;
}

export class IngestStats {
  /** Appends refused for lack of room or over a bound (back-pressure reaching the writer). */
  backpressure = 0;
  /** Bytes dropped to make room (ring overwrite, evicted segments). */
  dropped = 0;
  /** Bytes appended in total. */
  appended = 0;
  /** Bytes held now: appended, minus dropped, minus streams emptied (a worker removed). */
  queued = 0;
  /** Injected time the oldest unread data of each stream arrived; -1 when nothing waits. */
  private waitingSince: Float64Array;
  /** The last `cap` read-lag samples (ms); `count` ever taken. */
  private lag: Float64Array;
  private sorted: Float64Array;
  private lagCap: number;
  lagCount = 0;

  constructor(streams: number, spec: IngestStatsSpec) {
    this.waitingSince = allocF64(streams + 1);
    const ws = this.waitingSince;
    for (let i = 0; i < ws.length; i++) ws[i] = -1;
    this.lagCap = spec.latencySamples > 0 ? spec.latencySamples : 1;
    this.lag = allocF64(this.lagCap);
    this.sorted = allocF64(this.lagCap);
  }

  /** `bytes` were appended to `stream` at `nowMs`, dropping `droppedBytes` older ones to fit. */
  onAppend(stream: number, nowMs: number, bytes: number, droppedBytes: number): void {
    this.appended += bytes;
    this.dropped += droppedBytes;
    this.queued += bytes - droppedBytes;
    const ws = this.waitingSince;
    if (ws[stream] < 0) ws[stream] = nowMs;
  }

  /** A read of `stream` at `nowMs` returned `bytes`: the first one after appends is a lag sample. */
  onRead(stream: number, nowMs: number, bytes: number): void {
    const ws = this.waitingSince;
    if (bytes <= 0 || ws[stream] < 0) return;
    const l = this.lag;
    l[this.lagCount % this.lagCap] = nowMs - ws[stream];
    this.lagCount++;
    ws[stream] = -1;
  }

  /** An append was refused (a full ring's oversize record, a segment or device bound). */
  onRefused(): void {
    this.backpressure++;
  }

  /** Bytes dropped outside an append (a segment evicted to make room for a new one). */
  onDropped(bytes: number): void {
    this.dropped += bytes;
    this.queued -= bytes;
  }

  /** `stream` was emptied (its worker removed, its segment evicted) with `heldBytes` still in it. */
  onReset(stream: number, heldBytes: number): void {
    const ws = this.waitingSince;
    ws[stream] = -1;
    this.queued -= heldBytes;
  }

  /** Nearest-rank percentile `p` (1..100) of the kept lag samples; 0 with none. */
  percentile(p: number): number {
    const n = this.lagCount < this.lagCap ? this.lagCount : this.lagCap;
    if (n === 0) return 0;
    const s = this.sorted;
    const l = this.lag;
    // Insertion sort: at most 64 samples, no allocation.
    for (let i = 0; i < n; i++) {
      const v = l[i];
      let j = i - 1;
      while (j >= 0 && s[j] > v) {
        s[j + 1] = s[j];
        j--;
      }
      s[j + 1] = v;
    }
    let rank = Math.ceil((p * n) / 100);
    if (rank < 1) rank = 1;
    return s[rank - 1];
  }

  /** Samples currently kept. */
  samples(): number {
    return this.lagCount < this.lagCap ? this.lagCount : this.lagCap;
  }
}
