/**
 * A typed async 9P2000.L client for host tools (cohsh --transport 9p, mount, benchmarks).
 * Requests pipeline: each gets a free tag, frames written in one batch per tick, replies matched
 * by tag in any order; at most `maxInflight` requests are outstanding (the tag window).
 * Fids are handed out by `newFid()` and never reused (Secure9P retires clunked fids).
 */
import * as C from "../codec.ts";
import { errnoName } from "../errors.ts";
import { type ByteConn, TcpByteConn, TransportError } from "./conn.ts";

export { TransportError };

/** A refusal from the server (`Rlerror`), with its errno. */
export class NineError extends Error {
  readonly errno: number;
  readonly op: string;
  constructor(op: string, errno: number) {
    super(`${op} failed: ${errnoName(errno)} (${errno})`);
    this.name = "NineError";
    this.errno = errno;
    this.op = op;
  }
}

export interface Qid {
  type: number;
  version: number;
  /** u64 as a number (exact below 2^53). */
  path: number;
}

export interface Attr {
  valid: number;
  qid: Qid;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  blksize: number;
  blocks: number;
  mtimeSec: number;
}

export interface DirEnt {
  qid: Qid;
  /** The server's cookie for the next Treaddir (exact u64: servers such as diod use all 64 bits). */
  offset: bigint;
  type: number;
  name: string;
}

export interface StatFs {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  namelen: number;
}

export interface ClientOptions {
  /** msize to ask for (default 8192). */
  msize?: number;
  /** Outstanding requests at most (default 16). */
  maxInflight?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const TWO32 = 4294967296;
/** Linux P9_IOHDRSZ: the headroom clients leave below msize for read/readdir counts. */
export const IOHDRSZ = 24;

/** A request body: numeric fields in layout order (u64 given as one number) and strings. */
interface Req {
  nums: (number | bigint)[];
  strs?: string[];
  data?: Uint8Array;
}

interface Pending {
  op: string;
  expect: number;
  parse: (f: C.Fcall) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class NineClient {
  readonly conn: ByteConn;
  msize = 0;
  readonly maxInflight: number;
  #pending = new Map<number, Pending>();
  #waiters: (() => void)[] = [];
  #nextTag = 0;
  #nextFid = 1;
  #sendQueue: Uint8Array[] = [];
  #sending = false;
  #failure: Error | null = null;
  #reader: Promise<void>;
  #f = new C.Fcall();

  private constructor(conn: ByteConn, maxInflight: number) {
    this.conn = conn;
    this.maxInflight = maxInflight;
    this.#reader = this.#readLoop();
  }

  /** Wraps a connection and negotiates the version (msize capped by the server). */
  static async connect(conn: ByteConn, opts: ClientOptions = {}): Promise<NineClient> {
    const c = new NineClient(conn, opts.maxInflight ?? 16);
    const want = opts.msize ?? 8192;
    c.msize = want;
    try {
      const r = await c.#rpc("version", C.Tversion, C.Rversion, { nums: [want], strs: ["9P2000.L"] }, (f) => {
        return { msize: f.n[0], version: dec.decode(f.sBuf.subarray(f.sOff[0], f.sOff[0] + f.sLen[0])) };
      }, C.NOTAG) as { msize: number; version: string };
      if (r.version !== "9P2000.L") throw new NineError("version", 95);
      c.msize = Math.min(r.msize, want);
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /** Dials a TCP 9P server and negotiates the version. */
  static async dial(hostname: string, port: number, opts: ClientOptions = {}): Promise<NineClient> {
    return NineClient.connect(await TcpByteConn.dial(hostname, port), opts);
  }

  /** A fid number never handed out before on this client. */
  newFid(): number {
    return this.#nextFid++;
  }

  /** Payload size for one Tread or Twrite that every server accepts (msize - P9_IOHDRSZ). */
  get ioChunk(): number {
    return this.msize - IOHDRSZ;
  }

  attach(fid: number, uname: string, aname = "", nUname = 0xffffffff): Promise<Qid> {
    return this.#rpc(
      "attach",
      C.Tattach,
      C.Rattach,
      { nums: [fid, C.NOFID, nUname], strs: [uname, aname] },
      qidAt0,
    );
  }

  /**
   * Walks `names` from fid to newfid and resolves every qid. A partial walk (the server stopped
   * early, newfid not made) rejects with NineError ENOENT, as Linux treats it.
   */
  walk(fid: number, newfid: number, names: string[]): Promise<Qid[]> {
    return this.#rpc("walk", C.Twalk, C.Rwalk, { nums: [fid, newfid, names.length], strs: names }, (f) => {
      if (f.n[0] < names.length) throw new NineError("walk", 2);
      const out: Qid[] = [];
      for (let i = 0; i < f.n[0]; i++) out.push(qidAt(f, 1 + 4 * i));
      return out;
    });
  }

  open(fid: number, flags: number): Promise<{ qid: Qid; iounit: number }> {
    return this.#rpc("lopen", C.Tlopen, C.Rlopen, { nums: [fid, flags] }, qidIounit);
  }

  create(
    fid: number,
    name: string,
    flags: number,
    mode: number,
    gid = 0,
  ): Promise<{ qid: Qid; iounit: number }> {
    return this.#rpc(
      "lcreate",
      C.Tlcreate,
      C.Rlcreate,
      { nums: [fid, flags, mode, gid], strs: [name] },
      qidIounit,
    );
  }

  mkdir(dfid: number, name: string, mode: number, gid = 0): Promise<Qid> {
    return this.#rpc("mkdir", C.Tmkdir, C.Rmkdir, { nums: [dfid, mode, gid], strs: [name] }, qidAt0);
  }

  read(fid: number, offset: number, count: number): Promise<Uint8Array> {
    return this.#rpc("read", C.Tread, C.Rread, { nums: [fid, offset, count] }, dataOf);
  }

  write(fid: number, offset: number, data: Uint8Array): Promise<number> {
    return this.#rpc("write", C.Twrite, C.Rwrite, { nums: [fid, offset, data.length], data }, (f) => f.n[0]);
  }

  clunk(fid: number): Promise<void> {
    return this.#rpc("clunk", C.Tclunk, C.Rclunk, { nums: [fid] }, none);
  }

  remove(fid: number): Promise<void> {
    return this.#rpc("remove", C.Tremove, C.Rremove, { nums: [fid] }, none);
  }

  unlinkat(dfid: number, name: string, flags = 0): Promise<void> {
    return this.#rpc("unlinkat", C.Tunlinkat, C.Runlinkat, { nums: [dfid, flags], strs: [name] }, none);
  }

  fsync(fid: number): Promise<void> {
    return this.#rpc("fsync", C.Tfsync, C.Rfsync, { nums: [fid, 0] }, none);
  }

  /** Sets the size only (truncate). */
  truncate(fid: number, size: number): Promise<void> {
    return this.#rpc("setattr", C.Tsetattr, C.Rsetattr, { nums: [fid, 8, 0, 0, 0, size, 0, 0, 0, 0] }, none);
  }

  flush(oldtag: number): Promise<void> {
    return this.#rpc("flush", C.Tflush, C.Rflush, { nums: [oldtag] }, none);
  }

  getattr(fid: number, mask = 0x7ff): Promise<Attr> {
    return this.#rpc("getattr", C.Tgetattr, C.Rgetattr, { nums: [fid, mask] }, (f) => {
      const n = f.n;
      const u64 = (i: number) => n[i] + n[i + 1] * TWO32;
      return {
        valid: u64(0),
        qid: qidAt(f, 2),
        mode: n[6],
        uid: n[7],
        gid: n[8],
        nlink: u64(9),
        size: u64(13),
        blksize: u64(15),
        blocks: u64(17),
        mtimeSec: u64(23),
      } satisfies Attr;
    });
  }

  statfs(fid: number): Promise<StatFs> {
    return this.#rpc("statfs", C.Tstatfs, C.Rstatfs, { nums: [fid] }, (f) => {
      const n = f.n;
      return {
        type: n[0],
        bsize: n[1],
        blocks: n[2] + n[3] * TWO32,
        bfree: n[4] + n[5] * TWO32,
        namelen: n[14],
      };
    });
  }

  /** One Treaddir: entries from `offset` (a cookie from a previous entry, 0 to start). */
  readdir(fid: number, offset: number | bigint, count = this.msize - IOHDRSZ): Promise<DirEnt[]> {
    return this.#rpc("readdir", C.Treaddir, C.Rreaddir, { nums: [fid, offset, count] }, (f) => {
      const b = f.dataBuf;
      const end = f.dataOff + f.dataLen;
      const out: DirEnt[] = [];
      let p = f.dataOff;
      while (p + 24 <= end) {
        const qid = {
          type: b[p],
          version: C.getU32(b, p + 1),
          path: C.getU32(b, p + 5) + C.getU32(b, p + 9) * TWO32,
        };
        const offset = BigInt(C.getU32(b, p + 13)) + (BigInt(C.getU32(b, p + 17)) << 32n);
        const type = b[p + 21];
        const nl = C.getU16(b, p + 22);
        if (p + 24 + nl > end) {
          throw new TransportError("Cannot decode Rreaddir: an entry runs past the data");
        }
        out.push({ qid, offset, type, name: dec.decode(b.subarray(p + 24, p + 24 + nl)) });
        p += 24 + nl;
      }
      return out;
    });
  }

  /** Every entry of an opened directory fid, following cookies to the end. */
  async readdirAll(fid: number): Promise<DirEnt[]> {
    const all: DirEnt[] = [];
    let offset = 0n;
    for (;;) {
      const batch = await this.readdir(fid, offset);
      if (batch.length === 0) return all;
      all.push(...batch);
      offset = batch[batch.length - 1].offset;
    }
  }

  /** Reads an opened fid from offset 0 to EOF with up to `depth` reads in flight. */
  async readAll(fid: number, depth = 1): Promise<Uint8Array> {
    const chunk = this.ioChunk;
    const parts: Uint8Array[] = [];
    let offset = 0;
    let eof = false;
    while (!eof) {
      const reqs: Promise<Uint8Array>[] = [];
      for (let i = 0; i < depth; i++) reqs.push(this.read(fid, offset + i * chunk, chunk));
      for (const data of await Promise.all(reqs)) {
        if (eof) continue;
        parts.push(data);
        offset += data.length;
        if (data.length < chunk) eof = true;
      }
    }
    return concat(parts);
  }

  /** The tag the next request will get (for Tflush tests). */
  peekTag(): number {
    return this.#nextTag;
  }

  close(): void {
    this.#fail(new TransportError("Cannot complete the request: the client was closed"));
    this.conn.close();
  }

  /** Resolves when the reader loop has stopped (after close or a transport failure). */
  closed(): Promise<void> {
    return this.#reader;
  }

  // ---- internals -----------------------------------------------------------------------------

  #rpc<T>(
    op: string,
    type: number,
    expect: number,
    req: Req,
    parse: (f: C.Fcall) => T,
    fixedTag?: number,
  ): Promise<T> {
    // The common case (a free slot in the tag window) sends without an extra async hop.
    if (this.#failure || this.#pending.size >= this.maxInflight) {
      return this.#rpcWhenFree(op, type, expect, req, parse, fixedTag);
    }
    return this.#issue(op, type, expect, req, parse, fixedTag);
  }

  async #rpcWhenFree<T>(
    op: string,
    type: number,
    expect: number,
    req: Req,
    parse: (f: C.Fcall) => T,
    fixedTag?: number,
  ): Promise<T> {
    if (this.#failure) throw this.#failure;
    while (this.#pending.size >= this.maxInflight) await new Promise<void>((r) => this.#waiters.push(r));
    if (this.#failure) throw this.#failure;
    return this.#issue(op, type, expect, req, parse, fixedTag);
  }

  #issue<T>(
    op: string,
    type: number,
    expect: number,
    req: Req,
    parse: (f: C.Fcall) => T,
    fixedTag?: number,
  ): Promise<T> {
    const tag = fixedTag ?? this.#allocTag();
    let frame: Uint8Array;
    try {
      frame = encodeReq(type, tag, req, this.msize);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(tag, { op, expect, parse, resolve: resolve as (v: unknown) => void, reject });
      this.#send(frame);
    });
  }

  #allocTag(): number {
    for (;;) {
      const t = this.#nextTag;
      this.#nextTag = (t + 1) % 0xffff; // NOTAG is never handed out
      if (!this.#pending.has(t)) return t;
    }
  }

  #send(frame: Uint8Array): void {
    this.#sendQueue.push(frame);
    if (this.#sending) return;
    this.#sending = true;
    queueMicrotask(() => this.#flush());
  }

  async #flush(): Promise<void> {
    try {
      while (this.#sendQueue.length > 0) {
        const batch = concat(this.#sendQueue);
        this.#sendQueue = [];
        await this.conn.write(batch);
      }
    } catch (e) {
      this.#fail(e as Error);
    } finally {
      this.#sending = false;
    }
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(65536);
    let have = 0;
    try {
      for (;;) {
        if (have === buf.length) {
          const bigger = new Uint8Array(buf.length * 2);
          bigger.set(buf);
          buf = bigger;
        }
        const n = await this.conn.read(buf.subarray(have));
        if (n === null) break;
        have += n;
        let pos = 0;
        while (have - pos >= 4) {
          const size = C.getU32(buf, pos);
          if (size < C.HEADER_SIZE || size > Math.max(this.msize, 8192) + 64) {
            throw new TransportError(`Cannot frame the reply: size ${size} is outside 7..msize`);
          }
          if (have - pos < size) break;
          this.#dispatch(buf, pos, size);
          pos += size;
        }
        if (pos > 0) {
          buf.copyWithin(0, pos, have);
          have -= pos;
        }
      }
      this.#fail(new TransportError("Cannot complete the request: the server closed the connection"));
    } catch (e) {
      this.#fail(e instanceof Error ? e : new TransportError(String(e)));
    }
  }

  #dispatch(buf: Uint8Array, off: number, size: number): void {
    const f = this.#f;
    const r = C.decode(buf, off, size, f);
    const tag = C.getU16(buf, off + 5);
    const p = this.#pending.get(tag);
    if (!p) return; // a reply to a flushed request
    this.#pending.delete(tag);
    const w = this.#waiters.shift();
    w?.();
    if (r < 0) {
      p.reject(new TransportError(`Cannot decode ${C.messageName(buf[off + 4])} for ${p.op}: error ${r}`));
    } else if (f.type === C.Rlerror) {
      p.reject(new NineError(p.op, f.n[0]));
    } else if (f.type !== p.expect) {
      p.reject(new TransportError(`Cannot use ${C.messageName(f.type)} as the reply to ${p.op}`));
    } else {
      try {
        p.resolve(p.parse(f));
      } catch (e) {
        p.reject(e as Error);
      }
    }
  }

  #fail(e: Error): void {
    if (!this.#failure) this.#failure = e;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(this.#failure);
    for (const w of this.#waiters.splice(0)) w();
  }
}

function none(): void {}

function qidAt(f: C.Fcall, i: number): Qid {
  const n = f.n;
  return { type: n[i], version: n[i + 1], path: n[i + 2] + n[i + 3] * TWO32 };
}

function qidAt0(f: C.Fcall): Qid {
  return qidAt(f, 0);
}

function qidIounit(f: C.Fcall): { qid: Qid; iounit: number } {
  return { qid: qidAt(f, 0), iounit: f.n[4] };
}

function dataOf(f: C.Fcall): Uint8Array {
  return f.dataBuf.slice(f.dataOff, f.dataOff + f.dataLen);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Encodes a request through the codec table. `nums` follow the layout, except that a u64 is one
 * number here (split into halves) and counts of N/D fields come from `strs`/`data`.
 */
/** Encoding is synchronous, so one scratch Fcall serves every request (less garbage per op). */
const scratch = new C.Fcall();

export function encodeReq(type: number, tag: number, req: Req, msize: number): Uint8Array {
  const f = scratch;
  f.dataBuf = new Uint8Array(0);
  f.dataOff = 0;
  f.dataLen = 0;
  f.type = type;
  f.tag = tag;
  const layout = C.layoutOf(type);
  const strs = req.strs ?? [];
  const sbytes = strs.map((s) => enc.encode(s));
  let sLen = 0;
  for (const b of sbytes) sLen += b.length;
  const sBuf = new Uint8Array(sLen);
  let so = 0;
  for (let i = 0; i < sbytes.length; i++) {
    sBuf.set(sbytes[i], so);
    f.sOff[i] = so;
    f.sLen[i] = sbytes[i].length;
    so += sbytes[i].length;
  }
  f.sBuf = sBuf;
  let ni = 0;
  let vi = 0;
  for (const c of layout) {
    const v = req.nums[vi++] ?? 0;
    if (c === "q") {
      if (typeof v === "bigint") {
        f.n[ni++] = Number(v & 0xffffffffn);
        f.n[ni++] = Number((v >> 32n) & 0xffffffffn);
      } else {
        f.n[ni++] = v % TWO32;
        f.n[ni++] = Math.floor(v / TWO32);
      }
    } else if (c === "s") {
      vi--; // strings are not in nums
    } else f.n[ni++] = Number(v);
  }
  if (req.data) {
    f.dataBuf = req.data;
    f.dataOff = 0;
    f.dataLen = req.data.length;
  }
  const cap = C.HEADER_SIZE + 64 + sLen + 2 * strs.length + (req.data?.length ?? 0) + 8 * layout.length;
  const out = new Uint8Array(cap);
  const n = C.encode(f, out, 0, cap);
  if (n < 0) throw new TypeError(`Cannot encode ${C.messageName(type)}: error ${n}`);
  if (n > msize && type !== C.Tversion) {
    throw new RangeError(`Cannot send ${C.messageName(type)}: ${n} bytes exceed msize ${msize}`);
  }
  return out.subarray(0, n);
}
