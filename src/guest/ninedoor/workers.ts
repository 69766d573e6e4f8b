/**
 * `WorkerTable`: the hive's workers as columns allocated at boot (slot = telemetry ring index).
 * Budgets are absolute limits; 0 means unlimited for that dimension. A slot is free, running
 * (`live`), or held by an exited worker whose files stay readable until `exitMs` + retention.
 */

import { allocF64, allocI32, allocU8, StringTable } from "./alloc.ts";

export const WorkerKind = { Heartbeat: 1, Gpu: 2 } as const;

/** Why a worker exited (`exitReason`); module constants, no strings built per exit. */
export const EXIT_REASONS = ["killed", "ticks", "ops", "ttl"];

export function exitReasonCode(reason: string): number {
  for (let i = 0; i < EXIT_REASONS.length; i++) if (EXIT_REASONS[i] === reason) return i;
  return 0;
}

export class WorkerTable {
  readonly cap: number;
  live: Uint8Array;
  kind: Int32Array;
  /** Heartbeats emitted so far. */
  tick: Float64Array;
  budgetTicks: Float64Array;
  budgetOps: Float64Array;
  opsUsed: Float64Array;
  /** Injected-clock ms at which the worker's ttl ends (0: none). */
  deadlineMs: Float64Array;
  spawnMs: Float64Array;
  /** Leased GPU index, or -1. */
  gpu: Int32Array;
  /**
   * Node slots: the worker's directory (`/shard/<label>/worker/<id>`, or `/worker/<id>` unsharded),
   * its legacy alias `/worker/<id>` when sharded with the alias on (else -1), and `/proc/<id>`.
   */
  dirSlot: Int32Array;
  aliasSlot: Int32Array;
  procSlot: Int32Array;
  /** Shard index of the worker (0 when unsharded). */
  shard: Int32Array;
  ids: StringTable;
  /** 1 while an exited worker's files are retained (the slot is not free). */
  held: Uint8Array;
  /** Injected-clock ms of the exit, and its `EXIT_REASONS` index. */
  exitMs: Float64Array;
  exitReason: Int32Array;
  heldCount = 0;
  /** Spawns so far; ids are `worker-<seq>` and never reused. */
  seq = 0;
  liveCount = 0;
  /** No slot below this index is free (keeps sequential spawns O(1)). */
  private lowFree = 0;

  constructor(cap: number) {
    this.cap = cap;
    this.live = allocU8(cap);
    this.kind = allocI32(cap);
    this.tick = allocF64(cap);
    this.budgetTicks = allocF64(cap);
    this.budgetOps = allocF64(cap);
    this.opsUsed = allocF64(cap);
    this.deadlineMs = allocF64(cap);
    this.spawnMs = allocF64(cap);
    this.gpu = allocI32(cap);
    this.dirSlot = allocI32(cap);
    this.aliasSlot = allocI32(cap);
    this.procSlot = allocI32(cap);
    this.shard = allocI32(cap);
    this.ids = new StringTable(cap);
    this.held = allocU8(cap);
    this.exitMs = allocF64(cap);
    this.exitReason = allocI32(cap);
  }

  /** Slots a spawn can take: free ones and those held by exited workers (the oldest is evicted). */
  freeSlots(): number {
    return this.cap - this.liveCount;
  }

  /** Claims the lowest free slot. Returns it or -1 (then `oldestHeld` names the slot to evict). */
  alloc(): number {
    const live = this.live;
    const held = this.held;
    for (let s = this.lowFree; s < this.cap; s++) {
      if (live[s] !== 0 || held[s] !== 0) continue;
      live[s] = 1;
      this.lowFree = s + 1;
      const tick = this.tick;
      const used = this.opsUsed;
      const gpu = this.gpu;
      tick[s] = 0;
      used[s] = 0;
      gpu[s] = -1;
      this.liveCount++;
      return s;
    }
    return -1;
  }

  /** A running worker exits: it stops counting as active, its slot stays held until `free`. */
  exit(slot: number, nowMs: number, reason: number): void {
    const live = this.live;
    const held = this.held;
    const at = this.exitMs;
    const why = this.exitReason;
    if (live[slot] === 0) return;
    live[slot] = 0;
    held[slot] = 1;
    at[slot] = nowMs;
    why[slot] = reason;
    this.liveCount--;
    this.heldCount++;
  }

  /** Frees a running or held slot. */
  free(slot: number): void {
    const live = this.live;
    const held = this.held;
    if (live[slot] !== 0) this.liveCount--;
    else if (held[slot] !== 0) this.heldCount--;
    else return;
    live[slot] = 0;
    held[slot] = 0;
    if (slot < this.lowFree) this.lowFree = slot;
    this.ids.set(slot, "");
  }

  /** The held slot that exited first (lowest slot on a tie), or -1. */
  oldestHeld(): number {
    let best = -1;
    for (let s = 0; s < this.cap; s++) {
      if (this.held[s] !== 0 && (best < 0 || this.exitMs[s] < this.exitMs[best])) best = s;
    }
    return best;
  }

  /** The live worker whose id is buf[off..off+len), or -1. */
  find(buf: Uint8Array, off: number, len: number): number {
    const ids = this.ids;
    for (let s = 0; s < this.cap; s++) {
      if (this.live[s] === 0) continue;
      const id = ids.get(s);
      if (id.length !== len) continue;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (buf[off + i] !== id.charCodeAt(i)) {
          same = false;
          break;
        }
      }
      if (same) return s;
    }
    return -1;
  }

  findNamed(id: string): number {
    const ids = this.ids;
    for (let s = 0; s < this.cap; s++) if (this.live[s] !== 0 && ids.get(s) === id) return s;
    return -1;
  }
}
