/**
 * Drives a libfuse low-level session from Deno's event loop. A blocking-pool thread waits in
 * poll(2) on the FUSE fd; the JS thread then receives and dispatches every queued request
 * (`fuse_session_receive_buf` + `fuse_session_process_buf`), whose callbacks start async work and
 * return at once. Replies go out whenever that work settles, so many requests run concurrently
 * over the pipelining 9P client while libfuse stays single-threaded.
 */
import {
  cstr,
  entryParam,
  fileInfoReply,
  fuseArgs,
  type FuseLib,
  type LibC,
  loadFuse,
  negativeEntry,
  num,
  OP,
  OPS_COUNT,
  readFileInfo,
  readName,
  STAT_SIZE,
  statBuffer,
  type StatFields,
  statvfsBuffer,
  writeStat,
} from "./fuse_ffi.ts";

/** A refusal with a Linux errno, answered with fuse_reply_err. */
export class FsError extends Error {
  constructor(readonly errno: number, message = `errno ${errno}`) {
    super(message);
    this.name = "FsError";
  }
}

export const EIO = 5;

export interface Entry {
  attr: StatFields;
  attrTimeout: number;
  entryTimeout: number;
}

export interface DirItem {
  name: string;
  ino: number;
  mode: number;
}

/** What a filesystem implements; every call may reject with FsError (anything else is EIO). */
export interface FsOps {
  /** null: no such entry (a negative reply). */
  lookup(parent: number, name: string): Promise<Entry | null>;
  forget(ino: number, nlookup: number): void;
  getattr(ino: number): Promise<StatFields>;
  setattr(ino: number, toSet: number, size: number): Promise<StatFields>;
  open(ino: number, flags: number): Promise<{ fh: number; bits: number }>;
  read(fh: number, size: number, offset: number): Promise<Uint8Array>;
  write(fh: number, data: Uint8Array, offset: number): Promise<number>;
  release(fh: number): Promise<void>;
  opendir(ino: number): Promise<number>;
  /** Entries from index `offset` on (offset = how many were already returned). */
  readdir(fh: number, offset: number): Promise<DirItem[]>;
  releasedir(fh: number): Promise<void>;
  /** Seconds the kernel may cache a negative lookup (a name that does not exist). */
  readonly negativeTimeout: number;
}

export interface SessionOptions {
  /** Shown as the mount's source in /proc/mounts (`fsname=`). */
  fsName: string;
  /** FUSE subtype: the filesystem type reads `fuse.<subtype>`. */
  subtype: string;
  debug?: boolean;
}

type Ptr = Deno.PointerValue;

const POLL_TIMEOUT_MS = 1000;
/** Requests dispatched per wake-up before the event loop gets a turn (replies, timers, signals). */
const DRAIN_MAX = 64;

export class FuseSession {
  readonly #fuse: FuseLib;
  readonly #libc: LibC;
  readonly #ops: FsOps;
  #se: Ptr = null;
  #buf = new Uint8Array(40); // struct fuse_buf, reused: libfuse keeps its receive buffer in it
  #callbacks: Deno.UnsafeCallback[] = [];
  #keep: Uint8Array[] = [];
  #stopping = false;
  #mounted = false;

  constructor(ops: FsOps, readonly mountpoint: string, readonly options: SessionOptions) {
    const { fuse, libc } = loadFuse();
    this.#fuse = fuse;
    this.#libc = libc;
    this.#ops = ops;
  }

  /** Creates the session and mounts it; throws with libfuse's reason (printed on stderr) on failure. */
  mount(): void {
    const table = new BigUint64Array(OPS_COUNT);
    for (const [slot, def, fn] of this.#handlers()) {
      const cb = new Deno.UnsafeCallback(def, fn as never);
      this.#callbacks.push(cb);
      table[slot] = BigInt(Deno.UnsafePointer.value(cb.pointer));
    }
    const opts = [`fsname=${this.options.fsName}`, `subtype=${this.options.subtype}`].join(",");
    const argv = ["cohesix-mount", "-o", opts];
    if (this.options.debug) argv.push("-d");
    const { args, keep } = fuseArgs(argv);
    const tableBytes = new Uint8Array(table.buffer);
    this.#keep.push(args, tableBytes, ...keep);
    this.#se = this.#fuse.fuse_session_new(args, tableBytes, BigInt(tableBytes.length), null);
    if (this.#se === null) throw new Error("Cannot create the FUSE session (libfuse refused the options)");
    const mp = cstr(this.mountpoint);
    this.#keep.push(mp);
    if (this.#fuse.fuse_session_mount(this.#se, mp) !== 0) {
      this.#fuse.fuse_session_destroy(this.#se);
      this.#se = null;
      throw new Error(`Cannot mount FUSE at ${this.mountpoint} (see libfuse's message above)`);
    }
    this.#mounted = true;
  }

  /**
   * Serves requests until the kernel ends the session (an unmount from anywhere) or `stop()`.
   * Resolves after the session is destroyed.
   */
  async run(): Promise<void> {
    const se = this.#se;
    if (se === null) throw new Error("FuseSession.run before mount");
    const pfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
    const pv = new DataView(pfd.buffer);
    pv.setInt32(0, this.#fuse.fuse_session_fd(se), true);
    pv.setInt16(4, 1, true); // POLLIN
    try {
      while (!this.#stopping && this.#fuse.fuse_session_exited(se) === 0) {
        const ready = await this.#libc.poll(pfd, 1n, POLL_TIMEOUT_MS);
        if (ready <= 0 || this.#stopping) continue;
        let n = 0;
        do {
          const r = this.#fuse.fuse_session_receive_buf(se, this.#buf);
          if (r <= 0) break; // 0: session ended (ENODEV after unmount); -EINTR/-EAGAIN: nothing yet
          this.#fuse.fuse_session_process_buf(se, this.#buf);
          n++;
        } while (
          n < DRAIN_MAX && this.#fuse.fuse_session_exited(se) === 0 && this.#libc.poll_now(pfd, 1n, 0) > 0
        );
      }
    } finally {
      this.#teardown();
    }
  }

  /** Unmounts (lazily, so open files do not keep the mount) and makes `run` return. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#se !== null && this.#mounted) {
      this.#fuse.fuse_session_unmount(this.#se);
      this.#mounted = false;
    }
  }

  #teardown(): void {
    if (this.#se === null) return;
    if (this.#mounted) this.#fuse.fuse_session_unmount(this.#se);
    this.#mounted = false;
    this.#fuse.fuse_session_destroy(this.#se);
    this.#se = null;
    for (const cb of this.#callbacks) cb.close();
    this.#callbacks = [];
  }

  // ---- replies ---------------------------------------------------------------------------------

  #answer<T>(req: Ptr, work: () => Promise<T>, reply: (v: T) => void): void {
    let p: Promise<T>;
    try {
      p = work();
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then((v) => {
      if (this.#se !== null) reply(v);
    }, (e) => {
      if (this.#se === null) return;
      const errno = e instanceof FsError ? e.errno : EIO;
      if (!(e instanceof FsError) && this.options.debug) {
        console.error(`cohesix mount: ${(e as Error).stack}`);
      }
      this.#fuse.fuse_reply_err(req, errno);
    });
  }

  #handlers(): [number, Deno.UnsafeCallbackDefinition, (...a: any[]) => void][] {
    const f = this.#fuse;
    const ops = this.#ops;
    const replyAttr = (req: Ptr) => (s: StatFields) => f.fuse_reply_attr(req, statBuffer(s), 0);
    return [
      [
        OP.lookup,
        { parameters: ["pointer", "u64", "pointer"], result: "void" },
        (req: Ptr, parent, name: Ptr) => {
          const n = readName(name);
          this.#answer(req, () => ops.lookup(num(parent), n), (e) => {
            if (e === null) f.fuse_reply_entry(req, negativeEntry(ops.negativeTimeout));
            else f.fuse_reply_entry(req, entryParam(e.attr, e.attrTimeout, e.entryTimeout));
          });
        },
      ],
      [OP.forget, { parameters: ["pointer", "u64", "u64"], result: "void" }, (req: Ptr, ino, nlookup) => {
        ops.forget(num(ino), num(nlookup));
        f.fuse_reply_none(req);
      }],
      [
        OP.forget_multi,
        { parameters: ["pointer", "usize", "pointer"], result: "void" },
        (req: Ptr, count, list: Ptr) => {
          if (list !== null) {
            const v = new Deno.UnsafePointerView(list);
            for (let i = 0; i < num(count); i++) {
              ops.forget(Number(v.getBigUint64(i * 16)), Number(v.getBigUint64(i * 16 + 8)));
            }
          }
          f.fuse_reply_none(req);
        },
      ],
      [OP.getattr, { parameters: ["pointer", "u64", "pointer"], result: "void" }, (req: Ptr, ino) => {
        this.#answer(req, () => ops.getattr(num(ino)), replyAttr(req));
      }],
      [
        OP.setattr,
        { parameters: ["pointer", "u64", "pointer", "i32", "pointer"], result: "void" },
        (req: Ptr, ino, attr: Ptr, toSet: number) => {
          // struct stat's st_size sits at byte 48 on both LP64 layouts.
          const size = attr === null ? 0 : Number(new Deno.UnsafePointerView(attr).getBigInt64(48));
          this.#answer(req, () => ops.setattr(num(ino), toSet, size), replyAttr(req));
        },
      ],
      [OP.open, { parameters: ["pointer", "u64", "pointer"], result: "void" }, (req: Ptr, ino, fi: Ptr) => {
        const { flags } = readFileInfo(fi);
        this.#answer(
          req,
          () => ops.open(num(ino), flags),
          (o) => f.fuse_reply_open(req, fileInfoReply(flags, o.fh, o.bits)),
        );
      }],
      [
        OP.read,
        { parameters: ["pointer", "u64", "usize", "i64", "pointer"], result: "void" },
        (req: Ptr, _ino, size, off, fi: Ptr) => {
          const { fh } = readFileInfo(fi);
          this.#answer(
            req,
            () => ops.read(fh, num(size), num(off)),
            (data) => f.fuse_reply_buf(req, data, BigInt(data.length)),
          );
        },
      ],
      [
        OP.write,
        { parameters: ["pointer", "u64", "pointer", "usize", "i64", "pointer"], result: "void" },
        (req: Ptr, _ino, buf: Ptr, size, off, fi: Ptr) => {
          const { fh } = readFileInfo(fi);
          const n = num(size);
          // The buffer belongs to libfuse only during this call: copy it out now.
          const data = n === 0 || buf === null
            ? new Uint8Array(0)
            : new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(buf, n).slice(0));
          this.#answer(
            req,
            () => ops.write(fh, data, num(off)),
            (count) => f.fuse_reply_write(req, BigInt(count)),
          );
        },
      ],
      [OP.flush, { parameters: ["pointer", "u64", "pointer"], result: "void" }, (req: Ptr) => {
        f.fuse_reply_err(req, 0);
      }],
      [
        OP.release,
        { parameters: ["pointer", "u64", "pointer"], result: "void" },
        (req: Ptr, _ino, fi: Ptr) => {
          const { fh } = readFileInfo(fi);
          this.#answer(req, () => ops.release(fh), () => f.fuse_reply_err(req, 0));
        },
      ],
      [OP.fsync, { parameters: ["pointer", "u64", "i32", "pointer"], result: "void" }, (req: Ptr) => {
        f.fuse_reply_err(req, 0); // every write is already on the hive when it is answered
      }],
      [
        OP.opendir,
        { parameters: ["pointer", "u64", "pointer"], result: "void" },
        (req: Ptr, ino, fi: Ptr) => {
          const { flags } = readFileInfo(fi);
          this.#answer(
            req,
            () => ops.opendir(num(ino)),
            (fh) => f.fuse_reply_open(req, fileInfoReply(flags, fh, 0)),
          );
        },
      ],
      [
        OP.readdir,
        { parameters: ["pointer", "u64", "usize", "i64", "pointer"], result: "void" },
        (req: Ptr, _ino, size, off, fi: Ptr) => {
          const { fh } = readFileInfo(fi);
          const offset = num(off);
          this.#answer(req, () => ops.readdir(fh, offset), (items) => {
            const cap = num(size);
            const out = new Uint8Array(cap);
            const st = new Uint8Array(STAT_SIZE);
            const sv = new DataView(st.buffer);
            let pos = 0;
            for (let i = 0; i < items.length; i++) {
              const it = items[i];
              writeStat(sv, 0, {
                ino: it.ino,
                mode: it.mode,
                nlink: 1,
                uid: 0,
                gid: 0,
                size: 0,
                mtimeSec: 0,
              });
              const need = num(
                f.fuse_add_direntry(
                  req,
                  out.subarray(pos),
                  BigInt(cap - pos),
                  cstr(it.name),
                  st,
                  BigInt(offset + i + 1),
                ),
              );
              if (need > cap - pos) break;
              pos += need;
            }
            f.fuse_reply_buf(req, out, BigInt(pos));
          });
        },
      ],
      [
        OP.releasedir,
        { parameters: ["pointer", "u64", "pointer"], result: "void" },
        (req: Ptr, _ino, fi: Ptr) => {
          const { fh } = readFileInfo(fi);
          this.#answer(req, () => ops.releasedir(fh), () => f.fuse_reply_err(req, 0));
        },
      ],
      [OP.statfs, { parameters: ["pointer", "u64"], result: "void" }, (req: Ptr) => {
        f.fuse_reply_statfs(req, statvfsBuffer(4096, 255));
      }],
      [
        OP.create,
        { parameters: ["pointer", "u64", "pointer", "u32", "pointer"], result: "void" },
        (req: Ptr) => {
          // The hive's files are made by the hive (spawns, GPU leases), never by name from a client.
          f.fuse_reply_err(req, 1); // EPERM
        },
      ],
      [OP.mknod, { parameters: ["pointer", "u64", "pointer", "u32", "u64"], result: "void" }, (req: Ptr) => {
        f.fuse_reply_err(req, 1);
      }],
      [OP.mkdir, { parameters: ["pointer", "u64", "pointer", "u32"], result: "void" }, (req: Ptr) => {
        f.fuse_reply_err(req, 1);
      }],
      [OP.unlink, { parameters: ["pointer", "u64", "pointer"], result: "void" }, (req: Ptr) => {
        f.fuse_reply_err(req, 1);
      }],
      [OP.rmdir, { parameters: ["pointer", "u64", "pointer"], result: "void" }, (req: Ptr) => {
        f.fuse_reply_err(req, 1);
      }],
      [
        OP.rename,
        { parameters: ["pointer", "u64", "pointer", "u64", "pointer", "u32"], result: "void" },
        (req: Ptr) => {
          f.fuse_reply_err(req, 1);
        },
      ],
    ];
  }
}
