/**
 * Node lifecycle (namespace reference §4, Milestone 21d): `/proc/lifecycle/{state,reason,since}`
 * (read-only `key=value` lines) and `/queen/lifecycle/ctl` (append-only; the role table keeps it to
 * the queen). One command per write: `cordon`, `drain`, `resume`, `quiesce` or `reset`, optionally
 * followed by ` reason=<token>`. Every transition and every refusal is one queen-log line:
 * `lifecycle transition old=<S> new=<S> reason=<r>` or
 * `lifecycle denied action=<a> state=<S> reason=<invalid-transition|outstanding-leases|invalid-command|gate-denied>`.
 *
 * Other services ask `allows(Gate.X)` before worker attach, spawn, worker telemetry, ingest and GPU
 * jobs; a refusal logs one `gate-denied` line. Manifest `[lifecycle]` gives the initial state and the
 * automatic transitions applied once, when NineDoor comes online (boot complete).
 */
import { allocU8 } from "../alloc.ts";
import { EBUSY, EINVAL, EROFS } from "../../../secure9p/errors.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered, trimmedLen } from "../provider.ts";
import { Access } from "../tree.ts";

export const LifeState = { Booting: 0, Degraded: 1, Online: 2, Draining: 3, Quiesced: 4, Offline: 5 } as const;
export const LIFECYCLE_STATES = ["BOOTING", "DEGRADED", "ONLINE", "DRAINING", "QUIESCED", "OFFLINE"];
export const LIFECYCLE_ACTIONS = ["cordon", "drain", "resume", "quiesce", "reset"];
const Act = { Cordon: 0, Drain: 1, Resume: 2, Quiesce: 3, Reset: 4 } as const;

/** What the lifecycle state gates (reference §4), and the names its denial lines use. */
export const Gate = { WorkerAttach: 0, Spawn: 1, WorkerTelemetry: 2, Ingest: 3, GpuJob: 4 } as const;
export const GATE_NAMES = ["worker-attach", "spawn", "worker-telemetry", "telemetry-ingest", "gpu-job"];
/**
 * Allowed states per gate, one flag per state in LIFECYCLE_STATES order. New work (attach, spawn, GPU
 * jobs) needs ONLINE or DEGRADED; telemetry also flows in DRAINING (reference: "Telemetry ingest stays
 * enabled in DRAINING"), so a cordoned hive loses no data from the workers it already has.
 */
const GATE_ALLOWS = [
  [0, 1, 1, 0, 0, 0],
  [0, 1, 1, 0, 0, 0],
  [0, 1, 1, 1, 0, 0],
  [0, 1, 1, 1, 0, 0],
  [0, 1, 1, 0, 0, 0],
];

const Kind = { State: 1, Reason: 2, Since: 3, Ctl: 4 } as const;
/** Nodes `mountNodes` adds: /proc/lifecycle + 3 files, /queen/lifecycle + ctl. */
export const LIFECYCLE_NODES = 6;
const REASON_MAX = 64;
const REASON_KEY = "reason=";

/** The state index named `name` (upper case), or -1. */
export function lifecycleStateIndex(name: string): number {
  for (let i = 0; i < LIFECYCLE_STATES.length; i++) if (LIFECYCLE_STATES[i] === name) return i;
  return -1;
}

function isReasonByte(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 ||
    c === 95 || c === 58;
}

export class LifecycleFiles implements Provider {
  provId = -1;
  /** Current state (LifeState). */
  lcState: number;
  sinceMs = 0;
  transitions = 0;
  denials = 0;
  private nd: NineDoor;
  /** The reason of the last transition, as bytes (a token: [A-Za-z0-9._:-]). */
  private lcReason: Uint8Array = allocU8(REASON_MAX);
  private lcReasonLen = 0;

  constructor(nd: NineDoor) {
    this.nd = nd;
    const initial = lifecycleStateIndex(nd.boot.lifecycle.initialState);
    this.lcState = initial < 0 ? LifeState.Booting : initial;
    this.setReasonText("boot");
  }

  mountNodes(): void {
    const nd = this.nd;
    const t = nd.tree;
    const id = this.provId;
    const dir = t.addDir(nd.procDir, "lifecycle", 0, 0);
    t.add(dir, "state", id, Kind.State, Access.ReadOnly, 0, 0);
    t.add(dir, "reason", id, Kind.Reason, Access.ReadOnly, 0, 0);
    t.add(dir, "since", id, Kind.Since, Access.ReadOnly, 0, 0);
    const queen = t.childNamed(0, "queen");
    const qdir = t.addDir(queen < 0 ? 0 : queen, "lifecycle", 0, 0);
    t.add(qdir, "ctl", id, Kind.Ctl, Access.Control, 0, 0);
  }

  /** Boot complete: applies the manifest's automatic transition out of the initial state, if any. */
  bootComplete(): void {
    const auto = this.nd.boot.lifecycle.autoTransitions;
    for (let i = 0; i < auto.length; i++) {
      if (lifecycleStateIndex(auto[i].from) !== this.lcState) continue;
      const to = lifecycleStateIndex(auto[i].to);
      if (to < 0) return;
      this.setReasonText("boot-complete");
      this.lcEnter(to);
      return;
    }
  }

  /** True when the state lets `gate` through; otherwise logs one `gate-denied` line. */
  lcAllows(gate: number): boolean {
    if (GATE_ALLOWS[gate][this.lcState] !== 0) return true;
    this.denials++;
    const lw = this.nd.lw;
    lw.reset();
    lw.ascii("lifecycle denied action=");
    lw.ascii(GATE_NAMES[gate]);
    lw.ascii(" state=");
    lw.ascii(LIFECYCLE_STATES[this.lcState]);
    lw.ascii(" reason=gate-denied");
    this.nd.logLine();
    return false;
  }

  lcStateName(): string {
    return LIFECYCLE_STATES[this.lcState];
  }

  nodeRead(kind: number, _arg: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    const w = this.nd.scratch;
    w.reset();
    if (kind === Kind.State) {
      w.ascii("state=");
      w.ascii(LIFECYCLE_STATES[this.lcState]);
    } else if (kind === Kind.Reason) {
      w.ascii(REASON_KEY);
      w.bytes(this.lcReason, 0, this.lcReasonLen);
    } else if (kind === Kind.Since) w.labelUint("since_ms=", this.sinceMs);
    else return 0;
    w.byte(10);
    return readRendered(w, offset, dst, dstOff, count);
  }

  nodeWrite(_s: number, kind: number, _arg: number, src: Uint8Array, srcOff: number, count: number): number {
    if (kind !== Kind.Ctl) return -EROFS;
    const r = this.lcCommand(src, srcOff, trimmedLen(src, srcOff, count));
    return r < 0 ? r : count;
  }

  nodeSize(_kind: number, _arg: number): number {
    return 0;
  }

  nodeStart(_kind: number, _arg: number): number {
    return 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {}

  /** One control line: `<action>[ reason=<token>]`. Returns 0 or -errno (and logs a denial). */
  private lcCommand(src: Uint8Array, off: number, len: number): number {
    let end = 0;
    while (end < len && src[off + end] !== 32) end++;
    let act = -1;
    for (let a = 0; a < LIFECYCLE_ACTIONS.length; a++) {
      const name = LIFECYCLE_ACTIONS[a];
      if (name.length !== end) continue;
      let same = true;
      for (let i = 0; i < end; i++) {
        if (src[off + i] !== name.charCodeAt(i)) {
          same = false;
          break;
        }
      }
      if (same) act = a;
    }
    // The optional reason: exactly ` reason=<token>` (1..64 bytes of [A-Za-z0-9._:-]).
    let rOff = 0;
    let rLen = 0;
    if (act >= 0 && end < len) {
      const start = off + end + 1;
      const left = len - end - 1;
      let ok = left > REASON_KEY.length && left - REASON_KEY.length <= REASON_MAX;
      for (let i = 0; ok && i < REASON_KEY.length; i++) ok = src[start + i] === REASON_KEY.charCodeAt(i);
      for (let i = REASON_KEY.length; ok && i < left; i++) ok = isReasonByte(src[start + i]);
      if (!ok) act = -1;
      rOff = start + REASON_KEY.length;
      rLen = left - REASON_KEY.length;
    }
    if (act < 0) return this.lcDeny(src, off, end, "invalid-command", EINVAL, 0);
    const to = this.lcTarget(act);
    if (to < 0) return this.lcDeny(src, off, end, "invalid-transition", EINVAL, 0);
    if (act === Act.Drain || act === Act.Quiesce || act === Act.Reset) {
      const leases = this.outstandingLeases();
      if (leases > 0) return this.lcDeny(src, off, end, "outstanding-leases", EBUSY, leases);
    }
    if (rLen > 0) {
      const r = this.lcReason;
      for (let i = 0; i < rLen; i++) r[i] = src[rOff + i];
      this.lcReasonLen = rLen;
    } else this.setReasonText(LIFECYCLE_ACTIONS[act]);
    this.lcEnter(to);
    return 0;
  }

  /** The state action `act` leads to from the current one, or -1 (reference §4 transition table). */
  private lcTarget(act: number): number {
    const s = this.lcState;
    if (act === Act.Cordon) return s === LifeState.Online || s === LifeState.Degraded ? LifeState.Draining : -1;
    if (act === Act.Drain) return s === LifeState.Draining ? LifeState.Quiesced : -1;
    if (act === Act.Quiesce) {
      return s === LifeState.Online || s === LifeState.Degraded || s === LifeState.Draining ? LifeState.Quiesced : -1;
    }
    if (act === Act.Resume) return s !== LifeState.Online ? LifeState.Online : -1;
    return s !== LifeState.Booting ? LifeState.Booting : -1;
  }

  private outstandingLeases(): number {
    const lessee = this.nd.gpus.lessee;
    let n = 0;
    for (let g = 0; g < lessee.length; g++) if (lessee[g] >= 0) n++;
    return n;
  }

  private lcEnter(to: number): void {
    const nd = this.nd;
    const lw = nd.lw;
    lw.reset();
    lw.ascii("lifecycle transition old=");
    lw.ascii(LIFECYCLE_STATES[this.lcState]);
    lw.ascii(" new=");
    lw.ascii(LIFECYCLE_STATES[to]);
    lw.ascii(" reason=");
    lw.bytes(this.lcReason, 0, this.lcReasonLen);
    nd.logLine();
    this.lcState = to;
    this.sinceMs = nd.nowMs;
    this.transitions++;
  }

  private lcDeny(src: Uint8Array, off: number, len: number, reason: string, errno: number, leases: number): number {
    this.denials++;
    const lw = this.nd.lw;
    lw.reset();
    lw.ascii("lifecycle denied action=");
    // The action as typed, bounded and with anything outside the token set as `?` (no forged lines).
    const n = len > 32 ? 32 : len;
    if (n === 0) lw.byte(45);
    for (let i = 0; i < n; i++) lw.byte(isReasonByte(src[off + i]) ? src[off + i] : 63);
    lw.ascii(" state=");
    lw.ascii(LIFECYCLE_STATES[this.lcState]);
    lw.ascii(" reason=");
    lw.ascii(reason);
    if (leases > 0) lw.labelUint(" leases=", leases);
    this.nd.logLine();
    return -errno;
  }

  private setReasonText(text: string): void {
    const r = this.lcReason;
    for (let i = 0; i < text.length; i++) r[i] = text.charCodeAt(i);
    this.lcReasonLen = text.length;
  }
}
