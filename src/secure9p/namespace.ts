/**
 * The provider contract between the Secure9P server core (and the guest console) and a namespace.
 *
 * Everything is synchronous and allocation-free on the hot path (Porffor has no GC):
 * - nodes are small integer handles chosen by the namespace (they may encode a generation so a
 *   removed node is detected: operations on it return -EBADF, the `Closed` kind);
 * - results are numbers: `>= 0` success, `< 0` a negated errno from `errors.ts`;
 * - structured results are written into caller-owned, reused objects (`NodeStat`, `DirEntry`);
 * - names are passed as byte ranges of the caller's frame buffer, never as fresh strings;
 * - u64 offsets travel as two u32 halves (lo, hi): Porffor cannot do 64-bit integers.
 *
 * A namespace session is opened per attach (it carries the role and its private mount table).
 */

/** Qid type bits (9P). */
export const QTDIR = 0x80;
export const QTAPPEND = 0x40;
export const QTFILE = 0x00;

/** Linux open flags carried by Tlopen / Tlcreate (only the bits namespaces care about). */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_TRUNC = 0x200;
export const O_APPEND = 0x400;

/** Stat of one node, filled in place by `Namespace.stat`. */
export class NodeStat {
  qidType = 0;
  qidVersion = 0;
  /** Qid path, low and high 32 bits. */
  qidPathLo = 0;
  qidPathHi = 0;
  /** Unix mode bits including the file type (S_IFDIR 0o040000 / S_IFREG 0o100000). */
  mode = 0;
  /** Size in bytes, low and high 32 bits. */
  sizeLo = 0;
  sizeHi = 0;
  /** Modification time in seconds of the injected clock. */
  mtimeSec = 0;
  nlink = 1;
}

/** One directory entry, filled in place by `Namespace.readdir`. */
export class DirEntry {
  qidType = 0;
  qidVersion = 0;
  qidPathLo = 0;
  qidPathHi = 0;
  /** Entry name: `name` holds the string kept by the namespace (allocated once, when the node was made). */
  name = "";
}

export interface Namespace {
  /**
   * Opens a namespace session for a principal. `role` is a role name (`queen`, `worker-heartbeat`, …),
   * `ticket` the base64url ticket or "" where the manifest allows ticketless roles.
   * Returns a session handle >= 0 or -errno (EPERM for a refused role or ticket).
   */
  attach(role: string, ticket: string): number;
  /** Closes a namespace session and everything it holds. */
  detach(session: number): void;
  /** The root node of a session's view (after its bind/mount table). */
  root(session: number): number;
  /** Walks one element. `name` bytes are [off, off+len) of `buf`. Returns the child node or -errno. */
  walk(session: number, node: number, buf: Uint8Array, off: number, len: number): number;
  /** Checks and records an open with Linux flags. Returns 0 or -errno (EISDIR, EROFS, EPERM …). */
  open(session: number, node: number, flags: number): number;
  /** Reads up to `count` bytes at offset (lo, hi) into dst[dstOff..]. Returns bytes read or -errno. */
  read(session: number, node: number, offLo: number, offHi: number, dst: Uint8Array, dstOff: number, count: number): number;
  /** Writes `count` bytes from src[srcOff..] at offset (lo, hi). Returns bytes written or -errno. */
  write(session: number, node: number, offLo: number, offHi: number, src: Uint8Array, srcOff: number, count: number): number;
  /** Fills `out` with the `index`-th entry of a directory. Returns 1 if filled, 0 at the end, or -errno. */
  readdir(session: number, node: number, index: number, out: DirEntry): number;
  /** Fills `out` with the node's attributes. Returns 0 or -errno. */
  stat(session: number, node: number, out: NodeStat): number;
  /** Releases an opened or walked node reference (fid clunk). */
  clunk(session: number, node: number): void;

  // Optional operations. A namespace that leaves one out answers the 9P message with EOPNOTSUPP.
  /**
   * Another reference to a node, for a fid clone (Twalk with no names). Returns the handle to hold
   * (usually `node`) or -errno. Without it the clone shares the handle and is `clunk`ed on its own.
   * The server calls `clunk` once per handle it got from `root`, `walk`, `create`, `mkdir` or `dup`.
   */
  dup?(session: number, node: number): number;
  /**
   * Creates and opens a file named buf[off..off+len) in directory `dir` with Linux `flags` and unix
   * permission bits `mode` (Tlcreate). Returns the new, opened node (the fid now holds it) or -errno.
   */
  create?(session: number, dir: number, buf: Uint8Array, off: number, len: number, flags: number, mode: number): number;
  /** Makes a directory (Tmkdir). Returns the new node, which the server releases with `clunk`, or -errno. */
  mkdir?(session: number, dir: number, buf: Uint8Array, off: number, len: number, mode: number): number;
  /** Removes the node's file (Tremove, Tunlinkat). The caller still `clunk`s its reference. 0 or -errno. */
  remove?(session: number, node: number): number;
  /** Sets the size (Tsetattr with only the size bit). 0 or -errno. */
  truncate?(session: number, node: number, sizeLo: number, sizeHi: number): number;
}
