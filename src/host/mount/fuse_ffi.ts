/**
 * libfuse3's low-level API (Debian `libfuse3-3`, ABI of 3.14 on x86_64/aarch64 LP64) through Deno
 * FFI: the symbols we call, the structs we fill (`struct stat`, `fuse_entry_param`,
 * `fuse_file_info`, `statvfs`, `fuse_buf`) as byte layouts, and the `fuse_lowlevel_ops` table
 * of callbacks. libfuse speaks the kernel's FUSE protocol; this file only moves bytes between it
 * and JS. Callbacks run on the JS thread, inside `fuse_session_process_buf`; replies
 * (`fuse_reply_*`) may be sent later from the event loop.
 */

export const LIBFUSE = "libfuse3.so.3";

const symbols = {
  fuse_session_new: { parameters: ["buffer", "buffer", "usize", "pointer"], result: "pointer" },
  fuse_session_mount: { parameters: ["pointer", "buffer"], result: "i32" },
  fuse_session_fd: { parameters: ["pointer"], result: "i32" },
  fuse_session_receive_buf: { parameters: ["pointer", "buffer"], result: "i32" },
  fuse_session_process_buf: { parameters: ["pointer", "buffer"], result: "void" },
  fuse_session_exited: { parameters: ["pointer"], result: "i32" },
  fuse_session_unmount: { parameters: ["pointer"], result: "void" },
  fuse_session_destroy: { parameters: ["pointer"], result: "void" },
  fuse_reply_err: { parameters: ["pointer", "i32"], result: "i32" },
  fuse_reply_none: { parameters: ["pointer"], result: "void" },
  fuse_reply_entry: { parameters: ["pointer", "buffer"], result: "i32" },
  fuse_reply_attr: { parameters: ["pointer", "buffer", "f64"], result: "i32" },
  fuse_reply_open: { parameters: ["pointer", "buffer"], result: "i32" },
  fuse_reply_write: { parameters: ["pointer", "usize"], result: "i32" },
  fuse_reply_buf: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  fuse_reply_statfs: { parameters: ["pointer", "buffer"], result: "i32" },
  fuse_add_direntry: {
    parameters: ["pointer", "buffer", "usize", "buffer", "buffer", "i64"],
    result: "usize",
  },
} as const;

const libcSymbols = {
  /** Waits for the FUSE fd off the JS thread (a blocking pool thread), so the event loop keeps running. */
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  /** The same call, inline, with timeout 0: is another request already queued? */
  poll_now: { name: "poll", parameters: ["buffer", "u64", "i32"], result: "i32" },
} as const;

export type FuseLib = Deno.DynamicLibrary<typeof symbols>["symbols"];
export type LibC = Deno.DynamicLibrary<typeof libcSymbols>["symbols"];

let loaded: { fuse: FuseLib; libc: LibC } | null = null;

/** Opens libfuse3 and libc once; throws a message naming the Debian package when libfuse is absent. */
export function loadFuse(): { fuse: FuseLib; libc: LibC } {
  if (loaded) return loaded;
  let fuse: FuseLib;
  try {
    fuse = Deno.dlopen(LIBFUSE, symbols).symbols;
  } catch (e) {
    throw new Error(
      `Cannot load ${LIBFUSE} (${
        (e as Error).message.split("\n")[0]
      }); install it with 'apt-get install libfuse3-3 fuse3'`,
    );
  }
  const libc = Deno.dlopen("libc.so.6", libcSymbols).symbols;
  loaded = { fuse, libc };
  return loaded;
}

/** Slots of `struct fuse_lowlevel_ops` (fuse_lowlevel.h, 3.14), in declaration order. */
export const OP = {
  init: 0,
  destroy: 1,
  lookup: 2,
  forget: 3,
  getattr: 4,
  setattr: 5,
  readlink: 6,
  mknod: 7,
  mkdir: 8,
  unlink: 9,
  rmdir: 10,
  symlink: 11,
  rename: 12,
  link: 13,
  open: 14,
  read: 15,
  write: 16,
  flush: 17,
  release: 18,
  fsync: 19,
  opendir: 20,
  readdir: 21,
  releasedir: 22,
  fsyncdir: 23,
  statfs: 24,
  setxattr: 25,
  getxattr: 26,
  listxattr: 27,
  removexattr: 28,
  access: 29,
  create: 30,
  getlk: 31,
  setlk: 32,
  bmap: 33,
  ioctl: 34,
  poll: 35,
  write_buf: 36,
  retrieve_reply: 37,
  forget_multi: 38,
  flock: 39,
  fallocate: 40,
  readdirplus: 41,
  copy_file_range: 42,
  lseek: 43,
} as const;
export const OPS_COUNT = 44;

/** `to_set` bits of setattr (fuse_lowlevel.h FUSE_SET_ATTR_*). */
export const SET_ATTR = {
  MODE: 1,
  UID: 2,
  GID: 4,
  SIZE: 8,
  ATIME: 16,
  MTIME: 32,
  ATIME_NOW: 128,
  MTIME_NOW: 256,
  CTIME: 1024,
};

export interface StatFields {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  mtimeSec: number;
}

/** `struct stat` (x86_64 and aarch64 glibc layouts differ; both are handled). */
const ARM = Deno.build.arch === "aarch64";
export const STAT_SIZE = ARM ? 128 : 144;

export function writeStat(view: DataView, base: number, s: StatFields): void {
  for (let i = 0; i < STAT_SIZE; i += 8) view.setBigUint64(base + i, 0n, true);
  view.setBigUint64(base + 8, BigInt(s.ino), true);
  if (ARM) {
    // aarch64 (asm-generic): dev, ino, mode u32, nlink u32, uid, gid, rdev, pad, size, blksize i32, pad, blocks, times.
    view.setUint32(base + 16, s.mode, true);
    view.setUint32(base + 20, s.nlink, true);
    view.setUint32(base + 24, s.uid, true);
    view.setUint32(base + 28, s.gid, true);
    view.setBigInt64(base + 48, BigInt(s.size), true);
    view.setInt32(base + 56, 4096, true);
    view.setBigInt64(base + 64, BigInt(Math.ceil(s.size / 512)), true);
    for (const t of [72, 88, 104]) view.setBigInt64(base + t, BigInt(s.mtimeSec), true);
  } else {
    // x86_64: dev, ino, nlink u64, mode u32, uid, gid, pad, rdev, size, blksize, blocks, atim, mtim, ctim.
    view.setBigUint64(base + 16, BigInt(s.nlink), true);
    view.setUint32(base + 24, s.mode, true);
    view.setUint32(base + 28, s.uid, true);
    view.setUint32(base + 32, s.gid, true);
    view.setBigInt64(base + 48, BigInt(s.size), true);
    view.setBigInt64(base + 56, 4096n, true);
    view.setBigInt64(base + 64, BigInt(Math.ceil(s.size / 512)), true);
    for (const t of [72, 88, 104]) view.setBigInt64(base + t, BigInt(s.mtimeSec), true);
  }
}

/** `struct fuse_entry_param`: ino, generation, attr (struct stat), attr_timeout, entry_timeout. */
export const ENTRY_SIZE = 16 + STAT_SIZE + 16;
export function entryParam(s: StatFields, attrTimeout: number, entryTimeout: number): Uint8Array {
  const b = new Uint8Array(ENTRY_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(s.ino), true);
  writeStat(v, 16, s);
  v.setFloat64(16 + STAT_SIZE, attrTimeout, true);
  v.setFloat64(16 + STAT_SIZE + 8, entryTimeout, true);
  return b;
}

/** A negative entry (ino 0) the kernel may cache for `timeout` seconds. */
export function negativeEntry(timeout: number): Uint8Array {
  const b = new Uint8Array(ENTRY_SIZE);
  new DataView(b.buffer).setFloat64(16 + STAT_SIZE + 8, timeout, true);
  return b;
}

export function statBuffer(s: StatFields): Uint8Array {
  const b = new Uint8Array(STAT_SIZE);
  writeStat(new DataView(b.buffer), 0, s);
  return b;
}

/** `struct fuse_file_info`: flags i32 @0, bitfields @4, fh u64 @16. */
export const FILE_INFO_SIZE = 40;
export const FI_DIRECT_IO = 1 << 1;
export const FI_KEEP_CACHE = 1 << 2;
export const FI_NONSEEKABLE = 1 << 4;

export function readFileInfo(p: Deno.PointerValue): { flags: number; fh: number } {
  if (p === null) return { flags: 0, fh: 0 };
  const v = new Deno.UnsafePointerView(p);
  return { flags: v.getInt32(0), fh: Number(v.getBigUint64(16)) };
}

/** A fuse_file_info for fuse_reply_open: the caller's flags, our handle and the I/O bits. */
export function fileInfoReply(flags: number, fh: number, bits: number): Uint8Array {
  const b = new Uint8Array(FILE_INFO_SIZE);
  const v = new DataView(b.buffer);
  v.setInt32(0, flags, true);
  v.setUint32(4, bits, true);
  v.setBigUint64(16, BigInt(fh), true);
  return b;
}

/** `struct statvfs` (glibc LP64): 11 unsigned longs then spare ints. */
export function statvfsBuffer(bsize: number, namemax: number): Uint8Array {
  const b = new Uint8Array(112);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(bsize), true); // f_bsize
  v.setBigUint64(8, BigInt(bsize), true); // f_frsize
  v.setBigUint64(80, BigInt(namemax), true); // f_namemax
  return b;
}

/** `struct fuse_args` {argc, argv, allocated}, with the argv strings kept alive by the caller. */
export function fuseArgs(argv: string[]): { args: Uint8Array; keep: Uint8Array[] } {
  const enc = new TextEncoder();
  const keep = argv.map((a) => enc.encode(a + "\0"));
  const vec = new BigUint64Array(argv.length + 1);
  keep.forEach((s, i) => (vec[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s)))));
  const vecBytes = new Uint8Array(vec.buffer);
  keep.push(vecBytes);
  const args = new Uint8Array(24);
  const v = new DataView(args.buffer);
  v.setInt32(0, argv.length, true);
  v.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(vecBytes))), true);
  return { args, keep };
}

export function cstr(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}

/** Reads a NUL-terminated name passed by libfuse (valid only during the callback). */
export function readName(p: Deno.PointerValue): string {
  return p === null ? "" : new Deno.UnsafePointerView(p).getCString();
}

/** fuse_ino_t / off_t / size_t arrive as number or bigint; inode numbers and offsets we use fit a double. */
export function num(v: number | bigint): number {
  return typeof v === "bigint" ? Number(v) : v;
}
