/**
 * `NodeTree`: the synthetic file tree as fixed columns (like Plan 9's Dirtab, but with slots so
 * worker subtrees come and go). A node handle is `generation * 65536 + slot`: freeing a slot bumps
 * its generation, so a handle kept by a reader of a removed file no longer resolves (-EBADF, Closed).
 */

import { allocF64, allocI32, allocU8, StringTable } from "./alloc.ts";
import { liveSlotOf, nextGen, SLOT_SPAN, slotHandle } from "./handles.ts";

/** What a node is; the namespace switches on this for read/write. */
export const NodeKind = {
  Dir: 1,
  ProcBoot: 2,
  ProcSessions: 3,
  ProcWorkers: 4,
  ProcPressure: 5,
  ProcFids: 6,
  QueenLog: 7,
  QueenCtl: 8,
  Telemetry: 9,
  WorkerTrace: 10,
  TraceCtl: 11,
  TraceEvents: 12,
  GpuInfo: 13,
  GpuCtl: 14,
  GpuJob: 15,
  GpuStatus: 16,
  /** `/proc/tests/<name>.coh`: arg indexes SELFTEST_SCRIPTS. */
  ProcTest: 17,
} as const;

/** Access class of a node kind. */
export const Access = { Dir: 0, ReadOnly: 1, AppendOnly: 2, Control: 3 } as const;

export function kindAccess(kind: number): number {
  switch (kind) {
    case NodeKind.Dir:
      return Access.Dir;
    case NodeKind.QueenLog:
    case NodeKind.Telemetry:
    case NodeKind.GpuJob:
      return Access.AppendOnly;
    case NodeKind.QueenCtl:
    case NodeKind.TraceCtl:
    case NodeKind.GpuCtl:
      return Access.Control;
  }
  return Access.ReadOnly;
}

export class NodeTree {
  readonly cap: number;
  parent: Int32Array;
  firstChild: Int32Array;
  lastChild: Int32Array;
  nextSibling: Int32Array;
  kind: Int32Array;
  /** Provider argument: worker slot for worker files, GPU index for GPU files. */
  arg: Int32Array;
  gen: Int32Array;
  live: Uint8Array;
  /** Modification time in seconds of the injected clock. */
  mtime: Float64Array;
  names: StringTable;
  freeHead = -1;
  nextFree: Int32Array;
  liveCount = 0;

  constructor(cap: number) {
    if (cap > SLOT_SPAN - 1) cap = SLOT_SPAN - 1;
    this.cap = cap;
    this.parent = allocI32(cap);
    this.firstChild = allocI32(cap);
    this.lastChild = allocI32(cap);
    this.nextSibling = allocI32(cap);
    this.kind = allocI32(cap);
    this.arg = allocI32(cap);
    this.gen = allocI32(cap);
    this.live = allocU8(cap);
    this.mtime = allocF64(cap);
    this.nextFree = allocI32(cap);
    this.names = new StringTable(cap);
    const nextFree = this.nextFree;
    const gen = this.gen;
    // Slot 0 is the root; the free list holds the rest in ascending order (deterministic slots).
    for (let i = cap - 1; i >= 1; i--) {
      nextFree[i] = this.freeHead;
      this.freeHead = i;
      gen[i] = 1;
    }
    gen[0] = 1;
    this.initNode(0, 0, "", NodeKind.Dir, 0, 0);
  }

  private initNode(
    slot: number,
    parent: number,
    name: string,
    kind: number,
    arg: number,
    mtime: number,
  ): void {
    const p = this.parent;
    const fc = this.firstChild;
    const lc = this.lastChild;
    const ns = this.nextSibling;
    const k = this.kind;
    const a = this.arg;
    const live = this.live;
    const mt = this.mtime;
    p[slot] = parent;
    fc[slot] = -1;
    lc[slot] = -1;
    ns[slot] = -1;
    k[slot] = kind;
    a[slot] = arg;
    live[slot] = 1;
    mt[slot] = mtime;
    this.names.set(slot, name);
    this.liveCount = this.liveCount + 1;
  }

  /** Adds a child at the end of `parent`'s list. Returns the slot, or -1 when the table is full. */
  add(parent: number, name: string, kind: number, arg: number, mtime: number): number {
    const slot = this.freeHead;
    if (slot < 0) return -1;
    this.freeHead = this.nextFree[slot];
    this.initNode(slot, parent, name, kind, arg, mtime);
    const lc = this.lastChild;
    const fc = this.firstChild;
    const ns = this.nextSibling;
    const last = lc[parent];
    if (last < 0) fc[parent] = slot;
    else ns[last] = slot;
    lc[parent] = slot;
    return slot;
  }

  /** Removes `slot` and its whole subtree; their handles become stale. */
  remove(slot: number): void {
    if (slot <= 0 || this.live[slot] === 0) return;
    let child = this.firstChild[slot];
    while (child >= 0) {
      const next = this.nextSibling[child];
      this.remove(child);
      child = next;
    }
    const parent = this.parent[slot];
    const fc = this.firstChild;
    const lc = this.lastChild;
    const ns = this.nextSibling;
    let prev = -1;
    let cur = fc[parent];
    while (cur >= 0 && cur !== slot) {
      prev = cur;
      cur = ns[cur];
    }
    if (cur === slot) {
      if (prev < 0) fc[parent] = ns[slot];
      else ns[prev] = ns[slot];
      if (lc[parent] === slot) lc[parent] = prev;
    }
    const live = this.live;
    const gen = this.gen;
    live[slot] = 0;
    gen[slot] = nextGen(gen[slot]);
    const nextFree = this.nextFree;
    nextFree[slot] = this.freeHead;
    this.freeHead = slot;
    this.liveCount = this.liveCount - 1;
  }

  handle(slot: number): number {
    return slotHandle(this.gen, slot);
  }

  /** The live slot a handle names, or -1 when the handle is malformed or its node was removed. */
  slotOf(handle: number): number {
    return liveSlotOf(handle, this.cap, this.live, this.gen);
  }

  /** The child of `slot` named buf[off..off+len), or -1. */
  child(slot: number, buf: Uint8Array, off: number, len: number): number {
    const names = this.names;
    let c = this.firstChild[slot];
    while (c >= 0) {
      const name = names.get(c);
      if (name.length === len) {
        let same = true;
        for (let i = 0; i < len; i++) {
          if (buf[off + i] !== name.charCodeAt(i)) {
            same = false;
            break;
          }
        }
        if (same) return c;
      }
      c = this.nextSibling[c];
    }
    return -1;
  }

  /** The child of `slot` with name `name`, or -1. */
  childNamed(slot: number, name: string): number {
    const names = this.names;
    let c = this.firstChild[slot];
    while (c >= 0) {
      if (names.get(c) === name) return c;
      c = this.nextSibling[c];
    }
    return -1;
  }

  /** The `index`-th child of `slot`, or -1. */
  childAt(slot: number, index: number): number {
    let c = this.firstChild[slot];
    let i = 0;
    while (c >= 0 && i < index) {
      c = this.nextSibling[c];
      i++;
    }
    return c;
  }

  /** Depth of `slot` below the root (root = 0). */
  depth(slot: number): number {
    let d = 0;
    let s = slot;
    while (s !== 0) {
      s = this.parent[s];
      d++;
    }
    return d;
  }
}
