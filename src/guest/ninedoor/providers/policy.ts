/**
 * PolicyFS (Milestone 12, namespace reference §7), mounted when `ecosystem.policy.enable`:
 * - `/policy/ctl` (append-only): one JSON object per write: `{"op":"reload"}` (back to the manifest's
 *   rules), `{"op":"add","id":"<id>","target":"<glob>"}`, `{"op":"remove","id":"<id>"}`.
 * - `/policy/rules` (read-only): the rules in force, their hits and the gate's counters.
 * - `/policy/preflight/req` (append-only) `{"target":"<path>"}` and `/policy/preflight/diff`
 *   (read-only): what a write to that path would meet now (rule, approval, outcome), changing nothing.
 * - `/actions/queue` (append-only): JSON lines `{"id":"<id>","target":"<path>","decision":"approve|deny"}`.
 *   A write is checked whole before anything is queued (no partial state); each approval gets
 *   `/actions/<id>/status` (read-only) going `queued` -> `consumed` when the gate uses it (or `denied`).
 *   When the table is full the oldest finished (consumed or denied) approval leaves; all queued: EBUSY.
 * Every accepted or refused write is a decisions record in the audit journal and a queen-log line.
 * Porffor: one id string per approval (its directory name) is allocated when it is queued.
 */
import { allocI32, allocU8 } from "../alloc.ts";
import { decodeUtf8 } from "../../lib/bytes.ts";
import { EBUSY, EEXIST, EINVAL, EMSGSIZE, ENOENT, EROFS } from "../../../secure9p/errors.ts";
import type { PolicySpec } from "../../boot.ts";
import type { AuditJournal } from "../audit_journal.ts";
import { JsonTokens, JsonType } from "../json.ts";
import type { NineDoor } from "../ninedoor.ts";
import {
  AP_STATE_NAMES,
  ApDecision,
  ApState,
  MAX_POLICY_RULES,
  pgTokenByte,
  pgValidTarget,
  POLICY_ID_MAX,
  POLICY_TARGET_MAX,
  type PolicyGate,
} from "../policy_gate.ts";
import { type Provider, readRendered, trimmedLen } from "../provider.ts";
import { Access } from "../tree.ts";

const Kind = { Ctl: 1, Rules: 2, Req: 3, Diff: 4, Queue: 5, Status: 6 } as const;
/** Boot nodes: /policy, ctl, rules, preflight, req, diff, /actions, queue. */
export const POLICY_NODES = 8;

/** Nodes approvals may add at run time: `/actions/<id>` and its `status`, per queue slot. */
export function policyNodeCount(p: PolicySpec): number {
  return p.enable ? 2 * p.queueMaxEntries : 0;
}

export class PolicyFiles implements Provider {
  provId = -1;
  private plNd: NineDoor;
  private plGate: PolicyGate;
  private plLog: AuditJournal;
  private plTokens: JsonTokens = new JsonTokens(16);
  private plActionsDir = -1;
  /** Approvals of the write being checked: byte ranges in the caller's buffer. */
  private plIdOff: Int32Array;
  private plIdLen: Int32Array;
  private plTgtOff: Int32Array;
  private plTgtLen: Int32Array;
  private plDec: Int32Array;
  /** The last preflight target. */
  private plPre: Uint8Array = allocU8(POLICY_TARGET_MAX);
  private plPreLen = 0;

  constructor(nd: NineDoor, gate: PolicyGate, journal: AuditJournal) {
    this.plNd = nd;
    this.plGate = gate;
    this.plLog = journal;
    const cap = this.plGate.apCap;
    this.plIdOff = allocI32(cap);
    this.plIdLen = allocI32(cap);
    this.plTgtOff = allocI32(cap);
    this.plTgtLen = allocI32(cap);
    this.plDec = allocI32(cap);
  }

  mountNodes(): void {
    if (!this.plGate.pgOn) return;
    const t = this.plNd.tree;
    const id = this.provId;
    const pol = t.addDir(0, "policy", 0, 0);
    t.add(pol, "ctl", id, Kind.Ctl, Access.AppendOnly, 0, 0);
    t.add(pol, "rules", id, Kind.Rules, Access.ReadOnly, 0, 0);
    const pre = t.addDir(pol, "preflight", 0, 0);
    t.add(pre, "req", id, Kind.Req, Access.AppendOnly, 0, 0);
    t.add(pre, "diff", id, Kind.Diff, Access.ReadOnly, 0, 0);
    this.plActionsDir = t.addDir(0, "actions", 0, 0);
    t.add(this.plActionsDir, "queue", id, Kind.Queue, Access.AppendOnly, 0, 0);
  }

  nodeRead(
    kind: number,
    arg: number,
    offset: number,
    dst: Uint8Array,
    dstOff: number,
    count: number,
  ): number {
    const w = this.plNd.scratch;
    w.reset();
    const g = this.plGate;
    if (kind === Kind.Rules) {
      w.labelUint("rules=", g.pgRuleCount);
      w.ascii(g.pgRulesEdited ? " source=edited" : " source=manifest");
      w.labelUint(" reloads=", g.pgReloads);
      w.byte(10);
      for (let r = 0; r < g.pgRuleCount; r++) {
        w.ascii("rule id=");
        w.bytes(g.pgRuleId, r * POLICY_ID_MAX, g.pgRuleIdLen[r]);
        w.ascii(" target=");
        w.bytes(g.pgRuleTarget, r * POLICY_TARGET_MAX, g.pgRuleTargetLen[r]);
        w.labelUint(" hits=", g.pgRuleHits[r]);
        w.byte(10);
      }
      w.labelUint("gate allowed=", g.pgAllowed);
      w.labelUint(" denied=", g.pgDenied);
      w.labelUint(" consumed=", g.pgConsumed);
      w.byte(10);
    } else if (kind === Kind.Diff) this.plRenderDiff();
    else if (kind === Kind.Status) {
      const k = arg;
      w.ascii("id=");
      w.bytes(g.apId, k * POLICY_ID_MAX, g.apIdLen[k]);
      w.ascii("\nstate=");
      w.ascii(AP_STATE_NAMES[g.apState[k]]);
      w.ascii(g.apDecision[k] === ApDecision.Approve ? "\ndecision=approve" : "\ndecision=deny");
      w.ascii("\ntarget=");
      w.bytes(g.apTarget, k * POLICY_TARGET_MAX, g.apTargetLen[k]);
      w.labelUint("\nqueued_ms=", g.apQueuedMs[k]);
      if (g.apState[k] === ApState.Consumed) w.labelUint("\nconsumed_ms=", g.apConsumedMs[k]);
      w.byte(10);
      if (w.len > this.plNd.boot.ecosystem.policy.statusMaxBytes) return -EMSGSIZE;
    } else return 0;
    return readRendered(w, offset, dst, dstOff, count);
  }

  nodeWrite(s: number, kind: number, _arg: number, src: Uint8Array, srcOff: number, count: number): number {
    const spec = this.plNd.boot.ecosystem.policy;
    let r = 0;
    if (kind === Kind.Queue) {
      if (count > spec.queueMaxBytes) return this.plRefuse(s, "/actions/queue", "oversized", EMSGSIZE);
      r = this.plQueue(s, src, srcOff, count);
    } else if (kind === Kind.Ctl) {
      if (count > spec.ctlMaxBytes) return this.plRefuse(s, "/policy/ctl", "oversized", EMSGSIZE);
      r = this.plCtl(s, src, srcOff, trimmedLen(src, srcOff, count));
    } else if (kind === Kind.Req) {
      if (count > spec.ctlMaxBytes) return -EMSGSIZE;
      r = this.plPreflight(src, srcOff, trimmedLen(src, srcOff, count));
    } else return -EROFS;
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

  // ---- /actions/queue ----------------------------------------------------------------------------

  /** Checks every line, then queues them all; any error leaves the queue as it was. */
  private plQueue(s: number, src: Uint8Array, off: number, count: number): number {
    const g = this.plGate;
    const t = this.plTokens;
    let n = 0;
    let start = off;
    const end = off + count;
    for (let i = off; i <= end; i++) {
      if (i < end && src[i] !== 10) continue;
      let len = i - start;
      if (len > 0 && src[start + len - 1] === 13) len--;
      if (len > 0) {
        if (n >= g.apCap) return this.plRefuse(s, "/actions/queue", "too-many-lines", EBUSY);
        if (t.parse(src, start, len) < 0 || t.type[0] !== JsonType.Object) {
          return this.plRefuse(s, "/actions/queue", "bad-json", EINVAL);
        }
        const bad = this.plApprovalLine(n);
        if (bad !== "") {
          return this.plRefuse(s, "/actions/queue", bad, bad === "duplicate-id" ? EEXIST : EINVAL);
        }
        n++;
      }
      start = i + 1;
    }
    if (n === 0) return this.plRefuse(s, "/actions/queue", "empty", EINVAL);
    let room = 0;
    const st = g.apState;
    for (let k = 0; k < g.apCap; k++) if (st[k] !== ApState.Queued) room++;
    if (room < n) return this.plRefuse(s, "/actions/queue", "queue-full", EBUSY);
    // Two nodes per approval (reserved in NineDoor's node table); checked so a write never half-applies.
    const tree = this.plNd.tree;
    if (tree.cap - 1 - tree.liveCount < 2 * n) return this.plRefuse(s, "/actions/queue", "node-table-full", EBUSY);
    for (let j = 0; j < n; j++) this.plEnqueue(s, src, j);
    return 0;
  }

  /** Validates the object in plTokens as approval `n` (recorded in the pl* columns); "" or the reason. */
  private plApprovalLine(n: number): string {
    const t = this.plTokens;
    const g = this.plGate;
    const buf = t.buf;
    if (t.size[0] !== 3) return "need-id-target-decision";
    let idTok = -1;
    let tgtTok = -1;
    let decTok = -1;
    let i = 1;
    for (let p = 0; p < 3; p++) {
      const v = i + 1;
      if (t.is(i, "id") && idTok < 0) idTok = v;
      else if (t.is(i, "target") && tgtTok < 0) tgtTok = v;
      else if (t.is(i, "decision") && decTok < 0) decTok = v;
      else return "unknown-key";
      i = t.next[v];
    }
    if (
      t.type[idTok] !== JsonType.String || t.type[tgtTok] !== JsonType.String ||
      t.type[decTok] !== JsonType.String
    ) {
      return "need-strings";
    }
    const idOff = t.start[idTok];
    const idLen = t.end[idTok] - idOff;
    if (idLen < 1 || idLen > POLICY_ID_MAX) return "bad-id";
    for (let k = 0; k < idLen; k++) if (!pgTokenByte(buf[idOff + k])) return "bad-id";
    const tOff = t.start[tgtTok];
    const tLen = t.end[tgtTok] - tOff;
    if (!pgValidTarget(buf, tOff, tLen, false)) return "bad-target";
    let dec = 0;
    if (t.is(decTok, "approve")) dec = ApDecision.Approve;
    else if (t.is(decTok, "deny")) dec = ApDecision.Deny;
    else return "unknown-decision";
    if (g.pgApprovalById(buf, idOff, idLen) >= 0) return "duplicate-id";
    const io = this.plIdOff;
    const il = this.plIdLen;
    for (let j = 0; j < n; j++) {
      if (il[j] !== idLen) continue;
      let same = true;
      for (let k = 0; k < idLen && same; k++) same = buf[io[j] + k] === buf[idOff + k];
      if (same) return "duplicate-id";
    }
    const to = this.plTgtOff;
    const tl = this.plTgtLen;
    const dc = this.plDec;
    io[n] = idOff;
    il[n] = idLen;
    to[n] = tOff;
    tl[n] = tLen;
    dc[n] = dec;
    return "";
  }

  /** Queues checked approval `j` in a free slot (evicting the oldest finished one when needed). */
  private plEnqueue(s: number, src: Uint8Array, j: number): void {
    const g = this.plGate;
    const nd = this.plNd;
    const st = g.apState;
    let k = -1;
    for (let q = 0; q < g.apCap && k < 0; q++) if (st[q] === ApState.Free) k = q;
    if (k < 0) {
      for (let q = 0; q < g.apCap; q++) {
        if (st[q] === ApState.Queued) continue;
        if (k < 0 || g.apSeq[q] < g.apSeq[k]) k = q;
      }
      nd.dropSubtree(g.apDir[k]);
      st[k] = ApState.Free;
    }
    const idOff = this.plIdOff[j];
    const idLen = this.plIdLen[j];
    const tOff = this.plTgtOff[j];
    const tLen = this.plTgtLen[j];
    const idb = g.apId;
    const tb = g.apTarget;
    for (let i = 0; i < idLen; i++) idb[k * POLICY_ID_MAX + i] = src[idOff + i];
    for (let i = 0; i < tLen; i++) tb[k * POLICY_TARGET_MAX + i] = src[tOff + i];
    const il = g.apIdLen;
    const tl = g.apTargetLen;
    const dec = g.apDecision;
    const seq = g.apSeq;
    const qm = g.apQueuedMs;
    const cm = g.apConsumedMs;
    il[k] = idLen;
    tl[k] = tLen;
    dec[k] = this.plDec[j];
    seq[k] = g.apNextSeq;
    g.apNextSeq = g.apNextSeq + 1;
    qm[k] = nd.nowMs;
    cm[k] = 0;
    st[k] = dec[k] === ApDecision.Approve ? ApState.Queued : ApState.Denied;
    const tree = nd.tree;
    const dir = tree.addDir(this.plActionsDir, decodeUtf8(src, idOff, idLen), k, nd.nowMs);
    tree.add(dir, "status", this.provId, Kind.Status, Access.ReadOnly, k, nd.nowMs);
    const dirs = g.apDir;
    dirs[k] = dir;
    g.pgRecord(s, dec[k] === ApDecision.Approve ? "queued" : "denied", k, -1, g.pgPath);
  }

  // ---- /policy/ctl ---------------------------------------------------------------------------------

  private plCtl(s: number, src: Uint8Array, off: number, len: number): number {
    const t = this.plTokens;
    const g = this.plGate;
    if (t.parse(src, off, len) < 0 || t.type[0] !== JsonType.Object || t.size[0] < 1 || t.size[0] > 3) {
      return this.plRefuse(s, "/policy/ctl", "bad-json", EINVAL);
    }
    let opTok = -1;
    let idTok = -1;
    let tgtTok = -1;
    let i = 1;
    for (let p = 0; p < t.size[0]; p++) {
      const v = i + 1;
      if (t.is(i, "op") && opTok < 0) opTok = v;
      else if (t.is(i, "id") && idTok < 0) idTok = v;
      else if (t.is(i, "target") && tgtTok < 0) tgtTok = v;
      else return this.plRefuse(s, "/policy/ctl", "unknown-key", EINVAL);
      i = t.next[v];
    }
    if (opTok < 0) return this.plRefuse(s, "/policy/ctl", "need-op", EINVAL);
    const path = g.pgPath;
    path.reset();
    path.ascii("/policy/ctl");
    if (t.is(opTok, "reload")) {
      if (idTok >= 0 || tgtTok >= 0) return this.plRefuse(s, "/policy/ctl", "unknown-key", EINVAL);
      g.pgLoadManifestRules();
      g.pgReloads++;
      g.pgRecord(s, "rules-reload", -1, -1, path);
      return 0;
    }
    const isAdd = t.is(opTok, "add");
    if (!isAdd && !t.is(opTok, "remove")) return this.plRefuse(s, "/policy/ctl", "unknown-op", EINVAL);
    if (idTok < 0 || t.type[idTok] !== JsonType.String) {
      return this.plRefuse(s, "/policy/ctl", "need-id", EINVAL);
    }
    const idOff = t.start[idTok];
    const idLen = t.end[idTok] - idOff;
    let okId = idLen >= 1 && idLen <= POLICY_ID_MAX;
    for (let k = 0; okId && k < idLen; k++) okId = pgTokenByte(src[idOff + k]);
    if (!okId) return this.plRefuse(s, "/policy/ctl", "bad-id", EINVAL);
    const existing = g.pgRuleById(src, idOff, idLen);
    if (!isAdd) {
      if (tgtTok >= 0) return this.plRefuse(s, "/policy/ctl", "unknown-key", EINVAL);
      if (existing < 0) return this.plRefuse(s, "/policy/ctl", "no-such-rule", ENOENT);
      g.pgRecord(s, "rule-remove", -1, existing, path);
      g.pgRemoveRule(existing);
      return 0;
    }
    if (tgtTok < 0 || t.type[tgtTok] !== JsonType.String) {
      return this.plRefuse(s, "/policy/ctl", "need-target", EINVAL);
    }
    const tOff = t.start[tgtTok];
    const tLen = t.end[tgtTok] - tOff;
    if (!pgValidTarget(src, tOff, tLen, true)) return this.plRefuse(s, "/policy/ctl", "bad-target", EINVAL);
    if (existing >= 0) return this.plRefuse(s, "/policy/ctl", "duplicate-id", EEXIST);
    if (g.pgRuleCount >= MAX_POLICY_RULES) return this.plRefuse(s, "/policy/ctl", "rules-full", EBUSY);
    const r = g.pgAddRule(src, idOff, idLen, tOff, tLen);
    g.pgRecord(s, "rule-add", -1, r, path);
    return 0;
  }

  // ---- /policy/preflight ----------------------------------------------------------------------------

  private plPreflight(src: Uint8Array, off: number, len: number): number {
    const t = this.plTokens;
    if (
      t.parse(src, off, len) < 0 || t.type[0] !== JsonType.Object || t.size[0] !== 1 || !t.is(1, "target")
    ) {
      return -EINVAL;
    }
    const tOff = t.start[2];
    const tLen = t.end[2] - tOff;
    if (t.type[2] !== JsonType.String || !pgValidTarget(src, tOff, tLen, false)) return -EINVAL;
    const pre = this.plPre;
    for (let i = 0; i < tLen; i++) pre[i] = src[tOff + i];
    this.plPreLen = tLen;
    return 0;
  }

  /** What a write to the preflight target would meet now, as `key=value` lines (nothing changes). */
  private plRenderDiff(): void {
    const w = this.plNd.scratch;
    const g = this.plGate;
    if (this.plPreLen === 0) {
      w.ascii("target=none\n");
      return;
    }
    const pre = this.plPre;
    const len = this.plPreLen;
    w.ascii("target=");
    w.bytes(pre, 0, len);
    const r = g.pgMatchRule(pre, 0, len);
    w.ascii("\nrule=");
    if (r < 0) {
      w.ascii("none\napproval=none\noutcome=allow\nchange=none\n");
      return;
    }
    w.bytes(g.pgRuleId, r * POLICY_ID_MAX, g.pgRuleIdLen[r]);
    const k = g.pgFindApproval(pre, 0, len);
    w.ascii("\napproval=");
    if (k < 0) {
      w.ascii("none\noutcome=deny\nchange=none\n");
      return;
    }
    w.bytes(g.apId, k * POLICY_ID_MAX, g.apIdLen[k]);
    w.ascii("\noutcome=allow\nchange=");
    w.bytes(g.apId, k * POLICY_ID_MAX, g.apIdLen[k]);
    w.ascii(" queued->consumed\n");
  }

  /** A refused policy write: one decisions record and queen-log line (`rejected`), then -errno. */
  private plRefuse(s: number, file: string, reason: string, errno: number): number {
    const nd = this.plNd;
    const aj = this.plLog;
    if (aj.ajOn) {
      const w = aj.ajBegin(s, "decision");
      w.ascii(',"decision":"rejected","file":"');
      w.ascii(file);
      w.ascii('","reason":"');
      w.ascii(reason);
      w.byte(34);
      aj.ajEnd(true);
    }
    const lw = nd.lw;
    lw.reset();
    lw.ascii("policy outcome=rejected file=");
    lw.ascii(file);
    lw.ascii(" reason=");
    lw.ascii(reason);
    nd.logLine();
    return -errno;
  }
}
