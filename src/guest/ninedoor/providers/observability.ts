/**
 * The manifest-gated `/proc` files (namespace reference §7; seeds 21e): root reachability, the
 * per-session telephone-exchange states, the four back-pressure counters and the ingest statistics.
 *
 *   /proc/root/{reachable,last_seen_ms,cut_reason}
 *   /proc/9p/session/active, /proc/9p/session/<id>/{state,since_ms,owner}   (<id>: the session slot)
 *   /proc/pressure/{busy,quota,cut,policy}   (beside `counters`, the full counter line ProcFiles serves)
 *   /proc/ingest/{p50_ms,p95_ms,backpressure,dropped,queued,watch}
 *
 * Every file is `key=value` text, present only when `[observability.*]` turns it on, and refused with
 * EMSGSIZE when its rendering would pass the manifest's byte cap (never cut short). The watch file
 * keeps the last `watch_max_entries` snapshot lines, one added on the clock at most every
 * `watch_min_interval_ms` and only when a value moved by its tolerance. Reading never changes state.
 */
import type { ObservabilitySpec } from "../../boot.ts";
import { EMSGSIZE, EROFS } from "../../../secure9p/errors.ts";
import type { ByteWriter } from "../../lib/bytes.ts";
import { allocF64, allocI32, allocU8, sizedWriter } from "../alloc.ts";
import type { NineDoor } from "../ninedoor.ts";
import { LifeState } from "./lifecycle.ts";
import { type Provider, readRendered, safe } from "../provider.ts";
import { Phase } from "../sessions.ts";
import { Access } from "../tree.ts";

const Kind = {
  Reachable: 0,
  LastSeen: 1,
  CutReason: 2,
  Active: 3,
  State: 4,
  Since: 5,
  Owner: 6,
  Busy: 7,
  Quota: 8,
  Cut: 9,
  Policy: 10,
  P50: 11,
  P95: 12,
  Backpressure: 13,
  Dropped: 14,
  Queued: 15,
  Watch: 16,
} as const;
const KINDS = 17;

const STATE_NAMES = ["SETUP", "ACTIVE", "CLOSED"];

/** True when any `/proc/pressure/*` file is on: /proc/pressure is then a directory (ProcFiles asks). */
export function pressureDirOn(o: ObservabilitySpec): boolean {
  const p = o.pressure;
  return p.busy > 0 || p.quota > 0 || p.cut > 0 || p.policy > 0;
}

/** Tree nodes this provider can add (NineDoor sizes its node table with it). */
export function observabilityNodeCount(o: ObservabilitySpec, maxSessions: number): number {
  const r = o.root, se = o.session, i = o.ingest;
  const root = r.reachable + r.lastSeenMs + r.cutReason > 0 ? 4 : 0;
  const perSession = se.state + se.sinceMs + se.owner > 0 ? maxSessions * 4 : 0;
  const session = se.active + se.state + se.sinceMs + se.owner > 0 ? 3 + perSession : 0;
  const ingest = i.p50Ms + i.p95Ms + i.backpressure + i.dropped + i.queued + i.watchMaxEntries > 0 ? 7 : 0;
  // /proc/pressure: the directory and `counters` replace ProcFiles' single file, plus the four files.
  return root + session + (pressureDirOn(o) ? 5 : 0) + ingest;
}

export class ObservabilityFiles implements Provider {
  provId = -1;
  private obNd: NineDoor;
  /** Byte cap of each kind (0: off). */
  private obCap: Int32Array;
  /** The watch lines: `watchMax` slots of `lineBytes`, oldest at `watchHead`. */
  private watchBuf: Uint8Array;
  private watchLen: Int32Array;
  private watchHead = 0;
  private watchCount = 0;
  private watchMax: number;
  private lineBytes: number;
  private watchOut: ByteWriter;
  private lineW: ByteWriter;
  private lastWatchMs = -1;
  /** The watched values now (taken once per clock move) and those of the last watch line. */
  private nowValues: Float64Array = allocF64(5);
  private lastValues: Float64Array = allocF64(5);

  constructor(nd: NineDoor) {
    this.obNd = nd;
    const o = nd.boot.observability;
    const c = allocI32(KINDS);
    c[Kind.Reachable] = o.root.reachable;
    c[Kind.LastSeen] = o.root.lastSeenMs;
    c[Kind.CutReason] = o.root.cutReason;
    c[Kind.Active] = o.session.active;
    c[Kind.State] = o.session.state;
    c[Kind.Since] = o.session.sinceMs;
    c[Kind.Owner] = o.session.owner;
    c[Kind.Busy] = o.pressure.busy;
    c[Kind.Quota] = o.pressure.quota;
    c[Kind.Cut] = o.pressure.cut;
    c[Kind.Policy] = o.pressure.policy;
    c[Kind.P50] = o.ingest.p50Ms;
    c[Kind.P95] = o.ingest.p95Ms;
    c[Kind.Backpressure] = o.ingest.backpressure;
    c[Kind.Dropped] = o.ingest.dropped;
    c[Kind.Queued] = o.ingest.queued;
    const wi = o.ingest;
    this.watchMax = wi.watchMaxEntries;
    this.lineBytes = wi.watchLineBytes;
    c[Kind.Watch] = this.watchMax > 0 ? this.watchMax * this.lineBytes : 0;
    this.obCap = c;
    const slots = this.watchMax > 0 ? this.watchMax : 1;
    this.watchBuf = allocU8(slots * this.lineBytes);
    this.watchLen = allocI32(slots);
    this.watchOut = sizedWriter(slots * this.lineBytes);
    this.lineW = sizedWriter(this.lineBytes + 64);
  }

  mountNodes(): void {
    const nd = this.obNd;
    const t = nd.tree;
    const c = this.obCap;
    const proc = nd.procDir;
    if (c[Kind.Reachable] > 0 || c[Kind.LastSeen] > 0 || c[Kind.CutReason] > 0) {
      const root = t.addDir(proc, "root", 0, 0);
      this.obFile(root, "reachable", Kind.Reachable, 0);
      this.obFile(root, "last_seen_ms", Kind.LastSeen, 0);
      this.obFile(root, "cut_reason", Kind.CutReason, 0);
    }
    if (c[Kind.Active] > 0 || c[Kind.State] > 0 || c[Kind.Since] > 0 || c[Kind.Owner] > 0) {
      const sess = t.addDir(t.addDir(proc, "9p", 0, 0), "session", 0, 0);
      this.obFile(sess, "active", Kind.Active, 0);
      if (c[Kind.State] > 0 || c[Kind.Since] > 0 || c[Kind.Owner] > 0) {
        for (let s = 0; s < nd.sessions.cap; s++) {
          const dir = t.addDir(sess, String(s), s, 0);
          this.obFile(dir, "state", Kind.State, s);
          this.obFile(dir, "since_ms", Kind.Since, s);
          this.obFile(dir, "owner", Kind.Owner, s);
        }
      }
    }
    if (pressureDirOn(nd.boot.observability)) {
      const p = t.childNamed(proc, "pressure");
      this.obFile(p, "busy", Kind.Busy, 0);
      this.obFile(p, "quota", Kind.Quota, 0);
      this.obFile(p, "cut", Kind.Cut, 0);
      this.obFile(p, "policy", Kind.Policy, 0);
    }
    let ingestOn = false;
    for (let k = Kind.P50; k <= Kind.Watch; k++) if (c[k] > 0) ingestOn = true;
    if (ingestOn) {
      const ing = t.addDir(proc, "ingest", 0, 0);
      this.obFile(ing, "p50_ms", Kind.P50, 0);
      this.obFile(ing, "p95_ms", Kind.P95, 0);
      this.obFile(ing, "backpressure", Kind.Backpressure, 0);
      this.obFile(ing, "dropped", Kind.Dropped, 0);
      this.obFile(ing, "queued", Kind.Queued, 0);
      this.obFile(ing, "watch", Kind.Watch, 0);
    }
  }

  /** Adds file `name` of `kind` under `dir` when the manifest turns it on. */
  private obFile(dir: number, name: string, kind: number, arg: number): void {
    if (this.obCap[kind] > 0) this.obNd.tree.add(dir, name, this.provId, kind, Access.ReadOnly, arg, 0);
  }

  nodeRead(kind: number, arg: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    if (kind === Kind.Watch) return readRendered(this.obWatch(), offset, dst, dstOff, count);
    const w = this.obNd.scratch;
    w.reset();
    this.obRender(w, kind, arg);
    if (w.len > this.obCap[kind]) return -EMSGSIZE;
    return readRendered(w, offset, dst, dstOff, count);
  }

  nodeWrite(_s: number, _kind: number, _arg: number, _src: Uint8Array, _off: number, _count: number): number {
    return -EROFS;
  }

  nodeSize(_kind: number, _arg: number): number {
    return 0;
  }

  nodeStart(_kind: number, _arg: number): number {
    return 0;
  }

  onTick(): void {}

  onClock(nowMs: number): void {
    if (this.watchMax <= 0) return;
    if (this.lastWatchMs >= 0 && nowMs - this.lastWatchMs < this.obNd.boot.observability.ingest.watchMinIntervalMs) return;
    if (!this.obMoved()) return;
    this.lastWatchMs = nowMs;
    this.obWatchLine(nowMs);
  }

  // ---- rendering -------------------------------------------------------------------------------

  private obRender(w: ByteWriter, kind: number, arg: number): void {
    const nd = this.obNd;
    const p = nd.pressure;
    const ing = nd.ingest;
    switch (kind) {
      case Kind.Reachable:
        w.ascii(this.obNd.rootReachable() ? "reachable=yes" : "reachable=no");
        break;
      case Kind.LastSeen:
        w.labelUint("last_seen_ms=", nd.rootSeenMs);
        break;
      case Kind.CutReason:
        w.ascii("cut_reason=");
        w.ascii(this.obCutReason());
        break;
      case Kind.Active:
        w.labelUint("active=", this.obActive());
        break;
      case Kind.State:
        w.ascii("state=");
        w.ascii(this.obStateName(arg));
        break;
      case Kind.Since:
        w.labelUint("since_ms=", this.obSinceMs(arg));
        break;
      case Kind.Owner:
        this.obOwner(w, arg);
        break;
      case Kind.Busy:
        w.labelUint("busy=", p.busy);
        break;
      case Kind.Quota:
        w.labelUint("quota=", p.quota);
        break;
      case Kind.Cut:
        w.labelUint("cut=", p.cut);
        break;
      case Kind.Policy:
        // Refusals by policy: role and ticket-scope denials and refused attaches.
        w.labelUint("policy=", p.denied + p.attachRefused);
        break;
      case Kind.P50:
        w.labelUint("p50_ms=", ing.percentile(50));
        w.labelUint(" samples=", ing.samples());
        break;
      case Kind.P95:
        w.labelUint("p95_ms=", ing.percentile(95));
        w.labelUint(" samples=", ing.samples());
        break;
      case Kind.Backpressure:
        w.labelUint("backpressure=", ing.backpressure);
        break;
      case Kind.Dropped:
        w.labelUint("dropped=", ing.dropped);
        break;
      case Kind.Queued:
        w.labelUint("queued=", ing.queued);
        break;
    }
    w.byte(10);
  }


  /** `none`, or the cut's cause by the reference's priority: lifecycle, revocation, policy, network. */
  private obCutReason(): string {
    const nd = this.obNd;
    if (this.obNd.rootReachable()) return "none";
    if (nd.lifecycleSvc.lcState === LifeState.Offline) return "lifecycle_offline";
    if (nd.queenRevoked) return "session_revoked";
    if (nd.queenDenied) return "policy_denied";
    return "network_unreachable";
  }

  private obActive(): number {
    const ss = this.obNd.sessions;
    let n = 0;
    for (let s = 0; s < ss.cap; s++) if (ss.live[s] !== 0 && ss.phase[s] !== Phase.Closed) n++;
    return n;
  }

  /** A live session of a DRAINING hive shows DRAINING (no new control actions; telemetry completes). */
  private obDraining(s: number): boolean {
    const nd = this.obNd;
    return nd.sessions.phase[s] !== Phase.Closed && nd.lifecycleSvc.lcState === LifeState.Draining;
  }

  private obStateName(s: number): string {
    return this.obDraining(s) ? "DRAINING" : STATE_NAMES[this.obNd.sessions.phase[s]];
  }

  private obSinceMs(s: number): number {
    const nd = this.obNd;
    const t = nd.sessions.phaseMs[s];
    const lc = nd.lifecycleSvc.sinceMs;
    return this.obDraining(s) && lc > t ? lc : t;
  }

  /** `owner=<role>/<subject>` (`-` without a subject), `owner=none` for a slot never attached. */
  private obOwner(w: ByteWriter, s: number): void {
    const nd = this.obNd;
    const ss = nd.sessions;
    w.ascii("owner=");
    // A slot's generation starts at 1 and moves on every detach: live or moved means it was used.
    if (ss.live[s] === 0 && ss.gen[s] === 1) {
      w.ascii("none");
      return;
    }
    w.ascii(nd.roles.names[ss.role[s]]);
    w.byte(47);
    const subject = ss.subject.get(s);
    if (subject.length === 0) w.byte(45);
    else safe(w, subject);
  }

  // ---- watch -----------------------------------------------------------------------------------

  /** True when a watched value moved by its tolerance since the last line (or there is none yet). */
  private obMoved(): boolean {
    const nd = this.obNd;
    const ing = nd.ingest;
    const spec = nd.boot.observability.ingest;
    const c = this.nowValues;
    c[0] = ing.percentile(50);
    c[1] = ing.percentile(95);
    c[2] = ing.backpressure;
    c[3] = ing.dropped;
    c[4] = ing.queued;
    const v = this.lastValues;
    const lat = spec.latencyToleranceMs;
    const cnt = spec.counterTolerance;
    // The first line waits for something to report; later ones for a move beyond its tolerance.
    if (this.watchCount === 0) return c[0] + c[1] + c[2] + c[3] + c[4] !== 0;
    return beyond(c[0], v[0], lat) || beyond(c[1], v[1], lat) || beyond(c[2], v[2], cnt) || beyond(c[3], v[3], cnt) ||
      beyond(c[4], v[4], cnt);
  }

  private obWatchLine(nowMs: number): void {
    const v = this.lastValues;
    const c = this.nowValues;
    for (let i = 0; i < 5; i++) v[i] = c[i];
    const w = this.lineW;
    w.reset();
    w.labelUint("t_ms=", nowMs);
    w.labelUint(" p50_ms=", v[0]);
    w.labelUint(" p95_ms=", v[1]);
    w.labelUint(" backpressure=", v[2]);
    w.labelUint(" dropped=", v[3]);
    w.labelUint(" queued=", v[4]);
    // A line never passes watch_line_bytes: the newline always ends it.
    let n = w.len < this.lineBytes ? w.len : this.lineBytes - 1;
    const slot = (this.watchHead + this.watchCount) % this.watchMax;
    const base = slot * this.lineBytes;
    const buf = this.watchBuf;
    for (let i = 0; i < n; i++) buf[base + i] = w.buf[i];
    buf[base + n] = 10;
    n++;
    const lens = this.watchLen;
    lens[slot] = n;
    if (this.watchCount < this.watchMax) this.watchCount++;
    else this.watchHead = (this.watchHead + 1) % this.watchMax;
  }

  private obWatch(): ByteWriter {
    const out = this.watchOut;
    out.reset();
    for (let i = 0; i < this.watchCount; i++) {
      const slot = (this.watchHead + i) % this.watchMax;
      out.bytes(this.watchBuf, slot * this.lineBytes, this.watchLen[slot]);
    }
    return out;
  }
}

function beyond(now: number, was: number, tolerance: number): boolean {
  const d = now > was ? now - was : was - now;
  return tolerance <= 0 ? d > 0 : d >= tolerance;
}
