/**
 * `/host` (Milestone 11, namespace reference §7), mounted when `ecosystem.host.enable`: the host's
 * services as files, published by the host sidecar (`cohesix host-agent`, attached as queen with its
 * own ticket) and driven by the queen through control files the policy gate guards.
 *
 *   /host/status                    agent=<absent|live|stale> reason=… last_seen_ms= stale_ms= entries= actions=
 *   /host/ctl                       (append, the agent) one command per write:
 *                                     hello <agent-id> | beat | provider <p> present|absent
 *                                     entry <p> <name> <status text> | done <seq> ok|failed
 *   /host/actions                   (read) the control writes to carry out, and their outcome, one line each:
 *                                     `seq=<n> action=<a> target=<path>` then `seq=<n> done=<ok|failed>`
 *   /host/<p>/status                state=<unknown|present|absent> entries=<n>
 *   /host/systemd/<unit>/{status,restart}   /host/docker/<name>/{status,restart}
 *   /host/k8s/node/<name>/{status,cordon,drain}   /host/<nvidia|jetson|net>/<name>/status
 *
 * A control write is accepted only while the agent is live (else EAGAIN: nobody would carry it out)
 * and appends an action line; the gate (an approval for `/host/systemd/*\/restart` in the full profile)
 * and the audit journal see it as any Control write. The agent is stale after `stale_ms` without a
 * word, or at once when its session ends (a crash closes the connection); the hive keeps serving the
 * last published state, marked stale. Tables are sized from the manifest at boot; a publish of a new
 * entry allocates its name string once (Porffor: never freed, bounded by `max_entries`).
 */
import { allocF64, allocI32, allocU8 } from "../alloc.ts";
import { decodeUtf8, equalsAscii } from "../../lib/bytes.ts";
import { EAGAIN, EINVAL, EMSGSIZE, ENOSPC, EROFS } from "../../../secure9p/errors.ts";
import type { HostSpec } from "../../boot.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered, safeBytes, trimmedLen } from "../provider.ts";
import { RingSet } from "../ring.ts";
import { Access } from "../tree.ts";

const Kind = { Status: 1, Ctl: 2, Actions: 3, ProvStatus: 4, EntStatus: 5, Action: 6 } as const;
/** Control actions a file may carry; the file is named after its action. */
const ACTIONS = ["restart", "cordon", "drain"];
const NAME_MAX = 64;
const STATUS_MAX = 160;
const CTL_MAX = 256;
const ACTIONS_RING = 4096;
const AGENT_ID_MAX = 32;
const Agent = { Absent: 0, Live: 1, Stale: 2 } as const;
const AGENT_NAMES = ["absent", "live", "stale"];
const STALE_REASONS = ["none", "heartbeat-timeout", "session-closed"];
const PROV_NAMES = ["unknown", "present", "absent"];

/** Node-table slots /host may use: its files, a directory and status per provider, 4 per entry. */
export function hostNodeCount(h: HostSpec): number {
  if (!h.enable) return 0;
  return 8 + 3 * h.providers.length + 4 * h.maxEntries;
}

/** The actions an entry of provider `p` offers, as indexes into ACTIONS (k8s: cordon, drain). */
function actionsOf(p: string, i: number): number {
  if (p === "systemd" || p === "docker") return i === 0 ? 0 : -1;
  if (p === "k8s") return i === 0 ? 1 : i === 1 ? 2 : -1;
  return -1;
}

export class HostFiles implements Provider {
  provId = -1;
  private hoNd: NineDoor;
  private hoSpec: HostSpec;
  /** Directory slot of each provider (entries of k8s live under its `node` directory). */
  private hoProvDir: Int32Array;
  private hoProvState: Int32Array;
  private hoEntCount = 0;
  private hoEntProv: Int32Array;
  private hoEntName: Uint8Array;
  private hoEntNameLen: Int32Array;
  private hoEntStatus: Uint8Array;
  private hoEntStatusLen: Int32Array;
  private hoEntSeenMs: Float64Array;
  private hoEntDir: Int32Array;
  private hoAgent: number = Agent.Absent;
  private hoStaleReason = 0;
  private hoAgentId: Uint8Array = allocU8(AGENT_ID_MAX);
  private hoAgentIdLen = 0;
  /** The agent's session (slot and handle): its end makes the agent stale at once. */
  private hoAgentSlot = -1;
  private hoAgentHandle = -1;
  private hoSeenMs = 0;
  private hoSeq = 0;
  private hoActions: RingSet;
  private hoLine: Uint8Array = allocU8(CTL_MAX);

  constructor(nd: NineDoor) {
    this.hoNd = nd;
    const h = nd.boot.ecosystem.host;
    this.hoSpec = h;
    const np = h.providers.length;
    const ne = h.maxEntries;
    this.hoProvDir = allocI32(np);
    this.hoProvState = allocI32(np);
    this.hoEntProv = allocI32(ne);
    this.hoEntName = allocU8(ne * NAME_MAX);
    this.hoEntNameLen = allocI32(ne);
    this.hoEntStatus = allocU8(ne * STATUS_MAX);
    this.hoEntStatusLen = allocI32(ne);
    this.hoEntSeenMs = allocF64(ne);
    this.hoEntDir = allocI32(ne);
    this.hoActions = new RingSet(1, ACTIONS_RING);
  }

  mountNodes(): void {
    const h = this.hoSpec;
    if (!h.enable) return;
    const t = this.hoNd.tree;
    const id = this.provId;
    let dir = 0;
    const parts = h.mountAt.split("/");
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === "") continue;
      const have = t.childNamed(dir, parts[i]);
      dir = have >= 0 ? have : t.addDir(dir, parts[i], 0, 0);
    }
    t.add(dir, "status", id, Kind.Status, Access.ReadOnly, 0, 0);
    t.add(dir, "ctl", id, Kind.Ctl, Access.AppendOnly, 0, 0);
    t.add(dir, "actions", id, Kind.Actions, Access.ReadOnly, 0, 0);
    const pd = this.hoProvDir;
    for (let p = 0; p < h.providers.length; p++) {
      const d = t.addDir(dir, h.providers[p], p, 0);
      t.add(d, "status", id, Kind.ProvStatus, Access.ReadOnly, p, 0);
      pd[p] = h.providers[p] === "k8s" ? t.addDir(d, "node", p, 0) : d;
    }
  }

  nodeRead(kind: number, arg: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    if (kind === Kind.Actions) return this.hoActions.read(0, offset, dst, dstOff, count);
    this.hoRefresh();
    const w = this.hoNd.scratch;
    w.reset();
    if (kind === Kind.Status) {
      w.ascii("agent=");
      w.ascii(AGENT_NAMES[this.hoAgent]);
      if (this.hoAgentIdLen > 0) {
        w.ascii(" id=");
        w.bytes(this.hoAgentId, 0, this.hoAgentIdLen);
      }
      w.ascii(" reason=");
      w.ascii(STALE_REASONS[this.hoStaleReason]);
      w.labelUint(" last_seen_ms=", this.hoSeenMs);
      w.labelUint(" stale_ms=", this.hoSpec.staleMs);
      w.labelUint(" entries=", this.hoEntCount);
      w.labelUint(" max_entries=", this.hoSpec.maxEntries);
      w.labelUint(" actions=", this.hoSeq);
      w.byte(10);
    } else if (kind === Kind.ProvStatus) {
      w.ascii("state=");
      w.ascii(PROV_NAMES[this.hoProvState[arg]]);
      let n = 0;
      for (let e = 0; e < this.hoEntCount; e++) if (this.hoEntProv[e] === arg) n++;
      w.labelUint(" entries=", n);
      w.byte(10);
    } else if (kind === Kind.EntStatus) {
      w.ascii("status=");
      w.bytes(this.hoEntStatus, arg * STATUS_MAX, this.hoEntStatusLen[arg]);
      w.labelUint("\nseen_ms=", this.hoEntSeenMs[arg]);
      w.ascii("\nagent=");
      w.ascii(AGENT_NAMES[this.hoAgent]);
      w.byte(10);
    } else return 0;
    return readRendered(w, offset, dst, dstOff, count);
  }

  nodeWrite(s: number, kind: number, arg: number, src: Uint8Array, srcOff: number, count: number): number {
    if (kind === Kind.Ctl) return this.hoCtl(s, src, srcOff, count);
    if (kind === Kind.Action) return this.hoAction(arg, src, srcOff, count);
    return -EROFS;
  }

  nodeSize(kind: number, _arg: number): number {
    return kind === Kind.Actions ? this.hoActions.end[0] : 0;
  }

  nodeStart(kind: number, _arg: number): number {
    return kind === Kind.Actions ? this.hoActions.start[0] : 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {
    this.hoRefresh();
  }

  /** Marks a live agent stale when its session ended or it has been silent for `stale_ms`. */
  private hoRefresh(): void {
    if (this.hoAgent !== Agent.Live) return;
    const nd = this.hoNd;
    const ss = nd.sessions;
    const slot = this.hoAgentSlot;
    let reason = 0;
    if (ss.live[slot] === 0 || ss.handle(slot) !== this.hoAgentHandle || ss.revoked[slot] !== 0) reason = 2;
    else if (nd.nowMs - this.hoSeenMs > this.hoSpec.staleMs) reason = 1;
    if (reason === 0) return;
    this.hoAgent = Agent.Stale;
    this.hoStaleReason = reason;
    const lw = nd.lw;
    lw.reset();
    lw.ascii("host agent stale reason=");
    lw.ascii(STALE_REASONS[reason]);
    lw.labelUint(" last_seen_ms=", this.hoSeenMs);
    nd.logLine();
    const gate = nd.policyGate;
    if (gate !== null) gate.auditNote(-1, reason === 2 ? "host-agent-session-closed" : "host-agent-heartbeat-timeout");
  }

  /** One agent command (the whole write, trailing newline trimmed); nothing changes unless it is valid. */
  private hoCtl(s: number, src: Uint8Array, off: number, count: number): number {
    const len = trimmedLen(src, off, count);
    if (len === 0 || len > CTL_MAX) return len === 0 ? -EINVAL : -EMSGSIZE;
    const line = this.hoLine;
    for (let i = 0; i < len; i++) {
      const c = src[off + i];
      if (c < 32 || c > 126) return -EINVAL;
      line[i] = c;
    }
    // Words: verb, then up to three more; the rest of the line is the last word (an entry's status).
    const sp1 = this.hoSpace(line, 0, len);
    const verbLen = sp1 < 0 ? len : sp1;
    // Only `hello` comes from a session that is not (yet) the agent's.
    let r = -EINVAL;
    if (equalsAscii(line, 0, verbLen, "hello") && sp1 > 0) r = this.hoHello(s, line, sp1 + 1, len);
    else if (this.hoAgent === Agent.Absent || this.hoAgentSlot !== s) r = -EINVAL;
    else if (equalsAscii(line, 0, verbLen, "beat") && sp1 < 0) r = 0;
    else if (equalsAscii(line, 0, verbLen, "provider") && sp1 > 0) r = this.hoProvider(line, sp1 + 1, len);
    else if (equalsAscii(line, 0, verbLen, "entry") && sp1 > 0) r = this.hoEntry(line, sp1 + 1, len);
    else if (equalsAscii(line, 0, verbLen, "done") && sp1 > 0) r = this.hoDone(line, sp1 + 1, len);
    if (r < 0) return r;
    // Any valid word from the agent's session is a sign of life.
    if (this.hoAgentSlot === s) {
      this.hoSeenMs = this.hoNd.nowMs;
      if (this.hoAgent === Agent.Stale) {
        this.hoAgent = Agent.Live;
        this.hoStaleReason = 0;
      }
    }
    return count;
  }

  private hoSpace(line: Uint8Array, from: number, end: number): number {
    for (let i = from; i < end; i++) if (line[i] === 32) return i;
    return -1;
  }

  /** `hello <agent-id>`: this session is the agent from now on (a restarted agent takes over). */
  private hoHello(s: number, line: Uint8Array, at: number, end: number): number {
    const n = end - at;
    if (n < 1 || n > AGENT_ID_MAX || !safeBytes(line, at, n)) return -EINVAL;
    const id = this.hoAgentId;
    for (let i = 0; i < n; i++) id[i] = line[at + i];
    this.hoAgentIdLen = n;
    this.hoAgentSlot = s;
    this.hoAgentHandle = this.hoNd.sessions.handle(s);
    this.hoAgent = Agent.Live;
    this.hoStaleReason = 0;
    const lw = this.hoNd.lw;
    lw.reset();
    lw.ascii("host agent live id=");
    lw.bytes(line, at, n);
    this.hoNd.logLine();
    return 0;
  }

  /** Index of the provider named line[at..at+n), or -1. */
  private hoProvIndex(line: Uint8Array, at: number, n: number): number {
    const ps = this.hoSpec.providers;
    for (let p = 0; p < ps.length; p++) if (equalsAscii(line, at, n, ps[p])) return p;
    return -1;
  }

  /** `provider <p> present|absent`. */
  private hoProvider(line: Uint8Array, at: number, end: number): number {
    const sp = this.hoSpace(line, at, end);
    if (sp < 0) return -EINVAL;
    const p = this.hoProvIndex(line, at, sp - at);
    if (p < 0) return -EINVAL;
    let state = 0;
    if (equalsAscii(line, sp + 1, end - sp - 1, "present")) state = 1;
    else if (equalsAscii(line, sp + 1, end - sp - 1, "absent")) state = 2;
    else return -EINVAL;
    const ps = this.hoProvState;
    ps[p] = state;
    return 0;
  }

  /** `entry <p> <name> <status>`: creates the entry (and its files) or updates its status. */
  private hoEntry(line: Uint8Array, at: number, end: number): number {
    const sp1 = this.hoSpace(line, at, end);
    if (sp1 < 0) return -EINVAL;
    const p = this.hoProvIndex(line, at, sp1 - at);
    if (p < 0) return -EINVAL;
    const nameAt = sp1 + 1;
    const sp2 = this.hoSpace(line, nameAt, end);
    if (sp2 < 0) return -EINVAL;
    const nameLen = sp2 - nameAt;
    const statusLen = end - sp2 - 1;
    if (nameLen < 1 || nameLen > NAME_MAX || !safeBytes(line, nameAt, nameLen)) return -EINVAL;
    if (line[nameAt] === 46 || statusLen < 1 || statusLen > STATUS_MAX) return -EINVAL;
    let e = this.hoFind(p, line, nameAt, nameLen);
    if (e < 0) {
      e = this.hoCreate(p, line, nameAt, nameLen);
      if (e < 0) return e;
    }
    const st = this.hoEntStatus;
    for (let i = 0; i < statusLen; i++) st[e * STATUS_MAX + i] = line[sp2 + 1 + i];
    const sl = this.hoEntStatusLen;
    sl[e] = statusLen;
    const seen = this.hoEntSeenMs;
    seen[e] = this.hoNd.nowMs;
    const ps = this.hoProvState;
    ps[p] = 1;
    return 0;
  }

  private hoFind(p: number, line: Uint8Array, at: number, n: number): number {
    const names = this.hoEntName;
    for (let e = 0; e < this.hoEntCount; e++) {
      if (this.hoEntProv[e] !== p || this.hoEntNameLen[e] !== n) continue;
      let same = true;
      for (let i = 0; i < n; i++) if (names[e * NAME_MAX + i] !== line[at + i]) same = false;
      if (same) return e;
    }
    return -1;
  }

  /** Adds entry files under the provider's directory; ENOSPC (nothing added) when the table is full. */
  private hoCreate(p: number, line: Uint8Array, at: number, n: number): number {
    const e = this.hoEntCount;
    if (e >= this.hoSpec.maxEntries) return -ENOSPC;
    const t = this.hoNd.tree;
    const id = this.provId;
    const dir = t.addDir(this.hoProvDir[p], decodeUtf8(line, at, n), e, this.hoNd.nowMs);
    if (dir < 0) return -ENOSPC;
    t.add(dir, "status", id, Kind.EntStatus, Access.ReadOnly, e, 0);
    const prov = this.hoSpec.providers[p];
    for (let i = 0; i < 2; i++) {
      const a = actionsOf(prov, i);
      if (a >= 0) t.add(dir, ACTIONS[a], id, Kind.Action, Access.Control, e * 4 + a, 0);
    }
    const names = this.hoEntName;
    for (let i = 0; i < n; i++) names[e * NAME_MAX + i] = line[at + i];
    const nl = this.hoEntNameLen;
    nl[e] = n;
    const ep = this.hoEntProv;
    ep[e] = p;
    const ed = this.hoEntDir;
    ed[e] = dir;
    this.hoEntCount = e + 1;
    return e;
  }

  /** `done <seq> ok|failed`: the agent's outcome of action `seq`, appended to /host/actions. */
  private hoDone(line: Uint8Array, at: number, end: number): number {
    const sp = this.hoSpace(line, at, end);
    if (sp < 0 || sp === at || sp - at > 9) return -EINVAL;
    let seq = 0;
    for (let i = at; i < sp; i++) {
      const c = line[i];
      if (c < 48 || c > 57) return -EINVAL;
      seq = seq * 10 + (c - 48);
    }
    if (seq < 1 || seq > this.hoSeq) return -EINVAL;
    const ok = equalsAscii(line, sp + 1, end - sp - 1, "ok");
    if (!ok && !equalsAscii(line, sp + 1, end - sp - 1, "failed")) return -EINVAL;
    const w = this.hoNd.scratch;
    w.reset();
    w.labelUint("seq=", seq);
    w.ascii(ok ? " done=ok\n" : " done=failed\n");
    this.hoActions.append(0, w.buf, 0, w.len);
    return 0;
  }

  /** A control write (restart, cordon, drain) on entry arg/4: one action line for the agent. */
  private hoAction(arg: number, src: Uint8Array, off: number, count: number): number {
    this.hoRefresh();
    const len = trimmedLen(src, off, count);
    if (len > NAME_MAX) return -EMSGSIZE;
    if (!safeBytes(src, off, len)) return -EINVAL;
    if (this.hoAgent !== Agent.Live) return -EAGAIN;
    const e = Math.floor(arg / 4);
    const a = arg - e * 4;
    this.hoSeq = this.hoSeq + 1;
    const nd = this.hoNd;
    const w = nd.scratch;
    w.reset();
    w.labelUint("seq=", this.hoSeq);
    w.ascii(" action=");
    w.ascii(ACTIONS[a]);
    w.ascii(" target=");
    nd.writePath(w, this.hoEntDir[e]);
    w.byte(10);
    this.hoActions.append(0, w.buf, 0, w.len);
    const lw = nd.lw;
    lw.reset();
    lw.labelUint("host action seq=", this.hoSeq);
    lw.ascii(" action=");
    lw.ascii(ACTIONS[a]);
    lw.ascii(" entry=");
    lw.bytes(this.hoEntName, e * NAME_MAX, this.hoEntNameLen[e]);
    nd.logLine();
    return count;
  }
}
