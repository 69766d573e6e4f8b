/**
 * `AuditJournal`: the records behind `/audit/{journal,decisions}` and the control actions `/replay`
 * re-applies. Both journals are byte rings of JSON lines with absolute offsets (ring.ts): at the byte
 * bound (`ecosystem.audit.journal_max_bytes`, `decisions_max_bytes`) whole oldest records are dropped and
 * counted, never grown. Control actions for replay sit in a fixed table of `replay_max_entries` records
 * (target path, first REPLAY_PAYLOAD_MAX bytes of the write, its length); the oldest is overwritten.
 *
 * One journal record per control write (allowed, denied or failed), role/scope denial, policy decision
 * and note, each with the injected time, session slot, role and ticket id. Records are composed in
 * `ajW` and appended whole; nothing is allocated per record.
 */
import { allocF64, allocI32, allocU8, sizedWriter } from "./alloc.ts";
import type { ByteWriter } from "../lib/bytes.ts";
import type { NineDoor } from "./ninedoor.ts";
import { safe } from "./provider.ts";
import { RingSet } from "./ring.ts";

/** Bytes of a replay record's target path and payload kept. */
export const REPLAY_TARGET_MAX = 128;
export const REPLAY_PAYLOAD_MAX = 256;

export class AuditJournal {
  /** `ecosystem.audit.enable`: when false every method here is a no-op. */
  ajOn: boolean;
  ajReplayOn: boolean;
  /** Ring 0 of each set: the journal and the decisions. */
  ajJournal: RingSet;
  ajDecisions: RingSet;
  /** Records ever appended (the `seq` of the next record) per ring. */
  ajJournalSeq = 0;
  ajDecisionSeq = 0;
  /** Records refused because one record was larger than its ring (a manifest far too small). */
  ajRefused = 0;
  /** Composes one record. */
  ajW: ByteWriter;
  /** Replay records: absolute index n lives in slot n % rpCap. */
  rpCap: number;
  rpTotal = 0;
  rpTarget: Uint8Array;
  rpTargetLen: Int32Array;
  rpPayload: Uint8Array;
  rpPayloadLen: Int32Array;
  /** Full length of the write (the payload kept may be its first REPLAY_PAYLOAD_MAX bytes). */
  rpBytes: Float64Array;
  private ajNd: NineDoor;

  constructor(nd: NineDoor) {
    this.ajNd = nd;
    const a = nd.boot.ecosystem.audit;
    this.ajOn = a.enable;
    this.ajReplayOn = a.enable && a.replayEnable;
    this.ajJournal = new RingSet(1, a.enable ? a.journalMaxBytes : 1);
    this.ajDecisions = new RingSet(1, a.enable ? a.decisionsMaxBytes : 1);
    this.ajW = sizedWriter(a.enable ? 1024 : 1);
    const cap = this.ajReplayOn ? a.replayMaxEntries : 1;
    this.rpCap = cap;
    this.rpTarget = allocU8(cap * REPLAY_TARGET_MAX);
    this.rpTargetLen = allocI32(cap);
    this.rpPayload = allocU8(cap * REPLAY_PAYLOAD_MAX);
    this.rpPayloadLen = allocI32(cap);
    this.rpBytes = allocF64(cap);
  }

  /** Starts a journal record: `{"seq":N,"ms":T,"kind":"<kind>","session":S,"role":"R","ticket":"I"`. */
  ajBegin(s: number, kind: string): ByteWriter {
    const w = this.ajW;
    w.reset();
    w.labelUint('{"seq":', this.ajJournalSeq);
    w.labelUint(',"ms":', this.ajNd.nowMs);
    w.ascii(',"kind":"');
    w.ascii(kind);
    w.byte(34);
    this.ajWho(w, s);
    return w;
  }

  /** `,"session":S,"role":"R","ticket":"I"` (session -1 and role/ticket "none" when there is none). */
  ajWho(w: ByteWriter, s: number): void {
    const nd = this.ajNd;
    const ss = nd.sessions;
    if (s < 0 || ss.live[s] === 0) {
      w.ascii(',"session":-1,"role":"none","ticket":"none"');
      return;
    }
    w.labelUint(',"session":', s);
    w.ascii(',"role":"');
    w.ascii(nd.roles.names[ss.role[s]]);
    w.ascii('","ticket":"');
    const t = ss.ticketId.get(s);
    if (t.length === 0) w.ascii("none");
    else safe(w, t);
    w.byte(34);
  }

  /** Closes the record in `ajW` and appends it to the journal (and to the decisions ring when asked). */
  ajEnd(decision: boolean): void {
    const w = this.ajW;
    w.byte(125);
    w.byte(10);
    if (w.overflow) {
      this.ajRefused++;
      return;
    }
    if (this.ajJournal.append(0, w.buf, 0, w.len) < 0) this.ajRefused++;
    this.ajJournalSeq++;
    if (!decision) return;
    if (this.ajDecisions.append(0, w.buf, 0, w.len) < 0) this.ajRefused++;
    this.ajDecisionSeq++;
  }

  /**
   * One control write to node `path` (bytes in `pw`): `kind` "write" with its byte count and result
   * (0 or -errno). A write that succeeded is also a replay record.
   */
  ajControlWrite(
    s: number,
    pw: ByteWriter,
    src: Uint8Array,
    srcOff: number,
    count: number,
    result: number,
  ): void {
    if (!this.ajOn) return;
    const w = this.ajBegin(s, "write");
    w.ascii(',"path":"');
    w.bytes(pw.buf, 0, pw.len);
    w.labelUint('","bytes":', count);
    ajResult(w, result);
    this.ajEnd(false);
    if (result >= 0 && this.ajReplayOn) this.rpRecord(pw, src, srcOff, count);
  }

  /** A role, scope or quota refusal NineDoor logged: `kind` "deny" with the op and reason. */
  ajDeny(s: number, op: string, pw: ByteWriter, reason: string): void {
    if (!this.ajOn) return;
    const w = this.ajBegin(s, "deny");
    w.ascii(',"op":"');
    w.ascii(op);
    w.ascii('","path":"');
    w.bytes(pw.buf, 0, pw.len);
    w.ascii('","reason":"');
    w.ascii(reason);
    w.byte(34);
    this.ajEnd(false);
  }

  /** A note (an event that is not a write): `{"kind":"note","what":"<token>"}`. */
  ajNote(s: number, what: string): void {
    if (!this.ajOn) return;
    const w = this.ajBegin(s, "note");
    w.ascii(',"what":"');
    safe(w, what);
    w.byte(34);
    this.ajEnd(false);
  }

  private rpRecord(pw: ByteWriter, src: Uint8Array, srcOff: number, count: number): void {
    const slot = this.rpTotal % this.rpCap;
    const tl = pw.len > REPLAY_TARGET_MAX ? REPLAY_TARGET_MAX : pw.len;
    const t = this.rpTarget;
    const tb = slot * REPLAY_TARGET_MAX;
    const pb = pw.buf;
    for (let i = 0; i < tl; i++) t[tb + i] = pb[i];
    const tlen = this.rpTargetLen;
    tlen[slot] = tl;
    const pl = count > REPLAY_PAYLOAD_MAX ? REPLAY_PAYLOAD_MAX : count;
    const p = this.rpPayload;
    const base = slot * REPLAY_PAYLOAD_MAX;
    for (let i = 0; i < pl; i++) p[base + i] = src[srcOff + i];
    const plen = this.rpPayloadLen;
    plen[slot] = pl;
    const bytes = this.rpBytes;
    bytes[slot] = count;
    this.rpTotal++;
  }

  /** Absolute index of the oldest replay record still held. */
  rpFirst(): number {
    return this.rpTotal > this.rpCap ? this.rpTotal - this.rpCap : 0;
  }

  /** Whole records (lines) retained in ring set `r` (counts newlines; export only, not per request). */
  ajRetainedRecords(r: RingSet): number {
    const cap = r.cap;
    const data = r.chunks[0];
    let n = 0;
    for (let off = r.start[0]; off < r.end[0]; off++) if (data[off % cap] === 10) n++;
    return n;
  }
}

/** `,"result":"ok"` or `,"result":"<errno name>"`. */
export function ajResult(w: ByteWriter, result: number): void {
  w.ascii(',"result":"');
  if (result >= 0) w.ascii("ok");
  else w.ascii(errnoName(-result));
  w.byte(34);
}

function errnoName(e: number): string {
  if (e === 1) return "EPERM";
  if (e === 2) return "ENOENT";
  if (e === 9) return "EBADF";
  if (e === 16) return "EBUSY";
  if (e === 17) return "EEXIST";
  if (e === 22) return "EINVAL";
  if (e === 30) return "EROFS";
  if (e === 90) return "EMSGSIZE";
  return "EIO";
}
