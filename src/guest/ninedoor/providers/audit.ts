/**
 * AuditFS and ReplayFS (Milestone 13, namespace reference §7), mounted when `ecosystem.audit.enable`
 * (and `replay_enable` for /replay):
 * - `/audit/journal` (read-only ring, JSON lines): every Control write, denial, policy decision and note.
 * - `/audit/decisions` (read-only ring): the policy decisions only.
 *   Both keep absolute offsets like `/log/queen.log`; at their byte bound the oldest whole records go and
 *   are counted (a read below the retained window is EINVAL, the stale-cursor rule of every ring).
 * - `/audit/export` (read-only): the journals' windows and counters, `key=value`.
 * - `/replay/ctl` (append-only) `{"from":<cursor>}`: re-applies the journaled control actions from
 *   cursor (absolute index) to the end onto a fresh state: a table of targets, each action applied in
 *   order, and an FNV-1a 64 hash over the sequence (target, LF, payload, LF, length as 8 LE bytes).
 *   A cursor past the end or below the retained window is EINVAL and changes nothing.
 * - `/replay/status` (read-only): the last run as one JSON object with `entries` and the hash (hex and
 *   two u32 halves).
 * The hash does not include times or sessions, so the same control writes give the same hash on
 * every run, hosted and under Porffor.
 */
import { allocF64, allocI32, allocU8 } from "../alloc.ts";
import { Fnv64 } from "../../lib/fnv64.ts";
import { EINVAL, EMSGSIZE, EROFS } from "../../../secure9p/errors.ts";
import { ajResult, type AuditJournal, REPLAY_PAYLOAD_MAX, REPLAY_TARGET_MAX } from "../audit_journal.ts";
import { JsonTokens, JsonType } from "../json.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered, trimmedLen } from "../provider.ts";
import type { RingSet } from "../ring.ts";
import { Access } from "../tree.ts";

const Kind = { Journal: 1, Decisions: 2, Export: 3, ReplayCtl: 4, ReplayStatus: 5 } as const;
/** Boot nodes: /audit + 3 files, /replay + 2 files. */
export const AUDIT_NODES = 7;

export class AuditFiles implements Provider {
  provId = -1;
  private afNd: NineDoor;
  private afLog: AuditJournal;
  private afTokens: JsonTokens = new JsonTokens(4);
  private afHash: Fnv64 = new Fnv64();
  /** The fresh state a replay applies actions to: distinct targets and how often each was applied. */
  private rsTarget: Uint8Array;
  private rsTargetLen: Int32Array;
  private rsApplied: Float64Array;
  private rsCount = 0;
  /** The last run (`/replay/status`). */
  private rrRuns = 0;
  private rrFrom = 0;
  private rrEntries = 0;
  private rrTargets = 0;
  private rrHashHi = 0;
  private rrHashLo = 0;
  private rrHex: Uint8Array = allocU8(16);
  private rrRefused = 0;

  constructor(nd: NineDoor, journal: AuditJournal) {
    this.afNd = nd;
    this.afLog = journal;
    const cap = this.afLog.rpCap;
    this.rsTarget = allocU8(cap * REPLAY_TARGET_MAX);
    this.rsTargetLen = allocI32(cap);
    this.rsApplied = allocF64(cap);
  }

  mountNodes(): void {
    const aj = this.afLog;
    if (!aj.ajOn) return;
    const t = this.afNd.tree;
    const id = this.provId;
    const dir = t.addDir(0, "audit", 0, 0);
    t.add(dir, "journal", id, Kind.Journal, Access.ReadOnly, 0, 0);
    t.add(dir, "decisions", id, Kind.Decisions, Access.ReadOnly, 0, 0);
    t.add(dir, "export", id, Kind.Export, Access.ReadOnly, 0, 0);
    if (!aj.ajReplayOn) return;
    const rdir = t.addDir(0, "replay", 0, 0);
    t.add(rdir, "ctl", id, Kind.ReplayCtl, Access.AppendOnly, 0, 0);
    t.add(rdir, "status", id, Kind.ReplayStatus, Access.ReadOnly, 0, 0);
  }

  nodeRead(
    kind: number,
    _arg: number,
    offset: number,
    dst: Uint8Array,
    dstOff: number,
    count: number,
  ): number {
    const aj = this.afLog;
    if (kind === Kind.Journal) return aj.ajJournal.read(0, offset, dst, dstOff, count);
    if (kind === Kind.Decisions) return aj.ajDecisions.read(0, offset, dst, dstOff, count);
    const w = this.afNd.scratch;
    w.reset();
    if (kind === Kind.Export) {
      this.afRing(aj.ajJournal, "journal", aj.ajJournalSeq);
      this.afRing(aj.ajDecisions, "decisions", aj.ajDecisionSeq);
      w.labelUint("replay entries_max=", aj.rpCap);
      w.labelUint(" recorded=", aj.rpTotal);
      w.labelUint(" window_start=", aj.rpFirst());
      w.labelUint(" window_end=", aj.rpTotal);
      w.labelUint(" dropped=", aj.rpFirst());
      w.labelUint("\nrefused=", aj.ajRefused);
      w.byte(10);
    } else if (kind === Kind.ReplayStatus) {
      w.ascii(this.rrRuns === 0 ? '{"state":"idle"' : '{"state":"done"');
      w.labelUint(',"runs":', this.rrRuns);
      w.labelUint(',"from":', this.rrFrom);
      w.labelUint(',"entries":', this.rrEntries);
      w.labelUint(',"targets":', this.rrTargets);
      w.ascii(',"hash":"');
      if (this.rrRuns > 0) w.bytes(this.rrHex, 0, 16);
      w.labelUint('","hash_hi":', this.rrHashHi);
      w.labelUint(',"hash_lo":', this.rrHashLo);
      w.labelUint(',"window_start":', aj.rpFirst());
      w.labelUint(',"window_end":', aj.rpTotal);
      w.labelUint(',"refused":', this.rrRefused);
      w.ascii("}\n");
      if (w.len > this.afNd.boot.ecosystem.audit.replayStatusMaxBytes) return -EMSGSIZE;
    } else return 0;
    return readRendered(w, offset, dst, dstOff, count);
  }

  /** One `export` line for a journal ring. */
  private afRing(r: RingSet, name: string, seq: number): void {
    const w = this.afNd.scratch;
    const kept = this.afLog.ajRetainedRecords(r);
    w.ascii(name);
    w.labelUint(" bytes_max=", r.cap);
    w.labelUint(" start=", r.start[0]);
    w.labelUint(" end=", r.end[0]);
    w.labelUint(" records=", seq);
    w.labelUint(" retained=", kept);
    w.labelUint(" dropped_records=", seq - kept);
    w.labelUint(" dropped_bytes=", r.dropped[0]);
    w.byte(10);
  }

  nodeWrite(s: number, kind: number, _arg: number, src: Uint8Array, srcOff: number, count: number): number {
    if (kind !== Kind.ReplayCtl) return -EROFS;
    const r = this.afReplay(s, src, srcOff, count);
    return r < 0 ? r : count;
  }

  nodeSize(kind: number, _arg: number): number {
    if (kind === Kind.Journal) return this.afLog.ajJournal.end[0];
    if (kind === Kind.Decisions) return this.afLog.ajDecisions.end[0];
    return 0;
  }

  nodeStart(kind: number, _arg: number): number {
    if (kind === Kind.Journal) return this.afLog.ajJournal.start[0];
    if (kind === Kind.Decisions) return this.afLog.ajDecisions.start[0];
    return 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {}

  /** `{"from":N}`: checks the cursor, then replays; a refusal changes nothing but the journal. */
  private afReplay(s: number, src: Uint8Array, off: number, count: number): number {
    const aj = this.afLog;
    if (count > this.afNd.boot.ecosystem.audit.replayCtlMaxBytes) {
      return this.afRefuse(s, -1, "oversized", EMSGSIZE);
    }
    const len = trimmedLen(src, off, count);
    const t = this.afTokens;
    if (t.parse(src, off, len) < 0 || t.type[0] !== JsonType.Object || t.size[0] !== 1 || !t.is(1, "from")) {
      return this.afRefuse(s, -1, "bad-json", EINVAL);
    }
    const from = t.uint(2);
    if (from < 0) return this.afRefuse(s, -1, "bad-cursor", EINVAL);
    if (from > aj.rpTotal) return this.afRefuse(s, from, "past-end", EINVAL);
    if (from < aj.rpFirst()) return this.afRefuse(s, from, "outside-window", EINVAL);
    this.afRun(from);
    const w = aj.ajBegin(s, "replay");
    w.labelUint(',"from":', from);
    w.labelUint(',"entries":', this.rrEntries);
    w.ascii(',"hash":"');
    w.bytes(this.rrHex, 0, 16);
    w.byte(34);
    ajResult(w, 0);
    aj.ajEnd(false);
    return 0;
  }

  /** Re-applies records [from, total) to a fresh state and hashes the sequence. */
  private afRun(from: number): void {
    const aj = this.afLog;
    const h = this.afHash;
    h.fnvReset();
    this.rsCount = 0;
    const rt = this.rsTarget;
    const rtl = this.rsTargetLen;
    const applied = this.rsApplied;
    const tgt = aj.rpTarget;
    const pay = aj.rpPayload;
    let entries = 0;
    for (let n = from; n < aj.rpTotal; n++) {
      const slot = n % aj.rpCap;
      const tb = slot * REPLAY_TARGET_MAX;
      const tl = aj.rpTargetLen[slot];
      const pl = aj.rpPayloadLen[slot];
      h.fnvBytes(tgt, tb, tl);
      h.fnvByte(10);
      h.fnvBytes(pay, slot * REPLAY_PAYLOAD_MAX, pl);
      h.fnvByte(10);
      h.fnvUint(aj.rpBytes[slot]);
      // Apply: find the target in the fresh state (or add it) and count the action.
      let at = -1;
      for (let q = 0; q < this.rsCount && at < 0; q++) {
        if (rtl[q] !== tl) continue;
        let same = true;
        for (let i = 0; i < tl && same; i++) same = rt[q * REPLAY_TARGET_MAX + i] === tgt[tb + i];
        if (same) at = q;
      }
      if (at < 0) {
        at = this.rsCount;
        for (let i = 0; i < tl; i++) rt[at * REPLAY_TARGET_MAX + i] = tgt[tb + i];
        rtl[at] = tl;
        applied[at] = 0;
        this.rsCount = at + 1;
      }
      applied[at] = applied[at] + 1;
      entries++;
    }
    this.rrRuns++;
    this.rrFrom = from;
    this.rrEntries = entries;
    this.rrTargets = this.rsCount;
    this.rrHashHi = h.fnvHi();
    this.rrHashLo = h.fnvLo();
    const hw = this.afNd.lw;
    hw.reset();
    h.fnvHex(hw);
    const hex = this.rrHex;
    const hb = hw.buf;
    for (let i = 0; i < 16; i++) hex[i] = hb[i];
    hw.reset();
  }

  private afRefuse(s: number, from: number, reason: string, errno: number): number {
    this.rrRefused++;
    const aj = this.afLog;
    const w = aj.ajBegin(s, "replay");
    if (from >= 0) w.labelUint(',"from":', from);
    w.ascii(',"reason":"');
    w.ascii(reason);
    w.byte(34);
    ajResult(w, -errno);
    aj.ajEnd(false);
    return -errno;
  }
}
