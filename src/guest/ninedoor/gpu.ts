/**
 * `GpuSim`: the simulated GPU provider behind `/gpu/<id>/{info,ctl,job,status}` when no host bridge
 * is attached. A GPU is leased to one worker at a time; jobs queue per GPU (fixed depth) and run for
 * their declared `ms` of injected time, one at a time; every state change is a `status` line.
 */
import { allocF64, allocI32, allocU8, sizedWriter } from "./alloc.ts";
import type { GpuSpec } from "../boot.ts";
import { ByteWriter } from "../lib/bytes.ts";
import { RingSet } from "./ring.ts";

export const JOB_QUEUE = 8;
export const MAX_JOB_ID = 32;
export const MAX_JOB_MS = 3600000;
const STATUS_RING = 4096;

export class GpuSim {
  readonly count: number;
  ids: string[] = [];
  models: string[] = [];
  memMb: Float64Array;
  streams: Float64Array;
  /** Leasing worker slot, or -1. */
  lessee: Int32Array;
  leaseMemMb: Float64Array;
  leaseStreams: Float64Array;
  priority: Float64Array;
  /** Job ring per GPU: ids as bytes, duration, and head/length of the queue. */
  jobIds: Uint8Array;
  jobIdLen: Int32Array;
  jobMs: Float64Array;
  qHead: Int32Array;
  qLen: Int32Array;
  /** Injected-clock ms the running job (queue head) finishes, or -1 when idle. */
  runUntil: Float64Array;
  jobsDone: Float64Array;
  status: RingSet;
  w: ByteWriter;

  constructor(specs: GpuSpec[]) {
    const n = specs.length;
    this.count = n;
    this.memMb = allocF64(n);
    this.streams = allocF64(n);
    this.lessee = allocI32(n);
    this.leaseMemMb = allocF64(n);
    this.leaseStreams = allocF64(n);
    this.priority = allocF64(n);
    this.jobIds = allocU8(n * JOB_QUEUE * MAX_JOB_ID);
    this.jobIdLen = allocI32(n * JOB_QUEUE);
    this.jobMs = allocF64(n * JOB_QUEUE);
    this.qHead = allocI32(n);
    this.qLen = allocI32(n);
    this.runUntil = allocF64(n);
    this.jobsDone = allocF64(n);
    this.status = new RingSet(n, STATUS_RING);
    this.w = sizedWriter(256);
    const mem = this.memMb;
    const st = this.streams;
    const lessee = this.lessee;
    const run = this.runUntil;
    for (let g = 0; g < n; g++) {
      this.ids.push(specs[g].id);
      this.models.push(specs[g].model);
      mem[g] = specs[g].memMb;
      st[g] = specs[g].streams;
      lessee[g] = -1;
      run[g] = -1;
    }
  }

  indexOf(buf: Uint8Array, off: number, len: number): number {
    const ids = this.ids;
    for (let g = 0; g < this.count; g++) {
      const id = ids[g];
      if (id.length !== len) continue;
      let same = true;
      for (let i = 0; i < len; i++) if (buf[off + i] !== id.charCodeAt(i)) same = false;
      if (same) return g;
    }
    return -1;
  }

  private line(g: number): void {
    const w = this.w;
    w.byte(10);
    if (!w.overflow) this.status.append(g, w.buf, 0, w.len);
  }

  lease(
    g: number,
    worker: number,
    workerId: string,
    memMb: number,
    streams: number,
    ttlS: number,
    prio: number,
  ): void {
    const lessee = this.lessee;
    const lm = this.leaseMemMb;
    const ls = this.leaseStreams;
    const pr = this.priority;
    lessee[g] = worker;
    lm[g] = memMb;
    ls[g] = streams;
    pr[g] = prio;
    const w = this.w;
    w.reset();
    w.ascii("lease state=ACTIVE worker=");
    w.ascii(workerId);
    w.labelUint(" mem_mb=", memMb);
    w.labelUint(" streams=", streams);
    w.labelUint(" ttl_s=", ttlS);
    w.labelUint(" priority=", prio);
    this.line(g);
  }

  /** Ends the lease and drops queued jobs (each gets a CANCELLED line). */
  release(g: number, reason: string): void {
    if (this.lessee[g] < 0) return;
    const lessee = this.lessee;
    lessee[g] = -1;
    const w = this.w;
    while (this.qLen[g] > 0) {
      w.reset();
      this.jobLine(g, this.qHead[g], "CANCELLED");
      this.line(g);
      this.pop(g);
    }
    const run = this.runUntil;
    run[g] = -1;
    w.reset();
    w.ascii("lease state=RELEASED reason=");
    w.ascii(reason);
    this.line(g);
  }

  setPriority(g: number, prio: number): void {
    const pr = this.priority;
    pr[g] = prio;
    const w = this.w;
    w.reset();
    w.labelUint("lease priority=", prio);
    this.line(g);
  }

  /** Queues a job whose id is buf[off..off+len). Returns false when the queue is full. */
  submit(g: number, buf: Uint8Array, off: number, len: number, ms: number, nowMs: number): boolean {
    const n = this.qLen[g];
    if (n >= JOB_QUEUE) return false;
    const q = g * JOB_QUEUE + ((this.qHead[g] + n) % JOB_QUEUE);
    const ids = this.jobIds;
    for (let i = 0; i < len; i++) ids[q * MAX_JOB_ID + i] = buf[off + i];
    const idLen = this.jobIdLen;
    const jm = this.jobMs;
    idLen[q] = len;
    jm[q] = ms;
    const ql = this.qLen;
    ql[g] = n + 1;
    const w = this.w;
    w.reset();
    this.jobLine(g, this.qHead[g] + n, "QUEUED");
    this.line(g);
    if (n === 0) this.start(g, nowMs);
    return true;
  }

  private jobLine(g: number, qi: number, state: string): void {
    const q = g * JOB_QUEUE + (qi % JOB_QUEUE);
    const w = this.w;
    w.ascii("job=");
    w.bytes(this.jobIds, q * MAX_JOB_ID, this.jobIdLen[q]);
    w.ascii(" state=");
    w.ascii(state);
  }

  private start(g: number, nowMs: number): void {
    const q = g * JOB_QUEUE + this.qHead[g];
    const run = this.runUntil;
    run[g] = nowMs + this.jobMs[q];
    const w = this.w;
    w.reset();
    this.jobLine(g, this.qHead[g], "RUNNING");
    this.line(g);
  }

  private pop(g: number): void {
    const qh = this.qHead;
    const ql = this.qLen;
    qh[g] = (qh[g] + 1) % JOB_QUEUE;
    ql[g] = ql[g] - 1;
  }

  /** Completes every job whose time has come, starting the next queued one each time. */
  advance(nowMs: number): void {
    for (let g = 0; g < this.count; g++) {
      while (this.qLen[g] > 0 && this.runUntil[g] >= 0 && this.runUntil[g] <= nowMs) {
        const doneAt = this.runUntil[g];
        const w = this.w;
        w.reset();
        this.jobLine(g, this.qHead[g], "OK");
        w.ascii(" exit_code=0");
        this.line(g);
        const done = this.jobsDone;
        done[g] = done[g] + 1;
        this.pop(g);
        const run = this.runUntil;
        run[g] = -1;
        if (this.qLen[g] > 0) this.start(g, doneAt);
      }
    }
  }

  /** The `info` file: one JSON object. */
  info(g: number, out: ByteWriter, lesseeId: string): void {
    out.ascii('{"id":"');
    out.ascii(this.ids[g]);
    out.ascii('","model":"');
    out.ascii(this.models[g]);
    out.ascii('","mem_mb":');
    out.uint(this.memMb[g]);
    out.ascii(',"streams":');
    out.uint(this.streams[g]);
    out.ascii(',"simulated":true,"lease":');
    if (this.lessee[g] < 0) out.ascii("null");
    else {
      out.ascii('{"worker":"');
      out.ascii(lesseeId);
      out.ascii('","mem_mb":');
      out.uint(this.leaseMemMb[g]);
      out.ascii(',"streams":');
      out.uint(this.leaseStreams[g]);
      out.ascii(',"priority":');
      out.uint(this.priority[g]);
      out.byte(125);
    }
    out.ascii(',"queued":');
    out.uint(this.qLen[g]);
    out.ascii(',"done":');
    out.uint(this.jobsDone[g]);
    out.ascii("}\n");
  }
}
