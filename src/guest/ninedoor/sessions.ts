/**
 * `SessionTable`: one row per attach — role, subject, ticket quotas and usage, open nodes, and the
 * session's private bind/mount table — as columns allocated at boot. A session handle carries a
 * generation like node handles, so a handle kept after detach no longer resolves.
 */
import { allocF64, allocI32, allocU8, StringTable } from "./alloc.ts";
import { liveSlotOf, nextGen, slotHandle } from "./handles.ts";
import type { RuleList } from "./roles.ts";

/** Sessions are capped here (one plain array per column, see alloc.ts). */
export const MAX_SESSIONS = 1024;

/**
 * Session phases of `/proc/9p/session/<id>/state` (the seeds' telephone-exchange model): attached
 * with no request served yet, serving, gone (detached or revoked; never resurrected: a new attach
 * on the slot is a new session). DRAINING is not stored: a live session shows it while the hive's
 * lifecycle is DRAINING.
 */
export const Phase = { Setup: 0, Active: 1, Closed: 2 } as const;

export class SessionTable {
  readonly cap: number;
  readonly maxOpen: number;
  readonly maxMounts: number;
  live: Uint8Array;
  gen: Int32Array;
  role: Int32Array;
  /** Worker slot the session acts for, or -1. */
  worker: Int32Array;
  /** Set when the session's ticket or worker was revoked: every later operation is Closed. */
  revoked: Uint8Array;
  subject: StringTable;
  /** Ticket id of the session (the ticket's nonce, hex; "" without a ticket) for audit records. */
  ticketId: StringTable;
  /** Ticket scopes (null: no scope restriction). */
  scopes: (RuleList | null)[];
  /** Ticket expiry in injected-clock ms (0: none). */
  expiresMs: Float64Array;
  quotaOps: Float64Array;
  quotaBytes: Float64Array;
  quotaFids: Float64Array;
  usedOps: Float64Array;
  usedBytes: Float64Array;
  openCount: Int32Array;
  /** Open node handles, `maxOpen` per session. */
  open: Float64Array;
  /** Mount table: walking onto node slot `mountAt` yields `mountFrom`; `maxMounts` per session. */
  mountAt: Int32Array;
  mountFrom: Int32Array;
  mountCount: Int32Array;
  /** `Phase` of each slot and the injected time it entered it (a never-used slot: Closed at 0). */
  phase: Uint8Array;
  phaseMs: Float64Array;
  liveCount = 0;

  constructor(cap: number, maxOpen: number, maxMounts: number) {
    if (cap > MAX_SESSIONS) cap = MAX_SESSIONS;
    this.cap = cap;
    this.maxOpen = maxOpen;
    this.maxMounts = maxMounts;
    this.live = allocU8(cap);
    this.gen = allocI32(cap);
    this.role = allocI32(cap);
    this.worker = allocI32(cap);
    this.revoked = allocU8(cap);
    this.expiresMs = allocF64(cap);
    this.quotaOps = allocF64(cap);
    this.quotaBytes = allocF64(cap);
    this.quotaFids = allocF64(cap);
    this.usedOps = allocF64(cap);
    this.usedBytes = allocF64(cap);
    this.openCount = allocI32(cap);
    this.open = allocF64(cap * maxOpen);
    this.mountAt = allocI32(cap * maxMounts);
    this.mountFrom = allocI32(cap * maxMounts);
    this.mountCount = allocI32(cap);
    this.phase = allocU8(cap);
    this.phaseMs = allocF64(cap);
    const ph = this.phase;
    for (let i = 0; i < cap; i++) ph[i] = Phase.Closed;
    // Ticket scopes are rare: kept in a plain array, so sessions are capped below Porffor's
    // ~1,800-element array limit (MAX_SESSIONS).
    const scopes: (RuleList | null)[] = [];
    for (let i = 0; i < cap; i++) scopes.push(null);
    this.subject = new StringTable(cap);
    this.ticketId = new StringTable(cap);
    this.scopes = scopes;
    const gen = this.gen;
    for (let i = 0; i < cap; i++) gen[i] = 1;
  }

  /** Moves slot `s` to `phase` at injected time `nowMs`. */
  enterPhase(s: number, phase: number, nowMs: number): void {
    const ph = this.phase;
    const pm = this.phaseMs;
    ph[s] = phase;
    pm[s] = nowMs;
  }

  /** Claims the lowest free slot with zeroed usage. Returns the slot or -1 when full. */
  alloc(role: number, worker: number, subject: string): number {
    const live = this.live;
    for (let s = 0; s < this.cap; s++) {
      if (live[s] !== 0) continue;
      live[s] = 1;
      const r = this.role;
      const w = this.worker;
      const rv = this.revoked;
      const ex = this.expiresMs;
      const qo = this.quotaOps;
      const qb = this.quotaBytes;
      const qf = this.quotaFids;
      const uo = this.usedOps;
      const ub = this.usedBytes;
      const oc = this.openCount;
      const mc = this.mountCount;
      r[s] = role;
      w[s] = worker;
      rv[s] = 0;
      ex[s] = 0;
      qo[s] = 0;
      qb[s] = 0;
      qf[s] = 0;
      uo[s] = 0;
      ub[s] = 0;
      oc[s] = 0;
      mc[s] = 0;
      this.subject.set(s, subject);
      this.ticketId.set(s, "");
      const scopes = this.scopes;
      scopes[s] = null;
      this.liveCount++;
      return s;
    }
    return -1;
  }

  free(slot: number): void {
    const live = this.live;
    if (live[slot] === 0) return;
    live[slot] = 0;
    const gen = this.gen;
    gen[slot] = nextGen(gen[slot]);
    const scopes = this.scopes;
    scopes[slot] = null;
    this.liveCount--;
  }

  handle(slot: number): number {
    return slotHandle(this.gen, slot);
  }

  /** The live slot of a session handle, or -1. */
  slotOf(handle: number): number {
    return liveSlotOf(handle, this.cap, this.live, this.gen);
  }

  /** Records an open node. Returns false when the session's table is full. */
  addOpen(slot: number, node: number): boolean {
    const n = this.openCount[slot];
    if (n >= this.maxOpen) return false;
    const open = this.open;
    open[slot * this.maxOpen + n] = node;
    const oc = this.openCount;
    oc[slot] = n + 1;
    return true;
  }

  /** Forgets one open of `node`; a walked-only node is not in the table and is ignored. */
  dropOpen(slot: number, node: number): void {
    const n = this.openCount[slot];
    const base = slot * this.maxOpen;
    const open = this.open;
    for (let i = 0; i < n; i++) {
      if (open[base + i] !== node) continue;
      open[base + i] = open[base + n - 1];
      const oc = this.openCount;
      oc[slot] = n - 1;
      return;
    }
  }

  /** The node slot a walk lands on after this session's mount table. */
  remap(slot: number, nodeSlot: number): number {
    const n = this.mountCount[slot];
    const base = slot * this.maxMounts;
    const at = this.mountAt;
    const from = this.mountFrom;
    // Later binds shadow earlier ones, as in Plan 9's bind -b order of evaluation.
    for (let i = n - 1; i >= 0; i--) if (at[base + i] === nodeSlot) return from[base + i];
    return nodeSlot;
  }

  /** Adds a bind; returns false when the table is full. */
  addMount(slot: number, atSlot: number, fromSlot: number): boolean {
    const n = this.mountCount[slot];
    if (n >= this.maxMounts) return false;
    const base = slot * this.maxMounts;
    const at = this.mountAt;
    const from = this.mountFrom;
    at[base + n] = atSlot;
    from[base + n] = fromSlot;
    const mc = this.mountCount;
    mc[slot] = n + 1;
    return true;
  }

  /** Drops binds whose source or target node was removed. */
  dropMountsOf(nodeSlot: number): void {
    for (let s = 0; s < this.cap; s++) {
      if (this.live[s] === 0) continue;
      let n = this.mountCount[s];
      const base = s * this.maxMounts;
      const at = this.mountAt;
      const from = this.mountFrom;
      let i = 0;
      while (i < n) {
        if (at[base + i] === nodeSlot || from[base + i] === nodeSlot) {
          at[base + i] = at[base + n - 1];
          from[base + i] = from[base + n - 1];
          n--;
        } else i++;
      }
      const mc = this.mountCount;
      mc[s] = n;
    }
  }
}
