/**
 * `GpuLeaseQueue`: lease requests waiting for a simulated GPU, granted by priority, and the
 * `gpu-lease/v1` view of each GPU's lease (`/gpu/<id>/lease`, at most 1024 bytes).
 *
 * `LEASE req=<id> mem_mb=<n> streams=<n> ttl_s=<n> priority=<0..255>` on `/gpu/<id>/ctl` asks for the
 * GPU: granted at once when it is free and nobody waits, else queued. Whenever the GPU is free the
 * highest priority waiter (the earliest among equals) gets it: NineDoor spawns a GPU worker for it
 * with the lease, exactly as a `/queen/ctl` GPU spawn would, and the lease file names the request, so
 * the requester learns its worker id there. The lease ends by `RELEASE`, the worker's end, or its
 * ttl on the injected clock (state EXPIRED); a later job write is refused (no lessee).
 * `CANCEL req=<id>` withdraws a request still waiting.
 */
import { allocF64, allocI32, allocU8 } from "./alloc.ts";
import type { ByteWriter } from "../lib/bytes.ts";
import { equalsAscii } from "../lib/bytes.ts";
import { EBUSY, EEXIST, EINVAL, ENOENT } from "../../secure9p/errors.ts";
import { CtlCommand, CtlOp, SpawnKind } from "./control.ts";
import { Gate } from "./providers/lifecycle.ts";
import type { NineDoor } from "./ninedoor.ts";
import { safeBytes } from "./provider.ts";

export const LEASE_REQ_MAX = 32;
export const LEASE_FILE_MAX = 1024;
/** Longest GPU id (the manifest's bound: an nvidia-smi uuid fits). */
const GPU_ID_MAX = 64;
const MAX_TTL_S = 86400;
const EndState = { None: 0, Released: 1, Expired: 2 } as const;

export class GpuLeaseQueue {
  readonly lqDepth: number;
  private lqNd: NineDoor;
  /** Waiters per GPU: g * depth + k. */
  lqUsed: Uint8Array;
  lqReq: Uint8Array;
  lqReqLen: Int32Array;
  lqMem: Float64Array;
  lqStreams: Float64Array;
  lqTtl: Float64Array;
  lqPrio: Float64Array;
  lqSeq: Float64Array;
  private lqNext = 1;
  /** The lease granted through the queue: its request id and worker slot (-1: none). */
  lqGrantReq: Uint8Array;
  lqGrantLen: Int32Array;
  lqGrantWorker: Int32Array;
  lqGrantTtl: Float64Array;
  lqGrantUntil: Float64Array;
  /** How the last granted lease ended, and its worker slot's id snapshot. */
  lqEnd: Int32Array;
  lqEndWorkerSeq: Float64Array;
  lqGranted = 0;
  private lqCmd: CtlCommand = new CtlCommand();
  /** GPU ids as bytes: the spawn command's `gpu` span points here. */
  private lqIds: Uint8Array;

  constructor(nd: NineDoor, depth: number) {
    this.lqNd = nd;
    this.lqDepth = depth;
    const n = nd.gpus.count;
    this.lqUsed = allocU8(n * depth);
    this.lqReq = allocU8(n * depth * LEASE_REQ_MAX);
    this.lqReqLen = allocI32(n * depth);
    this.lqMem = allocF64(n * depth);
    this.lqStreams = allocF64(n * depth);
    this.lqTtl = allocF64(n * depth);
    this.lqPrio = allocF64(n * depth);
    this.lqSeq = allocF64(n * depth);
    this.lqGrantReq = allocU8(n * LEASE_REQ_MAX);
    this.lqGrantLen = allocI32(n);
    this.lqGrantWorker = allocI32(n);
    this.lqGrantTtl = allocF64(n);
    this.lqGrantUntil = allocF64(n);
    this.lqEnd = allocI32(n);
    this.lqEndWorkerSeq = allocF64(n);
    this.lqIds = allocU8(n * GPU_ID_MAX);
    const ids = this.lqIds;
    const gw = this.lqGrantWorker;
    for (let g = 0; g < n; g++) {
      gw[g] = -1;
      const id = nd.gpus.ids[g];
      for (let i = 0; i < id.length && i < GPU_ID_MAX; i++) ids[g * GPU_ID_MAX + i] = id.charCodeAt(i);
    }
  }

  /** `LEASE ...` for GPU `g` (src[off..off+len) without the newline): 0 or -errno. */
  lqRequest(g: number, src: Uint8Array, off: number, len: number): number {
    if (src[off] === 67) return this.lqCancel(g, src, off + 7, len - 7);
    const sim = this.lqNd.gpus;
    let p = off + 6;
    const end = off + len;
    let reqOff = -1;
    let reqLen = 0;
    let mem = -1;
    let streams = -1;
    let ttl = -1;
    let prio = 0;
    while (p < end) {
      let q = p;
      while (q < end && src[q] !== 32) q++;
      let eq = p;
      while (eq < q && src[eq] !== 61) eq++;
      if (eq >= q) return -EINVAL;
      const v = eq + 1;
      if (equalsAscii(src, p, eq - p, "req")) {
        reqOff = v;
        reqLen = q - v;
      } else {
        const n = uintAt(src, v, q - v);
        if (n < 0) return -EINVAL;
        if (equalsAscii(src, p, eq - p, "mem_mb")) mem = n;
        else if (equalsAscii(src, p, eq - p, "streams")) streams = n;
        else if (equalsAscii(src, p, eq - p, "ttl_s")) ttl = n;
        else if (equalsAscii(src, p, eq - p, "priority")) prio = n;
        else return -EINVAL;
      }
      p = q + 1;
    }
    if (reqOff < 0 || reqLen < 1 || reqLen > LEASE_REQ_MAX || !safeBytes(src, reqOff, reqLen)) return -EINVAL;
    if (mem < 0 || mem > sim.memMb[g] || streams < 1 || streams > sim.streams[g]) return -EINVAL;
    if (ttl < 1 || ttl > MAX_TTL_S || prio > 255) return -EINVAL;
    const d = this.lqDepth;
    let free = -1;
    for (let k = 0; k < d; k++) {
      const i = g * d + k;
      if (this.lqUsed[i] === 0) {
        if (free < 0) free = i;
      } else if (this.lqReqIs(i, src, reqOff, reqLen)) return -EEXIST;
    }
    if (
      this.lqGrantWorker[g] >= 0 &&
      sameBytes(this.lqGrantReq, g * LEASE_REQ_MAX, this.lqGrantLen[g], src, reqOff, reqLen)
    ) {
      return -EEXIST;
    }
    if (free < 0) return -EBUSY;
    const used = this.lqUsed;
    const rq = this.lqReq;
    const rl = this.lqReqLen;
    const mm = this.lqMem;
    const st = this.lqStreams;
    const tt = this.lqTtl;
    const pr = this.lqPrio;
    const sq = this.lqSeq;
    used[free] = 1;
    for (let i = 0; i < reqLen; i++) rq[free * LEASE_REQ_MAX + i] = src[reqOff + i];
    rl[free] = reqLen;
    mm[free] = mem;
    st[free] = streams;
    tt[free] = ttl;
    pr[free] = prio;
    sq[free] = this.lqNext;
    this.lqNext++;
    this.lqLogQueued(g, free);
    this.lqPump();
    return 0;
  }

  /** `CANCEL req=<id>`: withdraws a waiting request (ENOENT when none waits under that id). */
  private lqCancel(g: number, src: Uint8Array, off: number, len: number): number {
    if (len < 5 || !equalsAscii(src, off, 4, "req=")) return -EINVAL;
    const d = this.lqDepth;
    for (let k = 0; k < d; k++) {
      const i = g * d + k;
      if (this.lqUsed[i] === 0 || !this.lqReqIs(i, src, off + 4, len - 4)) continue;
      const used = this.lqUsed;
      used[i] = 0;
      const nd = this.lqNd;
      const lw = nd.lw;
      lw.reset();
      lw.ascii("gpu-lease cancelled gpu=");
      lw.ascii(nd.gpus.ids[g]);
      lw.ascii(" req=");
      lw.bytes(src, off + 4, len - 4);
      nd.logLine();
      return 0;
    }
    return -ENOENT;
  }

  private lqReqIs(i: number, src: Uint8Array, off: number, len: number): boolean {
    return sameBytes(this.lqReq, i * LEASE_REQ_MAX, this.lqReqLen[i], src, off, len);
  }

  private lqLogQueued(g: number, i: number): void {
    const nd = this.lqNd;
    const lw = nd.lw;
    lw.reset();
    lw.ascii("gpu-lease queued gpu=");
    lw.ascii(nd.gpus.ids[g]);
    lw.ascii(" req=");
    lw.bytes(this.lqReq, i * LEASE_REQ_MAX, this.lqReqLen[i]);
    lw.labelUint(" priority=", this.lqPrio[i]);
    nd.logLine();
  }

  /** Notes ended leases, then grants each free GPU to its best waiter. Called on every clock move. */
  lqPump(): void {
    const nd = this.lqNd;
    const sim = nd.gpus;
    const d = this.lqDepth;
    for (let g = 0; g < sim.count; g++) {
      this.lqNoteEnded(g);
      if (sim.lessee[g] >= 0) continue;
      let best = -1;
      for (let k = 0; k < d; k++) {
        const i = g * d + k;
        if (this.lqUsed[i] === 0) continue;
        if (
          best < 0 || this.lqPrio[i] > this.lqPrio[best] ||
          (this.lqPrio[i] === this.lqPrio[best] && this.lqSeq[i] < this.lqSeq[best])
        ) best = i;
      }
      if (best < 0) continue;
      if (!nd.lifecycleSvc.lcAllows(Gate.Spawn) || nd.workers.freeSlots() < 1) continue;
      this.lqGrant(g, best);
    }
  }

  /** How the lease granted on `g` ended, if it has (RELEASE, a kill, or its ttl); None while it holds. */
  private lqEndOf(g: number): number {
    const w = this.lqGrantWorker[g];
    if (w < 0 || this.lqNd.gpus.lessee[g] === w) return EndState.None;
    const until = this.lqGrantUntil[g];
    return until > 0 && this.lqNd.nowMs >= until ? EndState.Expired : EndState.Released;
  }

  /** Records the end of the lease granted on `g` and ends its worker with it. */
  private lqNoteEnded(g: number): void {
    const end = this.lqEndOf(g);
    if (end === EndState.None) return;
    const nd = this.lqNd;
    const gw = this.lqGrantWorker;
    const w = gw[g];
    const ends = this.lqEnd;
    ends[g] = end;
    gw[g] = -1;
    // A RELEASE ends the lease's worker too (a ttl or a kill already did). The slot may hold a
    // newer worker by now: only the granted one (same id) is ended.
    if (nd.workers.live[w] !== 0 && this.lqIsGranted(w, this.lqEndWorkerSeq[g])) {
      nd.workerSvc.revoke(w, "killed");
    }
  }

  private lqIsGranted(w: number, seq: number): boolean {
    let id = "worker-";
    id += seq;
    return this.lqNd.workers.ids.get(w) === id;
  }

  private lqGrant(g: number, i: number): void {
    const nd = this.lqNd;
    const c = this.lqCmd;
    c.clear();
    c.op = CtlOp.Spawn;
    c.spawnKind = SpawnKind.Gpu;
    c.gpu.off = g * GPU_ID_MAX;
    c.gpu.len = nd.gpus.ids[g].length;
    c.leaseMemMb = this.lqMem[i];
    c.leaseStreams = this.lqStreams[i];
    c.leaseTtlS = this.lqTtl[i];
    c.leasePriority = this.lqPrio[i];
    nd.workerSvc.spawn(this.lqIds, c);
    const gr = this.lqGrantReq;
    const gl = this.lqGrantLen;
    const gw = this.lqGrantWorker;
    const gt = this.lqGrantTtl;
    const gu = this.lqGrantUntil;
    const ends = this.lqEnd;
    const seq = this.lqEndWorkerSeq;
    for (let k = 0; k < this.lqReqLen[i]; k++) gr[g * LEASE_REQ_MAX + k] = this.lqReq[i * LEASE_REQ_MAX + k];
    gl[g] = this.lqReqLen[i];
    gw[g] = nd.gpus.lessee[g];
    gt[g] = this.lqTtl[i];
    gu[g] = nd.nowMs + this.lqTtl[i] * 1000;
    ends[g] = EndState.None;
    seq[g] = nd.workers.seq;
    const used = this.lqUsed;
    used[i] = 0;
    this.lqGranted++;
  }

  /** `/gpu/<id>/lease`: the granted lease (or the last one and how it ended), then the waiters by rank. */
  lqRender(g: number, w: ByteWriter): void {
    const nd = this.lqNd;
    // Between a RELEASE and the next clock move the end is known but not yet recorded.
    const pending = this.lqEndOf(g);
    const sim = nd.gpus;
    const lessee = sim.lessee[g];
    if (lessee >= 0) {
      this.lqLine(
        w,
        g,
        "ACTIVE",
        nd.workers.ids.get(lessee),
        sim.leaseMemMb[g],
        sim.leaseStreams[g],
        this.lqGrantWorker[g] === lessee ? this.lqGrantTtl[g] : -1,
        sim.priority[g],
      );
      if (this.lqGrantWorker[g] === lessee) {
        this.lqReqField(w, this.lqGrantReq, g * LEASE_REQ_MAX, this.lqGrantLen[g]);
      }
      w.ascii("}\n");
    } else if (pending !== EndState.None || this.lqEnd[g] !== EndState.None) {
      const end = pending !== EndState.None ? pending : this.lqEnd[g];
      this.lqLine(
        w,
        g,
        end === EndState.Expired ? "EXPIRED" : "RELEASED",
        "",
        -1,
        -1,
        this.lqGrantTtl[g],
        -1,
      );
      this.lqReqField(w, this.lqGrantReq, g * LEASE_REQ_MAX, this.lqGrantLen[g]);
      w.ascii("}\n");
    } else {
      this.lqLine(w, g, "FREE", "", -1, -1, -1, -1);
      w.ascii("}\n");
    }
    // Waiters in grant order; a line that would pass the 1024-byte bound is left out.
    const d = this.lqDepth;
    let last = -1;
    for (let rank = 0; rank < d; rank++) {
      let best = -1;
      for (let k = 0; k < d; k++) {
        const i = g * d + k;
        if (this.lqUsed[i] === 0 || !this.lqAfter(i, last)) continue;
        if (best < 0 || this.lqBefore(i, best)) best = i;
      }
      if (best < 0) break;
      last = best;
      const mark = w.len;
      this.lqLine(
        w,
        g,
        "QUEUED",
        "",
        this.lqMem[best],
        this.lqStreams[best],
        this.lqTtl[best],
        this.lqPrio[best],
      );
      this.lqReqField(w, this.lqReq, best * LEASE_REQ_MAX, this.lqReqLen[best]);
      w.labelUint(',"position":', rank + 1);
      w.ascii("}\n");
      if (w.len > LEASE_FILE_MAX) {
        w.len = mark;
        break;
      }
    }
  }

  private lqBefore(i: number, j: number): boolean {
    return this.lqPrio[i] > this.lqPrio[j] ||
      (this.lqPrio[i] === this.lqPrio[j] && this.lqSeq[i] < this.lqSeq[j]);
  }

  private lqAfter(i: number, last: number): boolean {
    return last < 0 || this.lqBefore(last, i);
  }

  private lqLine(
    w: ByteWriter,
    g: number,
    state: string,
    worker: string,
    mem: number,
    streams: number,
    ttl: number,
    prio: number,
  ): void {
    w.ascii('{"schema":"gpu-lease/v1","state":"');
    w.ascii(state);
    w.ascii('","gpu_id":"');
    w.ascii(this.lqNd.gpus.ids[g]);
    w.ascii('","worker_id":');
    if (worker.length === 0 && (state === "RELEASED" || state === "EXPIRED")) {
      // An ended lease names the worker it had (by spawn number: its slot may be reused).
      w.labelUint('"worker-', this.lqEndWorkerSeq[g]);
      w.byte(34);
    } else if (worker.length === 0) w.ascii("null");
    else {
      w.byte(34);
      w.ascii(worker);
      w.byte(34);
    }
    lqNum(w, ',"mem_mb":', mem);
    lqNum(w, ',"streams":', streams);
    lqNum(w, ',"ttl_s":', ttl);
    lqNum(w, ',"priority":', prio);
  }

  private lqReqField(w: ByteWriter, src: Uint8Array, off: number, len: number): void {
    w.ascii(',"request":"');
    w.bytes(src, off, len);
    w.byte(34);
  }
}

function lqNum(w: ByteWriter, label: string, v: number): void {
  w.ascii(label);
  if (v < 0) w.ascii("null");
  else w.uint(v);
}

function sameBytes(
  a: Uint8Array,
  aOff: number,
  aLen: number,
  b: Uint8Array,
  bOff: number,
  bLen: number,
): boolean {
  if (aLen !== bLen) return false;
  for (let i = 0; i < aLen; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

function uintAt(src: Uint8Array, off: number, len: number): number {
  if (len < 1 || len > 9) return -1;
  let v = 0;
  for (let i = 0; i < len; i++) {
    const c = src[off + i];
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}
