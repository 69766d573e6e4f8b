/**
 * `TraceLog`: the TraceFS rings behind `/trace/events` and `/proc/<id>/trace`. Events are JSONL
 * lines `{"seq":N,"ms":T,"cat":"…","level":"…","msg":"…"}`. The filter from `/trace/ctl` applies
 * when an event is recorded, and only recorded events take a sequence number, so the numbers a
 * reader sees are continuous; the rings are bounded (see RingSet) and filtered events are counted.
 */
import { allocU8, sizedWriter } from "./alloc.ts";
import { ByteWriter } from "../lib/bytes.ts";
import { RingSet } from "./ring.ts";

export const TRACE_CATEGORIES = ["boot", "ninep", "queen", "worker", "ticket", "gpu", "audit"];
export const Cat = { Boot: 0, Ninep: 1, Queen: 2, Worker: 3, Ticket: 4, Gpu: 5, Audit: 6 } as const;
export const TRACE_LEVELS = ["error", "warn", "info", "debug"];
export const Level = { Error: 0, Warn: 1, Info: 2, Debug: 3 } as const;

export function levelIndex(name: string): number {
  for (let i = 0; i < TRACE_LEVELS.length; i++) if (TRACE_LEVELS[i] === name) return i;
  return -1;
}

export function categoryIndex(name: string): number {
  for (let i = 0; i < TRACE_CATEGORIES.length; i++) if (TRACE_CATEGORIES[i] === name) return i;
  return -1;
}

export class TraceLog {
  events: RingSet;
  perWorker: RingSet;
  /** Composes the current event; callers append the message text with `w.ascii` / `w.uint`. */
  w: ByteWriter;
  level: number = Level.Info;
  enabled: Uint8Array;
  seq = 0;
  filtered = 0;
  private open = false;
  private worker = -1;

  constructor(ringBytes: number, workers: number, workerRingBytes: number) {
    this.events = new RingSet(1, ringBytes);
    this.perWorker = new RingSet(workers, workerRingBytes);
    this.w = sizedWriter(512);
    this.enabled = allocU8(TRACE_CATEGORIES.length);
  }

  /** Sets the filter; `cats` holds one flag per category. */
  setFilter(level: number, cats: Uint8Array): void {
    this.level = level;
    const enabled = this.enabled;
    for (let i = 0; i < enabled.length; i++) enabled[i] = cats[i];
  }

  /**
   * Starts an event; returns false (and counts it) when the filter drops it, in which case the
   * caller writes nothing. `worker` is a worker slot whose own trace also records it, or -1.
   */
  begin(cat: number, level: number, nowMs: number, worker: number): boolean {
    if (level > this.level || this.enabled[cat] === 0) {
      this.filtered++;
      return false;
    }
    const w = this.w;
    w.reset();
    this.seq++;
    w.ascii('{"seq":');
    w.uint(this.seq);
    w.ascii(',"ms":');
    w.uint(nowMs);
    w.ascii(',"cat":"');
    w.ascii(TRACE_CATEGORIES[cat]);
    w.ascii('","level":"');
    w.ascii(TRACE_LEVELS[level]);
    w.ascii('","msg":"');
    this.open = true;
    this.worker = worker;
    return true;
  }

  /** Finishes the event begun by `begin` and records it. */
  end(): void {
    if (!this.open) return;
    const w = this.w;
    w.ascii('"}\n');
    this.open = false;
    if (w.overflow) return;
    this.events.append(0, w.buf, 0, w.len);
    if (this.worker >= 0) this.perWorker.append(this.worker, w.buf, 0, w.len);
  }

  /** Writes the current filter as one JSON line (the read side of `/trace/ctl`). */
  describe(out: ByteWriter): void {
    out.ascii('{"level":"');
    out.ascii(TRACE_LEVELS[this.level]);
    out.ascii('","cats":[');
    let first = true;
    const enabled = this.enabled;
    for (let i = 0; i < enabled.length; i++) {
      if (enabled[i] === 0) continue;
      if (!first) out.byte(44);
      out.byte(34);
      out.ascii(TRACE_CATEGORIES[i]);
      out.byte(34);
      first = false;
    }
    out.ascii('],"seq":');
    out.uint(this.seq);
    out.ascii(',"filtered":');
    out.uint(this.filtered);
    out.ascii(',"dropped_bytes":');
    out.uint(this.events.dropped[0]);
    out.ascii("}\n");
  }
}
