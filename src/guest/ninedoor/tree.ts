/**
 * `NodeTree`: the synthetic file tree as fixed columns (like Plan 9's Dirtab, but with slots so
 * worker subtrees come and go). A node handle is `generation * 65536 + slot`: freeing a slot bumps
 * its generation, so a handle kept by a reader of a removed file no longer resolves (-EBADF, Closed).
 */

import { allocF64, allocI32, allocU8, StringTable } from "./alloc.ts";
import { liveSlotOf, nextGen, SLOT_SPAN, slotHandle } from "./handles.ts";

/** Access class of a node, fixed by the provider that adds it (routing checks it before dispatch). */
export const Access = { Dir: 0, ReadOnly: 1, AppendOnly: 2, Control: 3 } as const;

/** `prov` of a directory: directories are NineDoor's own (walk, readdir), no provider serves them. */
export const DIR_PROVIDER = -1;

export class NodeTree {
  readonly cap: number;
  parent: Int32Array;
  firstChild: Int32Array;
  lastChild: Int32Array;
  nextSibling: Int32Array;
  /** Index of the provider serving the node (DIR_PROVIDER for directories). */
  prov: Int32Array;
  /** The provider's own node kind (meaningless for directories). */
  kind: Int32Array;
  /** Access class (`Access`). */
  access: Uint8Array;
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
    this.prov = allocI32(cap);
    this.kind = allocI32(cap);
    this.access = allocU8(cap);
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
    this.initNode(0, 0, "", DIR_PROVIDER, 0, Access.Dir, 0, 0);
  }

  private initNode(
    slot: number,
    parent: number,
    name: string,
    prov: number,
    kind: number,
    access: number,
    arg: number,
    mtime: number,
  ): void {
    const p = this.parent;
    const pv = this.prov;
    const ac = this.access;
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
    pv[slot] = prov;
    k[slot] = kind;
    ac[slot] = access;
    a[slot] = arg;
    live[slot] = 1;
    mt[slot] = mtime;
    this.names.set(slot, name);
    this.liveCount = this.liveCount + 1;
  }

  /** Adds a directory at the end of `parent`'s list. Returns the slot, or -1 when the table is full. */
  addDir(parent: number, name: string, arg: number, mtime: number): number {
    return this.add(parent, name, DIR_PROVIDER, 0, Access.Dir, arg, mtime);
  }

  /**
   * Adds a file served by provider `prov` (its node kind `kind`, argument `arg`) at the end of
   * `parent`'s list. Returns the slot, or -1 when the table is full.
   */
  add(parent: number, name: string, prov: number, kind: number, access: number, arg: number, mtime: number): number {
    const slot = this.freeHead;
    if (slot < 0) return -1;
    this.freeHead = this.nextFree[slot];
    this.initNode(slot, parent, name, prov, kind, access, arg, mtime);
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
