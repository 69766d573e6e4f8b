/**
 * `PolicyGate`: approval gates on control writes (Milestone 12). The rules (`[[ecosystem.policy.rules]]`,
 * reloadable through `/policy/ctl`) are absolute path globs (`*` = one whole component). A write to a
 * Control node whose path matches a rule needs a queued approval for exactly that path in
 * `/actions/queue`; the approval is consumed when the write succeeds and can never be used again.
 * Without one the write is EPERM, with one audit record, one decisions record and one queen-log line.
 *
 * NineDoor calls `pgWrite` before and `pgCommit` after every Control write; other code calls
 * `gateCheck` (the contract in /work/coord/i16-contract.md). With policy off nothing is gated.
 * Tables are allocated here, at boot; a gate decision allocates nothing.
 */
import { allocF64, allocI32, allocU8, sizedWriter } from "./alloc.ts";
import type { ByteWriter } from "../lib/bytes.ts";
import { EPERM } from "../../secure9p/errors.ts";
import type { AuditJournal } from "./audit_journal.ts";
import type { NineDoor } from "./ninedoor.ts";

export const MAX_POLICY_RULES = 16;
export const POLICY_ID_MAX = 32;
export const POLICY_TARGET_MAX = 128;
/** Walk depth bound of a target (Secure9P's). */
const TARGET_DEPTH_MAX = 8;

/** Approval slot states; the names are what `/actions/<id>/status` shows. */
export const ApState = { Free: 0, Queued: 1, Consumed: 2, Denied: 3 } as const;
export const AP_STATE_NAMES = ["free", "queued", "consumed", "denied"];
export const ApDecision = { Approve: 1, Deny: 2 } as const;

export class PolicyGate {
  /** `ecosystem.policy.enable`. */
  pgOn: boolean;
  /** The absolute path of the write being gated (NineDoor composes it; the audit record reuses it). */
  pgPath: ByteWriter;
  /** The target of an explicit `gateCheck` (kept apart: it runs inside a write NineDoor is gating). */
  pgCheckPath: ByteWriter;
  pgRuleCount = 0;
  pgRuleId: Uint8Array;
  pgRuleIdLen: Int32Array;
  pgRuleTarget: Uint8Array;
  pgRuleTargetLen: Int32Array;
  /** Writes each rule gated (allowed or denied) since it was loaded. */
  pgRuleHits: Float64Array;
  /** True once `/policy/ctl` changed the rules (a `reload` goes back to the manifest's). */
  pgRulesEdited = false;
  pgReloads = 0;
  apCap: number;
  apState: Uint8Array;
  apDecision: Uint8Array;
  apId: Uint8Array;
  apIdLen: Int32Array;
  apTarget: Uint8Array;
  apTargetLen: Int32Array;
  /** Queue order (older approvals are consumed first and evicted first). */
  apSeq: Float64Array;
  apQueuedMs: Float64Array;
  apConsumedMs: Float64Array;
  /** Node slot of `/actions/<id>` (-1 when free). */
  apDir: Int32Array;
  apNextSeq = 1;
  pgAllowed = 0;
  pgDenied = 0;
  pgConsumed = 0;
  private pgNd: NineDoor;
  private pgLog: AuditJournal;

  constructor(nd: NineDoor, journal: AuditJournal) {
    this.pgNd = nd;
    this.pgLog = journal;
    const p = nd.boot.ecosystem.policy;
    this.pgOn = p.enable;
    this.pgPath = sizedWriter(512);
    this.pgCheckPath = sizedWriter(POLICY_TARGET_MAX * 2);
    const rules = p.enable ? MAX_POLICY_RULES : 1;
    this.pgRuleId = allocU8(rules * POLICY_ID_MAX);
    this.pgRuleIdLen = allocI32(rules);
    this.pgRuleTarget = allocU8(rules * POLICY_TARGET_MAX);
    this.pgRuleTargetLen = allocI32(rules);
    this.pgRuleHits = allocF64(rules);
    const cap = p.enable ? p.queueMaxEntries : 1;
    this.apCap = cap;
    this.apState = allocU8(cap);
    this.apDecision = allocU8(cap);
    this.apId = allocU8(cap * POLICY_ID_MAX);
    this.apIdLen = allocI32(cap);
    this.apTarget = allocU8(cap * POLICY_TARGET_MAX);
    this.apTargetLen = allocI32(cap);
    this.apSeq = allocF64(cap);
    this.apQueuedMs = allocF64(cap);
    this.apConsumedMs = allocF64(cap);
    this.apDir = allocI32(cap);
    const dir = this.apDir;
    for (let k = 0; k < cap; k++) dir[k] = -1;
    if (p.enable) this.pgLoadManifestRules();
  }

  // ---- the contract ----------------------------------------------------------------------------

  /**
   * Gate for an action whose target is not the written node's path. 0 = allowed (policy off, no rule
   * matches, or a matching approval consumed now); -EPERM = denied. Audits the decision.
   */
  gateCheck(s: number, target: Uint8Array, off: number, len: number): number {
    if (!this.pgOn) return 0;
    const w = this.pgCheckPath;
    w.reset();
    w.bytes(target, off, len > POLICY_TARGET_MAX * 2 ? POLICY_TARGET_MAX * 2 : len);
    const token = this.pgDecide(s, w);
    if (token < 0) return token;
    this.pgCommit(s, token, 0, w);
    return 0;
  }

  /** Appends one `/audit/journal` note when audit is on (`what` a token [A-Za-z0-9._:-]). */
  auditNote(s: number, what: string): void {
    this.pgLog.ajNote(s, what);
  }

  // ---- NineDoor's hook ------------------------------------------------------------------------

  /**
   * Before a Control write to node `slot`: composes its path into `pgPath` and decides. Returns
   * -EPERM (denied, audited), 0 (not gated) or 1 + the approval slot to consume if the write succeeds.
   */
  pgWrite(s: number, slot: number): number {
    const w = this.pgPath;
    w.reset();
    this.pgNd.writePath(w, slot);
    if (!this.pgOn) return 0;
    return this.pgDecide(s, w);
  }

  /** After the write: consumes the approval `token` named when `result >= 0`. */
  pgCommit(s: number, token: number, result: number, path: ByteWriter): void {
    if (token <= 0 || result < 0) return;
    const k = token - 1;
    const st = this.apState;
    st[k] = ApState.Consumed;
    const cm = this.apConsumedMs;
    cm[k] = this.pgNd.nowMs;
    this.pgConsumed++;
    this.pgRecord(s, "consumed", k, -1, path);
  }

  /** Matches `pgPath` against the rules and the queued approvals. */
  private pgDecide(s: number, w: ByteWriter): number {
    const r = this.pgMatchRule(w.buf, 0, w.len);
    if (r < 0) return 0;
    const hits = this.pgRuleHits;
    hits[r] = hits[r] + 1;
    const k = this.pgFindApproval(w.buf, 0, w.len);
    if (k < 0) {
      this.pgDenied++;
      this.pgRecord(s, "deny", -1, r, w);
      return -EPERM;
    }
    this.pgAllowed++;
    return k + 1;
  }

  /** Index of the first rule whose target glob matches path src[off..off+len), or -1. */
  pgMatchRule(src: Uint8Array, off: number, len: number): number {
    const t = this.pgRuleTarget;
    for (let r = 0; r < this.pgRuleCount; r++) {
      if (pgGlob(t, r * POLICY_TARGET_MAX, this.pgRuleTargetLen[r], src, off, len)) return r;
    }
    return -1;
  }

  /** The oldest queued approval (decision approve) for exactly this target, or -1. */
  pgFindApproval(src: Uint8Array, off: number, len: number): number {
    let best = -1;
    const st = this.apState;
    const dec = this.apDecision;
    const tl = this.apTargetLen;
    const t = this.apTarget;
    for (let k = 0; k < this.apCap; k++) {
      if (st[k] !== ApState.Queued || dec[k] !== ApDecision.Approve || tl[k] !== len) continue;
      const base = k * POLICY_TARGET_MAX;
      let same = true;
      for (let i = 0; i < len && same; i++) same = t[base + i] === src[off + i];
      if (same && (best < 0 || this.apSeq[k] < this.apSeq[best])) best = k;
    }
    return best;
  }

  /** Index of the approval with id src[off..off+len) (any state but free), or -1. */
  pgApprovalById(src: Uint8Array, off: number, len: number): number {
    const st = this.apState;
    const il = this.apIdLen;
    const id = this.apId;
    for (let k = 0; k < this.apCap; k++) {
      if (st[k] === ApState.Free || il[k] !== len) continue;
      const base = k * POLICY_ID_MAX;
      let same = true;
      for (let i = 0; i < len && same; i++) same = id[base + i] === src[off + i];
      if (same) return k;
    }
    return -1;
  }

  /** Index of the rule with id src[off..off+len), or -1. */
  pgRuleById(src: Uint8Array, off: number, len: number): number {
    const id = this.pgRuleId;
    const il = this.pgRuleIdLen;
    for (let r = 0; r < this.pgRuleCount; r++) {
      if (il[r] !== len) continue;
      const base = r * POLICY_ID_MAX;
      let same = true;
      for (let i = 0; i < len && same; i++) same = id[base + i] === src[off + i];
      if (same) return r;
    }
    return -1;
  }

  /** Replaces the rules with the manifest's (boot, and `{"op":"reload"}`). */
  pgLoadManifestRules(): void {
    const rules = this.pgNd.boot.ecosystem.policy.rules;
    this.pgRuleCount = 0;
    const n = rules.length > MAX_POLICY_RULES ? MAX_POLICY_RULES : rules.length;
    const idb = this.pgRuleId;
    const tb = this.pgRuleTarget;
    const il = this.pgRuleIdLen;
    const tl = this.pgRuleTargetLen;
    const hits = this.pgRuleHits;
    for (let r = 0; r < n; r++) {
      const id = rules[r].id;
      const target = rules[r].target;
      const idLen = id.length > POLICY_ID_MAX ? POLICY_ID_MAX : id.length;
      const tLen = target.length > POLICY_TARGET_MAX ? POLICY_TARGET_MAX : target.length;
      for (let i = 0; i < idLen; i++) idb[r * POLICY_ID_MAX + i] = id.charCodeAt(i);
      for (let i = 0; i < tLen; i++) tb[r * POLICY_TARGET_MAX + i] = target.charCodeAt(i);
      il[r] = idLen;
      tl[r] = tLen;
      hits[r] = 0;
    }
    this.pgRuleCount = n;
    this.pgRulesEdited = false;
  }

  /** Adds a rule (bytes already validated). Returns the rule index, or -1 when the table is full. */
  pgAddRule(src: Uint8Array, idOff: number, idLen: number, tOff: number, tLen: number): number {
    const r = this.pgRuleCount;
    if (r >= MAX_POLICY_RULES || !this.pgOn) return -1;
    const idb = this.pgRuleId;
    const tb = this.pgRuleTarget;
    for (let i = 0; i < idLen; i++) idb[r * POLICY_ID_MAX + i] = src[idOff + i];
    for (let i = 0; i < tLen; i++) tb[r * POLICY_TARGET_MAX + i] = src[tOff + i];
    const il = this.pgRuleIdLen;
    const tl = this.pgRuleTargetLen;
    const hits = this.pgRuleHits;
    il[r] = idLen;
    tl[r] = tLen;
    hits[r] = 0;
    this.pgRuleCount = r + 1;
    this.pgRulesEdited = true;
    return r;
  }

  /** Removes rule `r`, keeping the order of the others. */
  pgRemoveRule(r: number): void {
    const n = this.pgRuleCount;
    const idb = this.pgRuleId;
    const tb = this.pgRuleTarget;
    const il = this.pgRuleIdLen;
    const tl = this.pgRuleTargetLen;
    const hits = this.pgRuleHits;
    for (let q = r; q + 1 < n; q++) {
      for (let i = 0; i < POLICY_ID_MAX; i++) idb[q * POLICY_ID_MAX + i] = idb[(q + 1) * POLICY_ID_MAX + i];
      for (let i = 0; i < POLICY_TARGET_MAX; i++) {
        tb[q * POLICY_TARGET_MAX + i] = tb[(q + 1) * POLICY_TARGET_MAX + i];
      }
      il[q] = il[q + 1];
      tl[q] = tl[q + 1];
      hits[q] = hits[q + 1];
    }
    this.pgRuleCount = n - 1;
    this.pgRulesEdited = true;
  }

  /**
   * One decisions record (journal + decisions ring) and one queen-log line:
   * `policy outcome=<what> path=<path>[ rule=<id>][ approval=<id>]` when `k`/`r` are >= 0.
   */
  pgRecord(s: number, what: string, k: number, r: number, path: ByteWriter): void {
    const nd = this.pgNd;
    const aj = this.pgLog;
    if (aj.ajOn) {
      const w = aj.ajBegin(s, "decision");
      w.ascii(',"decision":"');
      w.ascii(what);
      w.ascii('","target":"');
      if (k >= 0) w.bytes(this.apTarget, k * POLICY_TARGET_MAX, this.apTargetLen[k]);
      else w.bytes(path.buf, 0, path.len);
      w.byte(34);
      if (r >= 0) {
        w.ascii(',"rule":"');
        w.bytes(this.pgRuleId, r * POLICY_ID_MAX, this.pgRuleIdLen[r]);
        w.byte(34);
      }
      if (k >= 0) {
        w.ascii(',"id":"');
        w.bytes(this.apId, k * POLICY_ID_MAX, this.apIdLen[k]);
        w.byte(34);
      }
      aj.ajEnd(true);
    }
    const lw = nd.lw;
    lw.reset();
    lw.ascii("policy outcome=");
    lw.ascii(what);
    lw.ascii(" path=");
    if (k >= 0) lw.bytes(this.apTarget, k * POLICY_TARGET_MAX, this.apTargetLen[k]);
    else lw.bytes(path.buf, 0, path.len);
    if (r >= 0) {
      lw.ascii(" rule=");
      lw.bytes(this.pgRuleId, r * POLICY_ID_MAX, this.pgRuleIdLen[r]);
    }
    if (k >= 0) {
      lw.ascii(" approval=");
      lw.bytes(this.apId, k * POLICY_ID_MAX, this.apIdLen[k]);
    }
    nd.logLine();
  }
}

/** True when b is a byte of a token ([A-Za-z0-9._:-]). */
export function pgTokenByte(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 ||
    c === 95 || c === 58;
}

/**
 * Checks an absolute path (or, with `glob`, a rule target): `/`-separated components of token bytes,
 * none empty, `.` or `..`, at most TARGET_DEPTH_MAX of them, at most POLICY_TARGET_MAX bytes; with `glob` a
 * component may also be exactly `*`.
 */
export function pgValidTarget(src: Uint8Array, off: number, len: number, glob: boolean): boolean {
  if (len < 2 || len > POLICY_TARGET_MAX || src[off] !== 47) return false;
  let depth = 0;
  let start = off + 1;
  const end = off + len;
  for (let i = off + 1; i <= end; i++) {
    if (i < end && src[i] !== 47) {
      const c = src[i];
      if (!pgTokenByte(c) && !(glob && c === 42)) return false;
      continue;
    }
    const n = i - start;
    if (n === 0) return false;
    if (src[start] === 46 && (n === 1 || (n === 2 && src[start + 1] === 46))) return false;
    // `*` only as a whole component.
    for (let j = start; j < i; j++) if (src[j] === 42 && n !== 1) return false;
    depth++;
    start = i + 1;
  }
  return depth <= TARGET_DEPTH_MAX;
}

/** Glob match of pattern pat[pOff..pOff+pLen) (absolute, `*` = one component) against an absolute path. */
export function pgGlob(
  pat: Uint8Array,
  pOff: number,
  pLen: number,
  path: Uint8Array,
  off: number,
  len: number,
): boolean {
  let i = 0;
  let j = 0;
  while (i < pLen || j < len) {
    if (i >= pLen || j >= len) return false;
    if (pat[pOff + i] !== 47 || path[off + j] !== 47) return false;
    i++;
    j++;
    let pe = i;
    while (pe < pLen && pat[pOff + pe] !== 47) pe++;
    let qe = j;
    while (qe < len && path[off + qe] !== 47) qe++;
    if (qe === j) return false;
    if (!(pe - i === 1 && pat[pOff + i] === 42)) {
      if (pe - i !== qe - j) return false;
      for (let k = 0; k < pe - i; k++) if (pat[pOff + i + k] !== path[off + j + k]) return false;
    }
    i = pe;
    j = qe;
  }
  return true;
}
