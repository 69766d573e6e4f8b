/**
 * The hive's Secure9P namespace as FUSE low-level operations (`FsOps`), over one re-attaching
 * session (`HiveLink`). Inodes are paths: the kernel's inode numbers map to a path plus the qid
 * it had, so a worker that vanishes and comes back under the same id is a new inode.
 *
 * Semantics that follow the hive's files, not POSIX by force:
 * - every file is direct I/O with a 0 s attribute cache, so sizes are the hive's live ring ends and
 *   `tail -f` (which polls fstat) sees new lines; listings are read afresh at every opendir;
 * - append-only (QTAPPEND) and control (write-only) files take `>` as `>>` (O_TRUNC dropped), are
 *   non-seekable when opened for writing (ESPIPE) and refuse truncation with EPERM;
 * - refusals are the hive's own errno: EROFS for a read-only file opened for write, EPERM for a role
 *   denial (the hive writes its audit line); nothing is checked twice on this side;
 * - a ring file whose oldest bytes were overwritten keeps the hive's absolute offsets: the lost prefix
 *   reads as newlines, so `cat`, `grep` and `tail` keep working on a wrapped telemetry ring;
 * - generated read-only files the hive reports with size 0 (`/proc/workers`, …) are read once at
 *   stat time so `stat` and `cat` agree;
 * - a lost connection fails the calls in flight with EIO; the next call re-attaches, and open files
 *   are re-opened by path on their next read or write.
 */
import { NineError, TransportError } from "../../secure9p/host/client.ts";
import type { Attr } from "../../secure9p/host/client.ts";
import { O_ACCMODE, O_APPEND, O_RDONLY, O_TRUNC, QTAPPEND, QTDIR } from "../../secure9p/namespace.ts";
import { FI_DIRECT_IO, FI_NONSEEKABLE, SET_ATTR, type StatFields } from "./fuse_ffi.ts";
import { type DirItem, EIO, type Entry, FsError, type FsOps } from "./fuse_session.ts";
import type { HiveLink, Session } from "./hive_link.ts";

const EPERM = 1;
const ENOENT = 2;
const EBADF = 9;
const EINVAL = 22;
const ENOTDIR = 20;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** Walk names per Twalk (the Secure9P red line). */
const WALK_MAX = 8;
/** Walked fids kept for inodes the kernel holds (the hive allows 64 fids per session). */
const FID_CACHE = 24;

interface Node {
  ino: number;
  path: string[];
  key: string;
  isDir: boolean;
  /** Writes always land at the end: QTAPPEND files and write-only control files. */
  appendOnly: boolean;
  nlookup: number;
  /** A walked (not opened) fid for the node, valid while `epoch` is the link's. */
  fid: number;
  epoch: number;
  /** Calls using `fid` right now; a busy fid is not evicted. */
  busy: number;
}

interface Handle {
  node: Node;
  /** Tlopen flags (Linux numbering, as 9P2000.L carries them). */
  flags: number;
  fid: number;
  epoch: number;
  /** Directory snapshot taken at offset 0. */
  entries: DirItem[] | null;
}

export interface HiveFsOptions {
  uid: number;
  gid: number;
  /** Seconds the kernel may cache attributes and names (0: always ask the hive). */
  cacheSeconds: number;
}

export class HiveFs implements FsOps {
  readonly negativeTimeout: number;
  #nodes = new Map<number, Node>();
  #byKey = new Map<string, Node>();
  /** The newest node seen at each path, for lookups that can re-check a held fid instead of walking. */
  #byPath = new Map<string, Node>();
  #nextIno = 2;
  #cached = new Set<Node>();
  #handles = new Map<number, Handle>();
  #nextFh = 1;

  constructor(readonly link: HiveLink, readonly options: HiveFsOptions) {
    this.negativeTimeout = options.cacheSeconds;
    const root: Node = {
      ino: 1,
      path: [],
      key: "",
      isDir: true,
      appendOnly: false,
      nlookup: 1,
      fid: -1,
      epoch: -1,
      busy: 0,
    };
    this.#nodes.set(1, root);
  }

  /** Open handles (files and directories) right now. */
  get openHandles(): number {
    return this.#handles.size;
  }

  // ---- FsOps -----------------------------------------------------------------------------------

  lookup(parentIno: number, name: string): Promise<Entry | null> {
    const parent = this.#node(parentIno);
    if (!parent.isDir) throw new FsError(ENOTDIR);
    if (name === "." || name === ".." || name.includes("/") || name === "") throw new FsError(EINVAL);
    const path = [...parent.path, name];
    return this.#call(async (s) => {
      // A node the kernel still holds with a live fid: one Tgetattr re-checks it (the hive revokes the
      // fids of a removed node, EBADF, so a vanished worker falls through to a fresh walk).
      const held = this.#byPath.get(path.join("/"));
      if (held && held.fid >= 0 && held.epoch === s.epoch && held.busy === 0) {
        const attr = await s.client.getattr(held.fid).catch(() => null);
        if (attr && keyOf(path, attr.qid.path) === held.key) {
          held.nlookup++;
          return {
            attr: await this.#stat(s, held, attr),
            attrTimeout: this.options.cacheSeconds,
            entryTimeout: this.options.cacheSeconds,
          };
        }
        if (!attr) this.#dropFid(held);
      }
      let fid: number;
      try {
        fid = await this.#walk(s, path);
      } catch (e) {
        if (e instanceof NineError && e.errno === ENOENT) return null;
        throw e;
      }
      let attr: Attr;
      try {
        attr = await s.client.getattr(fid);
      } catch (e) {
        s.client.clunk(fid).catch(() => {});
        throw e;
      }
      const node = this.#adopt(s, path, attr, fid);
      node.nlookup++;
      return {
        attr: await this.#stat(s, node, attr),
        attrTimeout: this.options.cacheSeconds,
        entryTimeout: this.options.cacheSeconds,
      };
    });
  }

  forget(ino: number, nlookup: number): void {
    const node = this.#nodes.get(ino);
    if (!node || ino === 1) return;
    node.nlookup -= nlookup;
    if (node.nlookup > 0) return;
    this.#nodes.delete(ino);
    if (this.#byKey.get(node.key) === node) this.#byKey.delete(node.key);
    if (this.#byPath.get(node.path.join("/")) === node) this.#byPath.delete(node.path.join("/"));
    this.#dropFid(node);
  }

  getattr(ino: number): Promise<StatFields> {
    const node = this.#node(ino);
    return this.#call((s) =>
      this.#withFid(s, node, async (fid) => this.#stat(s, node, await s.client.getattr(fid)))
    );
  }

  setattr(ino: number, toSet: number, size: number): Promise<StatFields> {
    const node = this.#node(ino);
    if (toSet !== SET_ATTR.SIZE) throw new FsError(EPERM); // modes, owners and times are the hive's
    if (node.appendOnly) throw new FsError(EPERM); // an append-only file is never cut
    return this.#call((s) =>
      this.#withFid(s, node, async (fid) => {
        await s.client.truncate(fid, size);
        return this.#stat(s, node, await s.client.getattr(fid));
      })
    );
  }

  open(ino: number, flags: number): Promise<{ fh: number; bits: number }> {
    const node = this.#node(ino);
    const acc = flags & O_ACCMODE;
    // `>` on an append-only or control file is an append: O_TRUNC is dropped, O_APPEND implied.
    const nineFlags = node.appendOnly && acc !== O_RDONLY
      ? acc | O_APPEND
      : acc | (flags & (O_APPEND | O_TRUNC));
    return this.#call(async (s) => {
      const fid = await this.#openFid(s, node, nineFlags);
      const fh = this.#nextFh++;
      this.#handles.set(fh, { node, flags: nineFlags, fid, epoch: s.epoch, entries: null });
      const bits = FI_DIRECT_IO | (node.appendOnly && acc !== O_RDONLY ? FI_NONSEEKABLE : 0);
      return { fh, bits };
    });
  }

  read(fh: number, size: number, offset: number): Promise<Uint8Array> {
    const h = this.#handle(fh);
    return this.#call(async (s) => {
      const fid = await this.#handleFid(s, h);
      try {
        return await this.#readAt(s, fid, size, offset);
      } catch (e) {
        if (!(e instanceof NineError && e.errno === EINVAL)) throw e;
        // A ring (log, telemetry, trace) refuses offsets it has overwritten. Offsets stay the hive's
        // absolute ones (so sizes grow and tail -f follows); the lost prefix reads as empty lines.
        const start = await this.#ringStart(s, fid, offset);
        if (start <= offset) throw e;
        const gap = Math.min(size, start - offset);
        const out = new Uint8Array(size);
        out.fill(10, 0, gap);
        const rest = gap < size ? await this.#readAt(s, fid, size - gap, start) : new Uint8Array(0);
        out.set(rest, gap);
        return out.subarray(0, gap + rest.length);
      }
    });
  }

  /** `size` bytes at `offset` as pipelined Treads of at most ioChunk; short at end of file. */
  async #readAt(s: Session, fid: number, size: number, offset: number): Promise<Uint8Array> {
    const chunk = s.client.ioChunk;
    const reads: Promise<Uint8Array>[] = [];
    for (let at = 0; at < size; at += chunk) {
      reads.push(s.client.read(fid, offset + at, Math.min(chunk, size - at)));
    }
    const parts = await Promise.all(reads);
    const out = new Uint8Array(size);
    let n = 0;
    for (const p of parts) {
      out.set(p, n);
      n += p.length;
      if (p.length < chunk) break; // end of file (or of what the hive holds now)
    }
    return out.subarray(0, n);
  }

  /** The oldest offset a ring still holds, above `refused`: a binary search with 1-byte reads. */
  async #ringStart(s: Session, fid: number, refused: number): Promise<number> {
    let lo = refused;
    let hi = (await s.client.getattr(fid)).size;
    if (hi <= lo) return lo;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const held = await s.client.read(fid, mid, 1).then(() => true, (e) => {
        if (e instanceof NineError && e.errno === EINVAL) return false;
        throw e;
      });
      if (held) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  write(fh: number, data: Uint8Array, offset: number): Promise<number> {
    const h = this.#handle(fh);
    return this.#call(async (s) => {
      const fid = await this.#handleFid(s, h);
      const chunk = s.client.ioChunk;
      let done = 0;
      // One Twrite per chunk, in order: a control file takes each write as one message.
      while (done < data.length) {
        const n = await s.client.write(fid, offset + done, data.subarray(done, done + chunk));
        if (n <= 0) break;
        done += n;
      }
      return done;
    });
  }

  release(fh: number): Promise<void> {
    const h = this.#handles.get(fh);
    this.#handles.delete(fh);
    if (h && h.epoch === this.link.epoch) {
      return this.link.session().then((s) => s.client.clunk(h.fid)).catch(() => {});
    }
    return Promise.resolve();
  }

  opendir(ino: number): Promise<number> {
    const node = this.#node(ino);
    if (!node.isDir) throw new FsError(ENOTDIR);
    return this.#call(async (s) => {
      const fid = await this.#openFid(s, node, O_RDONLY);
      const fh = this.#nextFh++;
      this.#handles.set(fh, { node, flags: O_RDONLY, fid, epoch: s.epoch, entries: null });
      return fh;
    });
  }

  readdir(fh: number, offset: number): Promise<DirItem[]> {
    const h = this.#handle(fh);
    if (h.entries !== null && offset > 0) return Promise.resolve(h.entries.slice(offset));
    return this.#call(async (s) => {
      const fid = await this.#handleFid(s, h);
      const ents = await s.client.readdirAll(fid);
      const items: DirItem[] = [
        { name: ".", ino: h.node.ino, mode: S_IFDIR },
        { name: "..", ino: 1, mode: S_IFDIR },
      ];
      for (const e of ents) {
        if (e.name === "." || e.name === "..") continue;
        const known = this.#byKey.get(keyOf([...h.node.path, e.name], e.qid.path));
        // Names not looked up yet get a number outside the mount's own range; `stat` gives the real one.
        items.push({
          name: e.name,
          ino: known?.ino ?? 0x100000000 + e.qid.path,
          mode: e.qid.type & QTDIR ? S_IFDIR : S_IFREG,
        });
      }
      h.entries = items;
      return items.slice(offset);
    });
  }

  releasedir(fh: number): Promise<void> {
    return this.release(fh);
  }

  // ---- inodes and fids -------------------------------------------------------------------------

  #node(ino: number): Node {
    const n = this.#nodes.get(ino);
    if (!n) throw new FsError(ENOENT);
    return n;
  }

  #handle(fh: number): Handle {
    const h = this.#handles.get(fh);
    if (!h) throw new FsError(EBADF);
    return h;
  }

  /** The node for (path, qid): the known one, or a new inode. Takes ownership of `fid`. */
  #adopt(s: Session, path: string[], attr: Attr, fid: number): Node {
    const key = keyOf(path, attr.qid.path);
    let node = this.#byKey.get(key);
    if (!node) {
      node = {
        ino: this.#nextIno++,
        path,
        key,
        isDir: (attr.qid.type & QTDIR) !== 0,
        appendOnly: (attr.qid.type & QTAPPEND) !== 0 ||
          ((attr.mode & 0o444) === 0 && (attr.mode & 0o222) !== 0),
        nlookup: 0,
        fid: -1,
        epoch: -1,
        busy: 0,
      };
      this.#nodes.set(node.ino, node);
      this.#byKey.set(key, node);
    }
    this.#byPath.set(path.join("/"), node);
    if (node.fid >= 0 && node.epoch === s.epoch) {
      s.client.clunk(fid).catch(() => {});
    } else {
      this.#cacheFid(s, node, fid);
    }
    return node;
  }

  #cacheFid(s: Session, node: Node, fid: number): void {
    node.fid = fid;
    node.epoch = s.epoch;
    this.#cached.delete(node);
    this.#cached.add(node);
    if (this.#cached.size <= FID_CACHE) return;
    for (const old of this.#cached) {
      if (this.#cached.size <= FID_CACHE) break;
      if (old.busy === 0 && old !== node) this.#dropFid(old);
    }
  }

  #dropFid(node: Node): void {
    this.#cached.delete(node);
    if (node.ino === 1 || node.fid < 0) return;
    const fid = node.fid;
    const epoch = node.epoch;
    node.fid = -1;
    node.epoch = -1;
    if (epoch === this.link.epoch) this.link.session().then((s) => s.client.clunk(fid)).catch(() => {});
  }

  /** Runs `fn` with the node's walked fid (walking it first if needed); a dead fid means the file is gone. */
  async #withFid<T>(s: Session, node: Node, fn: (fid: number) => Promise<T>): Promise<T> {
    let fid: number;
    if (node.ino === 1) fid = s.root;
    else if (node.fid >= 0 && node.epoch === s.epoch) {
      fid = node.fid;
      this.#cached.delete(node);
      this.#cached.add(node);
    } else {
      fid = await this.#walk(s, node.path);
      this.#cacheFid(s, node, fid);
    }
    node.busy++;
    try {
      return await fn(fid);
    } catch (e) {
      // The hive revoked the node (worker killed): its fids answer EBADF. The path is gone.
      if (e instanceof NineError && e.errno === EBADF && node.ino !== 1) {
        this.#dropFid(node);
        throw new FsError(ENOENT);
      }
      throw e;
    } finally {
      node.busy--;
    }
  }

  /** A fresh fid opened with `flags`, cloned from the node's walked fid. */
  #openFid(s: Session, node: Node, flags: number): Promise<number> {
    return this.#withFid(s, node, async (from) => {
      const fid = s.client.newFid();
      await s.client.walk(from, fid, []);
      try {
        await s.client.open(fid, flags);
      } catch (e) {
        s.client.clunk(fid).catch(() => {});
        throw e;
      }
      return fid;
    });
  }

  /** The handle's open fid, opened again by path after a re-attach. */
  async #handleFid(s: Session, h: Handle): Promise<number> {
    if (h.epoch === s.epoch) return h.fid;
    h.fid = await this.#openFid(s, h.node, h.flags & ~O_TRUNC);
    h.epoch = s.epoch;
    return h.fid;
  }

  /** Walks from the root, at most WALK_MAX names per Twalk; returns a new fid. */
  async #walk(s: Session, path: string[]): Promise<number> {
    const fid = s.client.newFid();
    await s.client.walk(s.root, fid, path.slice(0, WALK_MAX));
    try {
      for (let i = WALK_MAX; i < path.length; i += WALK_MAX) {
        await s.client.walk(fid, fid, path.slice(i, i + WALK_MAX));
      }
    } catch (e) {
      s.client.clunk(fid).catch(() => {});
      throw e;
    }
    return fid;
  }

  async #stat(s: Session, node: Node, attr: Attr): Promise<StatFields> {
    let size = attr.size;
    const readOnlyFile = !node.isDir && (attr.mode & 0o222) === 0 && (attr.mode & 0o444) !== 0;
    if (readOnlyFile && size === 0) size = await this.#measure(s, node);
    return {
      ino: node.ino,
      mode: attr.mode,
      nlink: node.isDir ? 2 : 1,
      uid: this.options.uid,
      gid: this.options.gid,
      size,
      mtimeSec: attr.mtimeSec,
    };
  }

  /** Size of a file the hive generates on read (it reports 0): read it once. 0 when the role may not read it. */
  async #measure(s: Session, node: Node): Promise<number> {
    let fid: number;
    try {
      fid = await this.#openFid(s, node, O_RDONLY);
    } catch (e) {
      if (e instanceof NineError) return 0;
      throw e;
    }
    try {
      return (await s.client.readAll(fid, 4)).length;
    } finally {
      s.client.clunk(fid).catch(() => {});
    }
  }

  /** Runs one operation on the live session; 9P refusals keep their errno, a lost link is EIO. */
  async #call<T>(fn: (s: Session) => Promise<T>): Promise<T> {
    let s: Session;
    try {
      s = await this.link.session();
    } catch (e) {
      if (e instanceof NineError) throw new FsError(e.errno, e.message);
      throw new FsError(EIO, (e as Error).message);
    }
    try {
      return await fn(s);
    } catch (e) {
      if (e instanceof FsError) throw e;
      if (e instanceof NineError) throw new FsError(e.errno, e.message);
      if (e instanceof TransportError) this.link.invalidate(s);
      throw new FsError(EIO, (e as Error).message);
    }
  }
}

function keyOf(path: string[], qidPath: number): string {
  return `${path.join("/")}#${qidPath}`;
}
