/**
 * A small in-memory `Namespace` (fixed node table): directories, files and "pipes" whose reads
 * answer -EAGAIN until bytes are pushed. It serves interop tests, the benchmark and the replay
 * corpus without NineDoor. Writes may grow a file's buffer (allocation: fine for tests and the
 * host, not meant as a long-running guest namespace).
 *
 * Node handles encode a generation (`gen * MAX_NODES + index`), so a removed node's old handle
 * answers -EBADF (the `Closed` kind).
 */
import { newF64, newI32, newU8 } from "./alloc.ts";
import {
  EAGAIN,
  EBADF,
  EEXIST,
  EINVAL,
  EISDIR,
  ENOENT,
  ENOSPC,
  ENOTDIR,
  ENOTEMPTY,
  EPERM,
} from "./errors.ts";
import {
  DirEntry,
  type Namespace,
  NodeStat,
  O_ACCMODE,
  O_RDONLY,
  O_TRUNC,
  QTDIR,
  QTFILE,
} from "./namespace.ts";
import { bytesEqualUtf8, utf8ToString } from "./text.ts";

/** Node table size. */
export const MAX_NODES = 1024;

const K_FREE = 0;
const K_DIR = 1;
const K_FILE = 2;
const K_PIPE = 3;

const EMPTY = new Uint8Array(0);

export class StaticNamespace implements Namespace {
  // Tables sized in the constructor.
  kind: Uint8Array;
  gen: Int32Array;
  parent: Int32Array;
  version: Float64Array;
  size: Float64Array;
  mtime: Float64Array;
  readOnly: Uint8Array;
  names: string[] = [];
  data: Uint8Array[] = [];
  /** Role refused at attach (EPERM), for tests of refusals; "" refuses nothing. */
  refuseRole = "";
  /** Live attach sessions and node references handed out (tests check for leaks). */
  sessions = 0;
  refs = 0;
  nextSession = 1;

  constructor() {
    this.kind = newU8(MAX_NODES);
    this.gen = newI32(MAX_NODES);
    this.parent = newI32(MAX_NODES);
    this.version = newF64(MAX_NODES);
    this.size = newF64(MAX_NODES);
    this.mtime = newF64(MAX_NODES);
    this.readOnly = newU8(MAX_NODES);
    for (let i = 0; i < MAX_NODES; i++) {
      this.names.push("");
      this.data.push(EMPTY);
    }
    const kind = this.kind;
    kind[0] = K_DIR;
    const parent = this.parent;
    parent[0] = -1;
  }

  // ---- building (host/test side) -------------------------------------------------------------

  /** Adds a node under directory handle `dir`; returns its handle or -errno. */
  add(dir: number, name: string, k: number, content: Uint8Array, readOnly: boolean): number {
    const d = this.index(dir);
    if (d < 0) return d;
    if (this.kind[d] !== K_DIR) return -ENOTDIR;
    if (this.childByName(d, name) >= 0) return -EEXIST;
    const kind = this.kind;
    for (let i = 1; i < MAX_NODES; i++) {
      if (kind[i] !== K_FREE) continue;
      kind[i] = k;
      const parent = this.parent;
      parent[i] = d;
      const names = this.names;
      names[i] = name;
      const data = this.data;
      data[i] = content;
      const size = this.size;
      size[i] = k === K_FILE ? content.length : 0;
      const ro = this.readOnly;
      ro[i] = readOnly ? 1 : 0;
      const version = this.version;
      version[i] = 0;
      return this.handle(i);
    }
    return -ENOSPC;
  }

  addDir(dir: number, name: string): number {
    return this.add(dir, name, K_DIR, EMPTY, false);
  }

  addFile(dir: number, name: string, content: Uint8Array, readOnly: boolean): number {
    return this.add(dir, name, K_FILE, content, readOnly);
  }

  /** A pipe: reads return pushed bytes once, or -EAGAIN while none are queued. */
  addPipe(dir: number, name: string): number {
    return this.add(dir, name, K_PIPE, newU8(4096), true);
  }

  /** Queues bytes on a pipe; returns the count queued or -errno. */
  push(node: number, src: Uint8Array, off: number, len: number): number {
    const i = this.index(node);
    if (i < 0) return i;
    if (this.kind[i] !== K_PIPE) return -EINVAL;
    const buf = this.data[i];
    const have = this.size[i];
    const n = Math.min(len, buf.length - have);
    for (let k = 0; k < n; k++) buf[have + k] = src[off + k];
    const size = this.size;
    size[i] = have + n;
    return n;
  }

  rootHandle(): number {
    return 0;
  }

  handle(i: number): number {
    return this.gen[i] * MAX_NODES + i;
  }

  /** Index of a live handle, or -EBADF for a stale or bogus one. */
  index(node: number): number {
    if (node < 0) return -EBADF;
    const i = node % MAX_NODES;
    if (this.kind[i] === K_FREE || Math.floor(node / MAX_NODES) !== this.gen[i]) return -EBADF;
    return i;
  }

  childByName(d: number, name: string): number {
    const kind = this.kind;
    const parent = this.parent;
    const names = this.names;
    for (let i = 1; i < MAX_NODES; i++) {
      if (kind[i] !== K_FREE && parent[i] === d && names[i] === name) return i;
    }
    return -1;
  }

  // ---- Namespace -----------------------------------------------------------------------------

  attach(role: string, _ticket: string): number {
    if (this.refuseRole !== "" && role === this.refuseRole) return -EPERM;
    this.sessions++;
    const s = this.nextSession;
    this.nextSession = s + 1;
    return s;
  }

  detach(_session: number): void {
    this.sessions--;
  }

  root(_session: number): number {
    this.refs++;
    return 0;
  }

  walk(_session: number, node: number, buf: Uint8Array, off: number, len: number): number {
    const d = this.index(node);
    if (d < 0) return d;
    if (this.kind[d] !== K_DIR) return -ENOTDIR;
    const kind = this.kind;
    const parent = this.parent;
    const names = this.names;
    for (let i = 1; i < MAX_NODES; i++) {
      if (kind[i] !== K_FREE && parent[i] === d && bytesEqualUtf8(buf, off, len, names[i])) {
        this.refs++;
        return this.handle(i);
      }
    }
    return -ENOENT;
  }

  open(_session: number, node: number, flags: number): number {
    const i = this.index(node);
    if (i < 0) return i;
    const acc = flags % 4;
    if (this.kind[i] === K_DIR) return acc === O_RDONLY ? 0 : -EISDIR;
    if (acc !== O_RDONLY && this.readOnly[i] === 1) return -EPERM;
    if (acc === O_ACCMODE) return -EINVAL;
    if (acc !== O_RDONLY && Math.floor(flags / O_TRUNC) % 2 === 1) {
      const size = this.size;
      size[i] = 0;
    }
    return 0;
  }

  read(
    _s: number,
    node: number,
    offLo: number,
    offHi: number,
    dst: Uint8Array,
    dstOff: number,
    count: number,
  ): number {
    const i = this.index(node);
    if (i < 0) return i;
    const k = this.kind[i];
    if (k === K_DIR) return -EISDIR;
    const buf = this.data[i];
    const size = this.size[i];
    if (k === K_PIPE) {
      if (size === 0) return -EAGAIN;
      const n = Math.min(count, size);
      for (let j = 0; j < n; j++) dst[dstOff + j] = buf[j];
      buf.copyWithin(0, n, size);
      const sz = this.size;
      sz[i] = size - n;
      return n;
    }
    const off = offHi * 4294967296 + offLo;
    if (off >= size) return 0;
    const n = Math.min(count, size - off);
    if (n > 256) dst.set(buf.subarray(off, off + n), dstOff); // host speed; allocation-free path below
    else for (let j = 0; j < n; j++) dst[dstOff + j] = buf[off + j];
    return n;
  }

  write(
    _s: number,
    node: number,
    offLo: number,
    offHi: number,
    src: Uint8Array,
    srcOff: number,
    count: number,
  ): number {
    const i = this.index(node);
    if (i < 0) return i;
    const k = this.kind[i];
    if (k === K_DIR) return -EISDIR;
    if (this.readOnly[i] === 1 || k !== K_FILE) return -EPERM;
    const off = offHi * 4294967296 + offLo;
    const end = off + count;
    let buf = this.data[i];
    if (end > buf.length) {
      let cap = buf.length < 4096 ? 4096 : buf.length;
      while (cap < end) cap = cap * 2;
      const grown = newU8(cap);
      grown.set(buf.subarray(0, this.size[i]));
      const data = this.data;
      data[i] = grown;
      buf = grown;
    }
    for (let j = 0; j < count; j++) buf[off + j] = src[srcOff + j];
    const size = this.size;
    if (end > size[i]) size[i] = end;
    const version = this.version;
    version[i] = version[i] + 1;
    return count;
  }

  readdir(_s: number, node: number, index: number, out: DirEntry): number {
    const d = this.index(node);
    if (d < 0) return d;
    if (this.kind[d] !== K_DIR) return -ENOTDIR;
    const kind = this.kind;
    const parent = this.parent;
    let seen = 0;
    for (let i = 1; i < MAX_NODES; i++) {
      if (kind[i] === K_FREE || parent[i] !== d) continue;
      if (seen === index) {
        out.qidType = kind[i] === K_DIR ? QTDIR : QTFILE;
        out.qidVersion = this.version[i];
        out.qidPathLo = this.handle(i);
        out.qidPathHi = 0;
        out.name = this.names[i];
        return 1;
      }
      seen++;
    }
    return 0;
  }

  stat(_s: number, node: number, out: NodeStat): number {
    const i = this.index(node);
    if (i < 0) return i;
    const dir = this.kind[i] === K_DIR;
    out.qidType = dir ? QTDIR : QTFILE;
    out.qidVersion = this.version[i];
    out.qidPathLo = this.handle(i);
    out.qidPathHi = 0;
    const perm = dir ? 0o755 : this.readOnly[i] === 1 ? 0o444 : 0o644;
    out.mode = (dir ? 0o040000 : 0o100000) + perm;
    const size = this.size[i];
    out.sizeLo = size % 4294967296;
    out.sizeHi = Math.floor(size / 4294967296);
    out.mtimeSec = this.mtime[i];
    out.nlink = dir ? 2 : 1;
    return 0;
  }

  dup(_s: number, node: number): number {
    const i = this.index(node);
    if (i >= 0) this.refs++;
    return i < 0 ? i : node;
  }

  clunk(_s: number, _node: number): void {
    this.refs--;
  }

  create(
    _s: number,
    dir: number,
    buf: Uint8Array,
    off: number,
    len: number,
    flags: number,
    _mode: number,
  ): number {
    const name = utf8ToString(buf, off, len);
    const h = this.add(dir, name, K_FILE, EMPTY, false);
    if (h < 0) return h;
    const r = this.open(_s, h, flags);
    if (r < 0) {
      this.drop(h % MAX_NODES);
      return r;
    }
    this.refs++;
    return h;
  }

  mkdir(_s: number, dir: number, buf: Uint8Array, off: number, len: number, _mode: number): number {
    const h = this.add(dir, utf8ToString(buf, off, len), K_DIR, EMPTY, false);
    if (h >= 0) this.refs++;
    return h;
  }

  remove(_s: number, node: number): number {
    const i = this.index(node);
    if (i < 0) return i;
    if (i === 0) return -EPERM;
    if (this.readOnly[i] === 1) return -EPERM;
    const kind = this.kind;
    const parent = this.parent;
    if (kind[i] === K_DIR) {
      for (let j = 1; j < MAX_NODES; j++) if (kind[j] !== K_FREE && parent[j] === i) return -ENOTEMPTY;
    }
    this.drop(i);
    return 0;
  }

  truncate(_s: number, node: number, sizeLo: number, sizeHi: number): number {
    const i = this.index(node);
    if (i < 0) return i;
    if (this.kind[i] !== K_FILE) return -EINVAL;
    if (this.readOnly[i] === 1) return -EPERM;
    const n = sizeHi * 4294967296 + sizeLo;
    if (n > this.size[i]) return -EINVAL; // shrinking only: growth goes through write
    const size = this.size;
    size[i] = n;
    return 0;
  }

  drop(i: number): void {
    const kind = this.kind;
    kind[i] = K_FREE;
    const gen = this.gen;
    gen[i] = gen[i] + 1;
    const data = this.data;
    data[i] = EMPTY;
    const size = this.size;
    size[i] = 0;
  }
}
