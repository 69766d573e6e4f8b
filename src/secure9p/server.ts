/**
 * Secure9P server core: sans-IO 9P2000.L sessions over byte streams, serving a `Namespace`.
 *
 * Guest code (Porffor): every table is allocated in the constructor or when a session slot is
 * first used; serving a frame allocates nothing. Checks on fids, tags, names and open modes are
 * made here, before dispatch, so a namespace only sees sane requests (lib9p srv.c, gvisor
 * checkSafeName). Every refusal is one `Rlerror` carrying an errno from `errors.ts`.
 *
 * Flow control: a transport should feed at most `inputSpace(s)` bytes per `input` call and drain
 * `output`. A frame is served only while the output buffer has room for its largest reply, so an
 * unread client stops being served instead of growing memory; input that can neither be buffered
 * nor served ends the session (`closed(s)` becomes true). Frame buffers come from a pool and are
 * held only while bytes wait, so idle sessions cost only their fid, tag and retired-fid tables.
 */
import { newF64, newI32, newU8 } from "./alloc.ts";
import { EAGAIN, EBADF, EBUSY, EINVAL, EMSGSIZE, ENOENT, ENOTDIR, EOPNOTSUPP, EPROTO } from "./errors.ts";
import { DirEntry, type Namespace, NodeStat, O_ACCMODE, O_RDWR, O_WRONLY, QTDIR } from "./namespace.ts";
import {
  decode,
  DecodeError,
  Fcall,
  getU16,
  getU32,
  HEADER_SIZE,
  IO_HEADER,
  knownType,
  NOFID,
  putU16,
  putU32,
  Rattach,
  Rclunk,
  Rflush,
  Rfsync,
  Rgetattr,
  Rlcreate,
  Rlerror,
  Rlopen,
  Rmkdir,
  Rread,
  Rreaddir,
  Rremove,
  Rsetattr,
  Rstatfs,
  Runlinkat,
  Rversion,
  Rwalk,
  Rwrite,
  Tattach,
  Tauth,
  Tclunk,
  Tflush,
  Tfsync,
  Tgetattr,
  Tlcreate,
  Tlopen,
  Tmkdir,
  Tread,
  Treaddir,
  Tremove,
  Tsetattr,
  Tstatfs,
  Tunlinkat,
  Tversion,
  Twalk,
  Twrite,
} from "./codec.ts";
import { bytesEqualAscii, utf8Length, utf8ToString, writeUtf8 } from "./text.ts";

/** Tables are sized from these limits at construction (over explicit ArrayBuffers: alloc.ts). */
export interface ServerLimits {
  /** Largest msize granted (capped at 8192). */
  msize: number;
  /** Most names in one Twalk (capped at 8). */
  maxWalk: number;
  maxSessions: number;
  maxFidsPerSession: number;
  /** Requests that may wait in a session at once (parked reads); more get EBUSY. */
  maxTagsPerSession: number;
  /** Attaches one session may hold (default 4). */
  maxAttachesPerSession?: number;
  /**
   * Let clients use a clunked fid number again (default false: Secure9P retires it with EINVAL).
   * Standard clients that pool fid numbers need this: diodls -l, the Linux v9fs mount.
   */
  allowFidReuse?: boolean;
}

/** Hard caps of the red lines. */
export const MSIZE_CAP = 8192;
export const WALK_CAP = 8;
/** Smallest msize the server accepts: room for a header, an Rgetattr and a useful read. */
export const MSIZE_MIN = 256;
/** Clunked fid numbers below this are remembered exactly (one bit each) … */
export const RETIRED_EXACT = 32768;
/** … larger ones in a ring of this many recent entries per session. */
export const RETIRED_RING = 64;

/** Upper bound of every reply but Rread/Rreaddir (Rwalk of 16 qids is 217 bytes). */
const SMALL_REPLY = 256;
const V9FS_MAGIC = 0x01021997;
const GETATTR_BASIC = 0x7ff;
const SETATTR_SIZE = 8;
const DT_DIR = 4;
const DT_REG = 8;

/** Placeholders for slots not used yet (one shared instance: Porffor never frees arrays). */
const EMPTY = new Uint8Array(0);
const EMPTY_F64 = new Float64Array(0);

const S_FREE = 0;
const S_OPEN = 1;
const S_READY = 2;
const S_DEAD = 3;

const FID_FREE = 0;
const FID_WALKED = 1;
const FID_OPEN = 2;

export class NineServer {
  ns: Namespace;
  msizeCap: number;
  maxWalk: number;
  maxSessions: number;
  maxFids: number;
  maxTags: number;
  maxAttach: number;
  allowFidReuse: boolean;

  state: Uint8Array;
  msize: Float64Array;
  /** The session's borrowed frame buffers (EMPTY while the session is idle). */
  inBufs: Uint8Array[] = [];
  inLen: Int32Array;
  outBufs: Uint8Array[] = [];
  outStart: Int32Array;
  outEnd: Int32Array;
  /** Bytes of a refused oversized frame still to discard. */
  drain: Float64Array;
  attachNs: Int32Array;

  fidNum: Float64Array;
  fidState: Uint8Array;
  fidNode: Int32Array;
  fidNs: Int32Array;
  fidFlags: Float64Array;
  /**
   * Buffer pool: a session holds an input/output pair only while bytes wait in either, so idle
   * sessions cost no frame buffers. At most maxSessions pairs are ever made.
   */
  poolIn: Uint8Array[] = [];
  poolOut: Uint8Array[] = [];
  poolFree: Int32Array;
  poolFreeCount = 0;
  bufIdx: Int32Array;
  inCap: number;
  outCap: number;
  retiredBits: Uint8Array[] = [];
  retiredRing: Float64Array[] = [];
  retiredRingPos: Int32Array;

  /** Parked requests per session, in arrival order: tag, fid slot, offset lo/hi, count. */
  pkCount: Int32Array;
  pkTag: Int32Array;
  pkFid: Int32Array;
  pkOffLo: Float64Array;
  pkOffHi: Float64Array;
  pkCountReq: Float64Array;

  f: Fcall = new Fcall();
  st: NodeStat = new NodeStat();
  de: DirEntry = new DirEntry();
  /** The reply being written: buffer, frame start, write position. */
  wBuf: Uint8Array = new Uint8Array(0);
  wStart = 0;
  wPos = 0;

  constructor(ns: Namespace, limits: ServerLimits) {
    this.ns = ns;
    this.msizeCap = Math.min(limits.msize, MSIZE_CAP);
    if (this.msizeCap < MSIZE_MIN) this.msizeCap = MSIZE_MIN;
    this.maxWalk = Math.max(0, Math.min(limits.maxWalk, WALK_CAP));
    this.maxSessions = limits.maxSessions;
    this.maxFids = limits.maxFidsPerSession;
    this.maxTags = limits.maxTagsPerSession;
    this.maxAttach = limits.maxAttachesPerSession === undefined ? 4 : limits.maxAttachesPerSession;
    this.allowFidReuse = limits.allowFidReuse === true;
    const S = this.maxSessions;
    this.state = newU8(S);
    this.msize = newF64(S);
    this.inLen = newI32(S);
    this.outStart = newI32(S);
    this.outEnd = newI32(S);
    this.drain = newF64(S);
    this.attachNs = newI32(S * this.maxAttach);
    this.fidNum = newF64(S * this.maxFids);
    this.fidState = newU8(S * this.maxFids);
    this.fidNode = newI32(S * this.maxFids);
    this.fidNs = newI32(S * this.maxFids);
    this.fidFlags = newF64(S * this.maxFids);
    this.retiredRingPos = newI32(S);
    this.poolFree = newI32(S);
    this.bufIdx = newI32(S);
    // One whole frame plus the start of the next in; one reply (or a clunk's EBADF answers) out.
    this.inCap = this.msizeCap + 1024;
    this.outCap = this.msizeCap + 11 * (this.maxTags + 1) + 64;
    this.pkCount = newI32(S);
    this.pkTag = newI32(S * this.maxTags);
    this.pkFid = newI32(S * this.maxTags);
    this.pkOffLo = newF64(S * this.maxTags);
    this.pkOffHi = newF64(S * this.maxTags);
    this.pkCountReq = newF64(S * this.maxTags);
    for (let i = 0; i < S; i++) {
      this.inBufs.push(EMPTY);
      this.outBufs.push(EMPTY);
      this.retiredBits.push(EMPTY);
      this.retiredRing.push(EMPTY_F64);
      const bi = this.bufIdx;
      bi[i] = -1;
    }
  }

  // ---- session table -------------------------------------------------------------------------

  /** Opens a session; returns its id, or -1 when the table is full. */
  openSession(): number {
    const state = this.state;
    for (let s = 0; s < this.maxSessions; s++) {
      if (state[s] !== S_FREE) continue;
      state[s] = S_OPEN;
      if (this.retiredBits[s].length === 0) {
        // Allocated once per slot and reused by every later session in it.
        const bits = this.retiredBits;
        const ring = this.retiredRing;
        bits[s] = newU8(RETIRED_EXACT / 8);
        ring[s] = newF64(RETIRED_RING);
      } else {
        this.retiredBits[s].fill(0);
        this.retiredRing[s].fill(0);
      }
      const rp = this.retiredRingPos;
      rp[s] = 0;
      const msize = this.msize;
      msize[s] = this.msizeCap;
      const inLen = this.inLen;
      inLen[s] = 0;
      const oS = this.outStart;
      const oE = this.outEnd;
      oS[s] = 0;
      oE[s] = 0;
      const drain = this.drain;
      drain[s] = 0;
      const pk = this.pkCount;
      pk[s] = 0;
      const att = this.attachNs;
      for (let i = 0; i < this.maxAttach; i++) att[s * this.maxAttach + i] = -1;
      const fs = this.fidState;
      for (let i = 0; i < this.maxFids; i++) fs[s * this.maxFids + i] = FID_FREE;
      return s;
    }
    return -1;
  }

  /** Clunks every fid, detaches namespace sessions and frees the slot. */
  closeSession(s: number): void {
    if (!this.valid(s)) return;
    this.resetSession(s);
    const inLen = this.inLen;
    inLen[s] = 0;
    const oS = this.outStart;
    const oE = this.outEnd;
    oS[s] = 0;
    oE[s] = 0;
    this.release(s);
    const state = this.state;
    state[s] = S_FREE;
  }

  /** Gives session s a buffer pair from the pool (making one when none is free). */
  acquire(s: number): void {
    if (this.bufIdx[s] >= 0) return;
    let idx = 0;
    if (this.poolFreeCount > 0) {
      this.poolFreeCount = this.poolFreeCount - 1;
      idx = this.poolFree[this.poolFreeCount];
    } else {
      idx = this.poolIn.length;
      this.poolIn.push(newU8(this.inCap));
      this.poolOut.push(newU8(this.outCap));
    }
    const bi = this.bufIdx;
    bi[s] = idx;
    const inBufs = this.inBufs;
    const outBufs = this.outBufs;
    inBufs[s] = this.poolIn[idx];
    outBufs[s] = this.poolOut[idx];
  }

  /** Returns session s's buffer pair to the pool when nothing waits in it. */
  release(s: number): void {
    const idx = this.bufIdx[s];
    if (idx < 0 || this.inLen[s] > 0 || this.outEnd[s] > this.outStart[s]) return;
    const pf = this.poolFree;
    pf[this.poolFreeCount] = idx;
    this.poolFreeCount = this.poolFreeCount + 1;
    const bi = this.bufIdx;
    bi[s] = -1;
    const inBufs = this.inBufs;
    const outBufs = this.outBufs;
    inBufs[s] = EMPTY;
    outBufs[s] = EMPTY;
  }

  /** True when the server ended the session (framing it cannot recover from, input overflow). */
  closed(s: number): boolean {
    if (s < 0 || s >= this.maxSessions) return true;
    const st = this.state[s];
    return st === S_DEAD || st === S_FREE;
  }

  /** Free bytes in the session's input buffer: feed at most this many per `input` call. */
  inputSpace(s: number): number {
    if (!this.valid(s) || this.state[s] === S_DEAD) return 0;
    return this.inCap - this.inLen[s];
  }

  pendingOutput(s: number): number {
    if (!this.valid(s)) return 0;
    return this.outEnd[s] - this.outStart[s];
  }

  /** Feeds bytes; every complete frame is served while there is room for its reply. */
  input(s: number, src: Uint8Array, off: number, len: number): void {
    if (!this.valid(s) || this.state[s] === S_DEAD) return;
    this.acquire(s);
    let o = off;
    let n = len;
    const drain = this.drain;
    const buf = this.inBufs[s];
    const inLen = this.inLen;
    // Copy what fits, serve, repeat: a transport may hand over more than inputSpace() as long
    // as the frames in it can be served (their replies fit the output buffer).
    while (n > 0 && this.state[s] !== S_DEAD) {
      if (drain[s] > 0) {
        const skip = Math.min(drain[s], n);
        drain[s] = drain[s] - skip;
        o += skip;
        n -= skip;
        continue;
      }
      const have = inLen[s];
      const take = Math.min(n, buf.length - have);
      if (take === 0) {
        this.kill(s); // input full of frames whose replies cannot be queued: flow control ignored
        return;
      }
      this.copy(buf, have, src, o, take);
      inLen[s] = have + take;
      o += take;
      n -= take;
      this.pump(s);
    }
    this.release(s);
  }

  /** Drains up to `max` reply bytes into dst[dstOff..]; returns the count. */
  output(s: number, dst: Uint8Array, dstOff: number, max: number): number {
    if (!this.valid(s) || this.bufIdx[s] < 0) return 0;
    const oS = this.outStart;
    const oE = this.outEnd;
    const start = oS[s];
    const n = Math.min(max, oE[s] - start);
    const buf = this.outBufs[s];
    this.copy(dst, dstOff, buf, start, n);
    if (start + n === oE[s]) {
      oS[s] = 0;
      oE[s] = 0;
    } else oS[s] = start + n;
    // Room for replies may let buffered frames and parked reads proceed.
    if (this.state[s] === S_OPEN || this.state[s] === S_READY) this.pump(s);
    this.release(s);
    return n;
  }

  /** Retries parked requests (namespace reads that answered -EAGAIN), oldest first. */
  poll(): void {
    for (let s = 0; s < this.maxSessions; s++) {
      if (this.state[s] === S_READY && this.pkCount[s] > 0) {
        this.acquire(s);
        this.retryParked(s);
        this.release(s);
      }
    }
  }

  /** Number of requests parked in a session (for /proc-style counters and tests). */
  parked(s: number): number {
    return this.valid(s) ? this.pkCount[s] : 0;
  }

  /**
   * Copies transport bytes. A plain loop here (a `subarray` view per call would leak under
   * Porffor); the host transport overrides it with a native copy (host/fast_server.ts).
   */
  copy(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
    for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
  }

  valid(s: number): boolean {
    return s >= 0 && s < this.maxSessions && this.state[s] !== S_FREE;
  }

  kill(s: number): void {
    const state = this.state;
    state[s] = S_DEAD;
    const inLen = this.inLen;
    inLen[s] = 0;
  }

  resetSession(s: number): void {
    const pk = this.pkCount;
    pk[s] = 0;
    const base = s * this.maxFids;
    const fs = this.fidState;
    for (let i = 0; i < this.maxFids; i++) {
      if (fs[base + i] !== FID_FREE) {
        this.ns.clunk(this.fidNs[base + i], this.fidNode[base + i]);
        fs[base + i] = FID_FREE;
      }
    }
    const att = this.attachNs;
    for (let i = 0; i < this.maxAttach; i++) {
      const a = att[s * this.maxAttach + i];
      if (a >= 0) {
        this.ns.detach(a);
        att[s * this.maxAttach + i] = -1;
      }
    }
  }

  // ---- framing -------------------------------------------------------------------------------

  pump(s: number): void {
    const buf = this.inBufs[s];
    const inLen = this.inLen;
    let pos = 0;
    let len = inLen[s];
    const drain = this.drain;
    if (this.pkCount[s] > 0 && this.state[s] === S_READY) this.retryParked(s);
    while (this.state[s] !== S_DEAD) {
      const avail = len - pos;
      if (avail < 4) break;
      const size = getU32(buf, pos);
      if (size < HEADER_SIZE) {
        // No tag to answer and no way to find the next frame: the stream is lost.
        this.kill(s);
        return;
      }
      if (avail < HEADER_SIZE) break;
      if (size > this.msize[s]) {
        if (this.outRoom(s) < IO_HEADER) break;
        this.replyError(s, getU16(buf, pos + 5), EMSGSIZE);
        const take = Math.min(size, avail);
        drain[s] = size - take;
        pos += take;
        continue;
      }
      if (avail < size) break;
      if (this.outRoom(s) < this.replyRoom(s, buf, pos, size)) break;
      this.serve(s, buf, pos, size);
      pos += size;
    }
    if (this.state[s] === S_DEAD) return;
    if (pos > 0) {
      buf.copyWithin(0, pos, len);
      len -= pos;
      inLen[s] = len;
    }
  }

  /**
   * The most output one frame can produce: a read or readdir its count (capped by msize), a
   * clunk or remove an EBADF for every parked read, anything else one small reply.
   */
  replyRoom(s: number, buf: Uint8Array, pos: number, size: number): number {
    const type = buf[pos + 4];
    if ((type === Tread || type === Treaddir) && size >= 23) {
      return IO_HEADER + Math.min(getU32(buf, pos + 19), this.msize[s] - IO_HEADER);
    }
    if (type === Tclunk || type === Tremove) return IO_HEADER * (this.pkCount[s] + 1);
    return SMALL_REPLY;
  }

  /** Free bytes at the end of the output buffer, compacting it first when that helps. */
  outRoom(s: number): number {
    const buf = this.outBufs[s];
    const oS = this.outStart;
    const oE = this.outEnd;
    const start = oS[s];
    if (start > 0) {
      buf.copyWithin(0, start, oE[s]);
      oE[s] = oE[s] - start;
      oS[s] = 0;
    }
    return buf.length - oE[s];
  }

  // ---- reply writing -------------------------------------------------------------------------

  begin(s: number, type: number, tag: number): void {
    const buf = this.outBufs[s];
    const start = this.outEnd[s];
    buf[start + 4] = type;
    putU16(buf, start + 5, tag);
    this.wBuf = buf;
    this.wStart = start;
    this.wPos = start + HEADER_SIZE;
  }

  finish(s: number): void {
    putU32(this.wBuf, this.wStart, this.wPos - this.wStart);
    const oE = this.outEnd;
    oE[s] = this.wPos;
  }

  u8(v: number): void {
    const buf = this.wBuf;
    buf[this.wPos] = v;
    this.wPos += 1;
  }

  u16(v: number): void {
    putU16(this.wBuf, this.wPos, v);
    this.wPos += 2;
  }

  u32(v: number): void {
    putU32(this.wBuf, this.wPos, v);
    this.wPos += 4;
  }

  u64(lo: number, hi: number): void {
    putU32(this.wBuf, this.wPos, lo);
    putU32(this.wBuf, this.wPos + 4, hi);
    this.wPos += 8;
  }

  qid(st: NodeStat): void {
    this.u8(st.qidType);
    this.u32(st.qidVersion);
    this.u64(st.qidPathLo, st.qidPathHi);
  }

  replyError(s: number, tag: number, errno: number): void {
    this.begin(s, Rlerror, tag);
    this.u32(errno);
    this.finish(s);
  }

  replyEmpty(s: number, type: number, tag: number): void {
    this.begin(s, type, tag);
    this.finish(s);
  }

  // ---- fid table -----------------------------------------------------------------------------

  /** Slot of an active fid, or -1. */
  findFid(s: number, fid: number): number {
    const base = s * this.maxFids;
    const fs = this.fidState;
    const fn = this.fidNum;
    for (let i = 0; i < this.maxFids; i++) {
      if (fs[base + i] !== FID_FREE && fn[base + i] === fid) return base + i;
    }
    return -1;
  }

  retired(s: number, fid: number): boolean {
    if (this.allowFidReuse) return false;
    if (fid < RETIRED_EXACT) {
      const bits = this.retiredBits[s];
      return Math.floor(bits[Math.floor(fid / 8)] / Math.pow(2, fid % 8)) % 2 === 1;
    }
    const ring = this.retiredRing[s];
    for (let i = 0; i < RETIRED_RING; i++) if (ring[i] === fid + 1) return true;
    return false;
  }

  retire(s: number, slot: number): void {
    const fid = this.fidNum[slot];
    if (fid < RETIRED_EXACT) {
      const bits = this.retiredBits[s];
      const i = Math.floor(fid / 8);
      const bit = Math.pow(2, fid % 8);
      if (Math.floor(bits[i] / bit) % 2 === 0) bits[i] = bits[i] + bit;
    } else {
      const ring = this.retiredRing[s];
      const rp = this.retiredRingPos;
      ring[rp[s]] = fid + 1; // +1 so the zero fill means "empty"
      rp[s] = (rp[s] + 1) % RETIRED_RING;
    }
    const fs = this.fidState;
    fs[slot] = FID_FREE;
  }

  /** A free slot for a new fid number: slot >= 0, or -errno (EBUSY in use/table full, EINVAL retired). */
  newFidSlot(s: number, fid: number): number {
    if (fid === NOFID) return -EINVAL;
    if (this.findFid(s, fid) >= 0) return -EBUSY;
    if (this.retired(s, fid)) return -EINVAL;
    const base = s * this.maxFids;
    const fs = this.fidState;
    for (let i = 0; i < this.maxFids; i++) if (fs[base + i] === FID_FREE) return base + i;
    return -EBUSY;
  }

  setFid(slot: number, fid: number, state: number, nsSession: number, node: number, flags: number): void {
    const fn = this.fidNum;
    const fs = this.fidState;
    const fnode = this.fidNode;
    const fns = this.fidNs;
    const ff = this.fidFlags;
    fn[slot] = fid;
    fs[slot] = state;
    fnode[slot] = node;
    fns[slot] = nsSession;
    ff[slot] = flags;
  }

  /** A safe walk/create name: not "", ".", "..", and no "/" or NUL. */
  safeName(buf: Uint8Array, off: number, len: number): boolean {
    if (len === 0) return false;
    if (len === 1 && buf[off] === 46) return false;
    if (len === 2 && buf[off] === 46 && buf[off + 1] === 46) return false;
    for (let i = 0; i < len; i++) {
      const b = buf[off + i];
      if (b === 47 || b === 0) return false;
    }
    return true;
  }

  // ---- dispatch ------------------------------------------------------------------------------

  serve(s: number, buf: Uint8Array, off: number, size: number): void {
    const f = this.f;
    const type = buf[off + 4];
    const tag = getU16(buf, off + 5);
    const r = decode(buf, off, size, f);
    if (r < 0) {
      const unknown = r === DecodeError.UnknownType || !knownType(type) || type % 2 === 1;
      this.replyError(s, tag, unknown ? EOPNOTSUPP : EPROTO);
      return;
    }
    if (type % 2 === 1) { // an R-message sent to a server
      this.replyError(s, tag, EOPNOTSUPP);
      return;
    }
    if (type === Tversion) {
      this.version(s, f);
      return;
    }
    if (this.state[s] !== S_READY) {
      this.replyError(s, tag, EINVAL);
      return;
    }
    if (this.tagParked(s, tag) >= 0) {
      this.replyError(s, tag, EINVAL);
      return;
    }
    if (type === Tattach) this.attach(s, f);
    else if (type === Twalk) this.walk(s, f);
    else if (type === Tlopen) this.lopen(s, f);
    else if (type === Tread) this.read(s, f);
    else if (type === Twrite) this.write(s, f);
    else if (type === Tclunk) this.clunk(s, f);
    else if (type === Tgetattr) this.getattr(s, f);
    else if (type === Treaddir) this.readdir(s, f);
    else if (type === Tstatfs) this.statfs(s, f);
    else if (type === Tflush) this.flush(s, f);
    else if (type === Tlcreate) this.lcreate(s, f);
    else if (type === Tmkdir) this.mkdir(s, f);
    else if (type === Tremove) this.remove(s, f);
    else if (type === Tunlinkat) this.unlinkat(s, f);
    else if (type === Tsetattr) this.setattr(s, f);
    else if (type === Tfsync) this.fsync(s, f);
    // No auth files: tickets travel in aname. ENOENT is what diod answers without auth, and
    // what diod's clients take as "proceed to attach".
    else if (type === Tauth) this.replyError(s, tag, ENOENT);
    else this.replyError(s, tag, EOPNOTSUPP);
  }

  version(s: number, f: Fcall): void {
    const n = f.n;
    const req = n[0];
    // A new Tversion aborts everything the session held (9P semantics).
    this.resetSession(s);
    const state = this.state;
    if (req < MSIZE_MIN) {
      state[s] = S_OPEN;
      this.replyError(s, f.tag, EINVAL);
      return;
    }
    const ok = bytesEqualAscii(f.sBuf, f.sOff[0], f.sLen[0], "9P2000.L");
    const granted = Math.min(req, this.msizeCap);
    const msize = this.msize;
    msize[s] = granted;
    state[s] = ok ? S_READY : S_OPEN;
    this.begin(s, Rversion, f.tag);
    this.u32(granted);
    if (ok) {
      this.u16(8);
      this.wPos += writeUtf8(this.wBuf, this.wPos, "9P2000.L");
    } else {
      this.u16(7);
      this.wPos += writeUtf8(this.wBuf, this.wPos, "unknown");
    }
    this.finish(s);
  }

  attach(s: number, f: Fcall): void {
    const n = f.n;
    const fid = n[0];
    const afid = n[1];
    const tag = f.tag;
    if (afid !== NOFID) {
      this.replyError(s, tag, EBADF);
      return;
    }
    const slot = this.newFidSlot(s, fid);
    if (slot < 0) {
      this.replyError(s, tag, -slot);
      return;
    }
    const att = this.attachNs;
    let aslot = -1;
    for (let i = 0; i < this.maxAttach; i++) {
      if (att[s * this.maxAttach + i] < 0) {
        aslot = s * this.maxAttach + i;
        break;
      }
    }
    if (aslot < 0) {
      this.replyError(s, tag, EBUSY);
      return;
    }
    // Strings are made once per attach (bounded by the attach table), never per frame.
    const role = utf8ToString(f.sBuf, f.sOff[0], f.sLen[0]);
    const ticket = utf8ToString(f.sBuf, f.sOff[1], f.sLen[1]);
    const nsS = this.ns.attach(role, ticket);
    if (nsS < 0) {
      this.replyError(s, tag, -nsS);
      return;
    }
    const root = this.ns.root(nsS);
    const st = this.st;
    const r = root < 0 ? root : this.ns.stat(nsS, root, st);
    if (r < 0) {
      if (root >= 0) this.ns.clunk(nsS, root);
      this.ns.detach(nsS);
      this.replyError(s, tag, -r);
      return;
    }
    att[aslot] = nsS;
    this.setFid(slot, fid, FID_WALKED, nsS, root, 0);
    this.begin(s, Rattach, tag);
    this.qid(st);
    this.finish(s);
  }

  /** Slot of an active fid for an operation, or -errno (EBADF: unknown or clunked). */
  useFid(s: number, fid: number): number {
    const slot = this.findFid(s, fid);
    return slot < 0 ? -EBADF : slot;
  }

  /** Slot of an active fid, or (after replying EBADF for an unknown or clunked fid) a negative number. */
  fidOrReply(s: number, tag: number, fid: number): number {
    const slot = this.useFid(s, fid);
    if (slot < 0) this.replyError(s, tag, -slot);
    return slot;
  }

  /** Whether the request's first name is safe; replies EINVAL when it is not. */
  nameOrReply(s: number, tag: number, f: Fcall): boolean {
    if (this.safeName(f.sBuf, f.sOff[0], f.sLen[0])) return true;
    this.replyError(s, tag, EINVAL);
    return false;
  }

  walk(s: number, f: Fcall): void {
    const n = f.n;
    const tag = f.tag;
    const nw = n[2];
    const slot = this.fidOrReply(s, tag, n[0]);
    if (slot < 0) return;
    // Walking from an open fid into a new fid is allowed (diodls -l and Linux do it); moving an
    // open fid itself is not.
    if (this.fidState[slot] === FID_OPEN && n[1] === n[0]) {
      this.replyError(s, tag, EBUSY);
      return;
    }
    if (nw > this.maxWalk) {
      this.replyError(s, tag, EINVAL);
      return;
    }
    const sBuf = f.sBuf;
    const sOff = f.sOff;
    const sLen = f.sLen;
    for (let i = 0; i < nw; i++) {
      if (!this.safeName(sBuf, sOff[i], sLen[i])) {
        this.replyError(s, tag, EINVAL);
        return;
      }
    }
    const newfid = n[1];
    let nslot = slot;
    if (newfid !== n[0]) {
      nslot = this.newFidSlot(s, newfid);
      if (nslot < 0) {
        this.replyError(s, tag, -nslot);
        return;
      }
    }
    const ns = this.ns;
    const nsS = this.fidNs[slot];
    const start = this.fidNode[slot];
    const st = this.st;
    let node = start;
    let done = 0;
    let err = 0;
    this.begin(s, Rwalk, tag);
    this.u16(nw);
    for (let i = 0; i < nw; i++) {
      const child = ns.walk(nsS, node, sBuf, sOff[i], sLen[i]);
      if (child < 0) {
        err = -child;
        break;
      }
      const r = ns.stat(nsS, child, st);
      if (node !== start) ns.clunk(nsS, node);
      node = child;
      if (r < 0) {
        err = -r;
        break;
      }
      this.qid(st);
      done++;
    }
    if (done === 0 && nw > 0) {
      if (node !== start) ns.clunk(nsS, node);
      this.replyError(s, tag, err);
      return;
    }
    if (done < nw) {
      // Partial walk: report the qids walked; newfid is not made.
      putU16(this.wBuf, this.wStart + HEADER_SIZE, done);
      this.finish(s);
      if (node !== start) ns.clunk(nsS, node);
      return;
    }
    this.finish(s);
    if (nslot === slot) {
      if (nw > 0) {
        ns.clunk(nsS, start);
        const fnode = this.fidNode;
        fnode[slot] = node;
      }
    } else {
      if (nw === 0 && ns.dup !== undefined) {
        node = ns.dup(nsS, start);
        if (node < 0) {
          // The Rwalk is already queued; take it back and refuse instead.
          const oE = this.outEnd;
          oE[s] = this.wStart;
          this.replyError(s, tag, -node);
          return;
        }
      }
      this.setFid(nslot, newfid, FID_WALKED, nsS, node, 0);
    }
  }

  lopen(s: number, f: Fcall): void {
    const n = f.n;
    const tag = f.tag;
    const slot = this.fidOrReply(s, tag, n[0]);
    if (slot < 0) return;
    if (this.fidState[slot] === FID_OPEN) {
      this.replyError(s, tag, EBUSY);
      return;
    }
    const flags = n[1];
    const nsS = this.fidNs[slot];
    const node = this.fidNode[slot];
    const st = this.st;
    let r = this.ns.stat(nsS, node, st);
    if (r >= 0) r = this.ns.open(nsS, node, flags);
    if (r < 0) {
      this.replyError(s, tag, -r);
      return;
    }
    const fs = this.fidState;
    fs[slot] = FID_OPEN;
    const ff = this.fidFlags;
    ff[slot] = flags;
    this.begin(s, Rlopen, tag);
    this.qid(st);
    this.u32(this.msize[s] - IO_HEADER);
    this.finish(s);
  }

  lcreate(s: number, f: Fcall): void {
    const n = f.n;
    const tag = f.tag;
    const slot = this.fidOrReply(s, tag, n[0]);
    if (slot < 0) return;
    if (this.fidState[slot] === FID_OPEN) {
      this.replyError(s, tag, EBUSY);
      return;
    }
    if (!this.nameOrReply(s, tag, f)) return;
    const ns = this.ns;
    if (ns.create === undefined) {
      this.replyError(s, tag, EOPNOTSUPP);
      return;
    }
    const nsS = this.fidNs[slot];
    const dir = this.fidNode[slot];
    const flags = n[1];
    const node = ns.create(nsS, dir, f.sBuf, f.sOff[0], f.sLen[0], flags, n[2]);
    if (node < 0) {
      this.replyError(s, tag, -node);
      return;
    }
    const st = this.st;
    const r = ns.stat(nsS, node, st);
    if (r < 0) {
      ns.clunk(nsS, node);
      this.replyError(s, tag, -r);
      return;
    }
    ns.clunk(nsS, dir);
    this.setFid(slot, this.fidNum[slot], FID_OPEN, nsS, node, flags);
    this.begin(s, Rlcreate, tag);
    this.qid(st);
    this.u32(this.msize[s] - IO_HEADER);
    this.finish(s);
  }

  /** Slot of an opened fid allowing `write` (or read), or -errno. */
  ioFid(s: number, fid: number, write: boolean): number {
    const slot = this.useFid(s, fid);
    if (slot < 0) return slot;
    if (this.fidState[slot] !== FID_OPEN) return -EBADF;
    const acc = this.fidFlags[slot] % 4; // O_ACCMODE bits, by arithmetic
    if (acc === O_ACCMODE) return -EBADF;
    if (write && acc !== O_WRONLY && acc !== O_RDWR) return -EBADF;
    if (!write && acc === O_WRONLY) return -EBADF;
    return slot;
  }

  read(s: number, f: Fcall): void {
    const n = f.n;
    const tag = f.tag;
    const slot = this.ioFid(s, n[0], false);
    if (slot < 0) {
      this.replyError(s, tag, -slot);
      return;
    }
    const count = Math.min(n[3], this.msize[s] - IO_HEADER);
    const r = this.doRead(s, tag, slot, n[1], n[2], count);
    if (r === -EAGAIN) this.park(s, tag, slot, n[1], n[2], count);
  }

  /** Reads straight into the reply; returns -EAGAIN (nothing written) so the caller can park. */
  doRead(s: number, tag: number, slot: number, offLo: number, offHi: number, count: number): number {
    this.begin(s, Rread, tag);
    const dataAt = this.wPos + 4;
    const r = this.ns.read(this.fidNs[slot], this.fidNode[slot], offLo, offHi, this.wBuf, dataAt, count);
    if (r === -EAGAIN) return r;
    if (r < 0) {
      this.replyError(s, tag, -r);
      return r;
    }
    const got = Math.min(r, count);
    this.u32(got);
    this.wPos += got;
    this.finish(s);
    return got;
  }

  park(s: number, tag: number, slot: number, offLo: number, offHi: number, count: number): void {
    const c = this.pkCount[s];
    if (c >= this.maxTags) {
      this.replyError(s, tag, EBUSY);
      return;
    }
    const i = s * this.maxTags + c;
    const pt = this.pkTag;
    const pf = this.pkFid;
    const pl = this.pkOffLo;
    const ph = this.pkOffHi;
    const pc = this.pkCountReq;
    pt[i] = tag;
    pf[i] = slot;
    pl[i] = offLo;
    ph[i] = offHi;
    pc[i] = count;
    const pk = this.pkCount;
    pk[s] = c + 1;
  }

  tagParked(s: number, tag: number): number {
    const base = s * this.maxTags;
    const pt = this.pkTag;
    for (let i = 0; i < this.pkCount[s]; i++) if (pt[base + i] === tag) return i;
    return -1;
  }

  /** Drops parked entry i of session s, keeping arrival order. */
  unpark(s: number, i: number): void {
    const base = s * this.maxTags;
    const c = this.pkCount[s];
    const pt = this.pkTag;
    const pf = this.pkFid;
    const pl = this.pkOffLo;
    const ph = this.pkOffHi;
    const pc = this.pkCountReq;
    for (let j = i; j + 1 < c; j++) {
      pt[base + j] = pt[base + j + 1];
      pf[base + j] = pf[base + j + 1];
      pl[base + j] = pl[base + j + 1];
      ph[base + j] = ph[base + j + 1];
      pc[base + j] = pc[base + j + 1];
    }
    const pk = this.pkCount;
    pk[s] = c - 1;
  }

  retryParked(s: number): void {
    const base = s * this.maxTags;
    let i = 0;
    while (i < this.pkCount[s]) {
      if (this.outRoom(s) < IO_HEADER + this.pkCountReq[base + i]) return;
      const k = base + i;
      const r = this.doRead(
        s,
        this.pkTag[k],
        this.pkFid[k],
        this.pkOffLo[k],
        this.pkOffHi[k],
        this.pkCountReq[k],
      );
      if (r === -EAGAIN) i++;
      else this.unpark(s, i);
    }
  }

  write(s: number, f: Fcall): void {
    const n = f.n;
    const tag = f.tag;
    const slot = this.ioFid(s, n[0], true);
    if (slot < 0) {
      this.replyError(s, tag, -slot);
      return;
    }
    const r = this.ns.write(
      this.fidNs[slot],
      this.fidNode[slot],
      n[1],
      n[2],
      f.dataBuf,
      f.dataOff,
      f.dataLen,
    );
    if (r < 0) {
      this.replyError(s, tag, -r);
      return;
    }
    this.begin(s, Rwrite, tag);
    this.u32(Math.min(r, f.dataLen));
    this.finish(s);
  }

  clunk(s: number, f: Fcall): void {
    const tag = f.tag;
    const slot = this.fidOrReply(s, tag, f.n[0]);
    if (slot < 0) return;
    this.releaseFid(s, slot);
    this.replyEmpty(s, Rclunk, tag);
  }

  /** Answers parked reads on the fid with EBADF, releases its node and retires the number. */
  releaseFid(s: number, slot: number): void {
    const base = s * this.maxTags;
    let i = 0;
    while (i < this.pkCount[s]) {
      if (this.pkFid[base + i] === slot) {
        this.replyError(s, this.pkTag[base + i], EBADF);
        this.unpark(s, i);
      } else i++;
    }
    this.ns.clunk(this.fidNs[slot], this.fidNode[slot]);
    this.retire(s, slot);
  }

  remove(s: number, f: Fcall): void {
    const tag = f.tag;
    const slot = this.fidOrReply(s, tag, f.n[0]);
    if (slot < 0) return;
    const ns = this.ns;
    const r = ns.remove === undefined ? -EOPNOTSUPP : ns.remove(this.fidNs[slot], this.fidNode[slot]);
    // Tremove clunks the fid whether or not the remove worked.
    this.releaseFid(s, slot);
    if (r < 0) this.replyError(s, tag, -r);
    else this.replyEmpty(s, Rremove, tag);
  }

  unlinkat(s: number, f: Fcall): void {
    const tag = f.tag;
    const slot = this.fidOrReply(s, tag, f.n[0]);
    if (slot < 0) return;
    if (!this.nameOrReply(s, tag, f)) return;
    const ns = this.ns;
    if (ns.remove === undefined) {
      this.replyError(s, tag, EOPNOTSUPP);
      return;
    }
    const nsS = this.fidNs[slot];
    const child = ns.walk(nsS, this.fidNode[slot], f.sBuf, f.sOff[0], f.sLen[0]);
    if (child < 0) {
      this.replyError(s, tag, -child);
      return;
    }
    const r = ns.remove(nsS, child);
    ns.clunk(nsS, child);
    if (r < 0) this.replyError(s, tag, -r);
    else this.replyEmpty(s, Runlinkat, tag);
  }

  mkdir(s: number, f: Fcall): void {
    const n = f.n;
    const tag = f.tag;
    const slot = this.fidOrReply(s, tag, n[0]);
    if (slot < 0) return;
    if (!this.nameOrReply(s, tag, f)) return;
    const ns = this.ns;
    if (ns.mkdir === undefined) {
      this.replyError(s, tag, EOPNOTSUPP);
      return;
    }
    const nsS = this.fidNs[slot];
    const node = ns.mkdir(nsS, this.fidNode[slot], f.sBuf, f.sOff[0], f.sLen[0], n[1]);
    if (node < 0) {
      this.replyError(s, tag, -node);
      return;
    }
    const st = this.st;
    const r = ns.stat(nsS, node, st);
    ns.clunk(nsS, node);
    if (r < 0) {
      this.replyError(s, tag, -r);
      return;
    }
    this.begin(s, Rmkdir, tag);
    this.qid(st);
    this.finish(s);
  }

  getattr(s: number, f: Fcall): void {
    const tag = f.tag;
    const slot = this.fidOrReply(s, tag, f.n[0]);
    if (slot < 0) return;
    const st = this.st;
    const r = this.ns.stat(this.fidNs[slot], this.fidNode[slot], st);
    if (r < 0) {
      this.replyError(s, tag, -r);
      return;
    }
    this.begin(s, Rgetattr, tag);
    this.u64(GETATTR_BASIC, 0);
    this.qid(st);
    this.u32(st.mode);
    this.u32(0); // uid
    this.u32(0); // gid
    this.u64(st.nlink, 0);
    this.u64(0, 0); // rdev
    this.u64(st.sizeLo, st.sizeHi);
    this.u64(4096, 0); // blksize
    // blocks of 512 bytes: ceil(size / 512) from the two halves
    const blocks = st.sizeHi * 8388608 + Math.ceil(st.sizeLo / 512);
    this.u64(blocks % 4294967296, Math.floor(blocks / 4294967296));
    this.u64(st.mtimeSec, 0); // atime
    this.u64(0, 0);
    this.u64(st.mtimeSec, 0); // mtime
    this.u64(0, 0);
    this.u64(st.mtimeSec, 0); // ctime
    this.u64(0, 0);
    this.u64(0, 0); // btime
    this.u64(0, 0);
    this.u64(0, 0); // gen
    this.u64(0, 0); // data_version
    this.finish(s);
  }

  setattr(s: number, f: Fcall): void {
    const n = f.n;
    const tag = f.tag;
    const slot = this.fidOrReply(s, tag, n[0]);
    if (slot < 0) return;
    const valid = n[1];
    if (valid === 0) {
      this.replyEmpty(s, Rsetattr, tag);
      return;
    }
    const ns = this.ns;
    if (valid !== SETATTR_SIZE || ns.truncate === undefined) {
      this.replyError(s, tag, EOPNOTSUPP);
      return;
    }
    // n: fid valid mode uid gid sizeLo sizeHi …
    const r = ns.truncate(this.fidNs[slot], this.fidNode[slot], n[5], n[6]);
    if (r < 0) this.replyError(s, tag, -r);
    else this.replyEmpty(s, Rsetattr, tag);
  }

  readdir(s: number, f: Fcall): void {
    const n = f.n;
    const tag = f.tag;
    const slot = this.fidOrReply(s, tag, n[0]);
    if (slot < 0) return;
    if (this.fidState[slot] !== FID_OPEN) {
      this.replyError(s, tag, EBADF);
      return;
    }
    const nsS = this.fidNs[slot];
    const node = this.fidNode[slot];
    const st = this.st;
    const sr = this.ns.stat(nsS, node, st);
    if (sr < 0 || Math.floor(st.qidType / QTDIR) % 2 === 0) {
      this.replyError(s, tag, sr < 0 ? -sr : ENOTDIR);
      return;
    }
    const count = Math.min(n[3], this.msize[s] - IO_HEADER);
    // The offset is an entry index (our cookies are index + 1); a high half means "past the end".
    let index = n[2] > 0 ? 4294967295 : n[1];
    const de = this.de;
    this.begin(s, Rreaddir, tag);
    const countAt = this.wPos;
    this.wPos += 4;
    const dataStart = this.wPos;
    let err = 0;
    while (true) {
      const r = this.ns.readdir(nsS, node, index, de);
      if (r < 0) {
        err = -r;
        break;
      }
      if (r === 0) break;
      const nameLen = utf8Length(de.name);
      const entLen = 13 + 8 + 1 + 2 + nameLen;
      if (this.wPos - dataStart + entLen > count) break;
      this.u8(de.qidType);
      this.u32(de.qidVersion);
      this.u64(de.qidPathLo, de.qidPathHi);
      this.u64(index + 1, 0);
      this.u8(Math.floor(de.qidType / QTDIR) % 2 === 1 ? DT_DIR : DT_REG);
      this.u16(nameLen);
      this.wPos += writeUtf8(this.wBuf, this.wPos, de.name);
      index++;
    }
    if (err !== 0 && this.wPos === dataStart) {
      this.replyError(s, tag, err);
      return;
    }
    putU32(this.wBuf, countAt, this.wPos - dataStart);
    this.finish(s);
  }

  statfs(s: number, f: Fcall): void {
    const tag = f.tag;
    const slot = this.fidOrReply(s, tag, f.n[0]);
    if (slot < 0) return;
    // Synthetic namespaces have no block accounting: report the 9P magic and empty counts.
    this.begin(s, Rstatfs, tag);
    this.u32(V9FS_MAGIC);
    this.u32(4096);
    for (let i = 0; i < 6; i++) this.u64(0, 0);
    this.u32(255);
    this.finish(s);
  }

  fsync(s: number, f: Fcall): void {
    const tag = f.tag;
    if (this.fidOrReply(s, tag, f.n[0]) >= 0) this.replyEmpty(s, Rfsync, tag); // namespace writes are synchronous
  }

  flush(s: number, f: Fcall): void {
    const i = this.tagParked(s, f.n[0]);
    if (i >= 0) this.unpark(s, i); // the flushed request gets no reply of its own
    this.replyEmpty(s, Rflush, f.tag);
  }
}
