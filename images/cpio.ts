/**
 * SVR4 "newc" CPIO archives (magic 070701, no checksum), written deterministically.
 *
 * A record is metadata plus content. The writer emits no host metadata: uid/gid 0, mtime 0, device
 * numbers 0, nlink 1 for files and 2 + subdirectories for directories, inode numbers counted from 0
 * in archive order. Those are the fields `cpio --reproducible --owner=+0:+0 -H newc` writes, so for the
 * same names, modes and contents the bytes are GNU cpio's: each header plus name padded to 4 bytes,
 * each body to 4 bytes, the `TRAILER!!!` record, then zeros up to a 512-byte block. seL4's elfloader
 * recipe appends one member per cpio run, which restarts the count: `inodes: "zero"` reproduces that.
 */

export const CPIO_MAGIC = "070701";
export const CPIO_TRAILER = "TRAILER!!!";
/** GNU cpio pads the whole archive to its I/O block size (512 bytes). */
export const CPIO_BLOCK = 512;
const HEADER_SIZE = 110;

export const MODE_FILE = 0o100000;
export const MODE_DIR = 0o040000;

export interface CpioRecord {
  /** Path inside the archive, relative, '/'-separated, no leading '/' or '..'. */
  name: string;
  /** Permission bits (e.g. 0o755); the file type comes from `kind`. */
  perm: number;
  kind: "file" | "dir";
  /** File content; empty for directories. */
  data: Uint8Array;
}

/** Cannot-style error for archive input that no writer can represent. */
export class CpioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CpioError";
  }
}

export function fileRecord(name: string, data: Uint8Array, perm = 0o644): CpioRecord {
  return { name, perm, kind: "file", data };
}

export function dirRecord(name: string, perm = 0o755): CpioRecord {
  return { name, perm, kind: "dir", data: new Uint8Array(0) };
}

/**
 * Normalises records for a bit-identical archive: names sorted bytewise, every parent directory
 * present exactly once before its children. Use it for filesystem-like archives; do not use it on
 * the elfloader payload, whose member order is fixed (kernel.elf, kernel.dtb, rootserver).
 */
export function makeReproducible(records: CpioRecord[]): CpioRecord[] {
  const byName = new Map<string, CpioRecord>();
  for (const r of records) {
    checkName(r.name);
    if (byName.has(r.name)) throw new CpioError(`Cannot archive '${r.name}': the name appears twice`);
    byName.set(r.name, r);
  }
  for (const r of records) {
    const parts = r.name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const existing = byName.get(dir);
      if (existing && existing.kind !== "dir") {
        throw new CpioError(`Cannot archive '${r.name}': its parent '${dir}' is a file`);
      }
      if (!existing) byName.set(dir, dirRecord(dir));
    }
  }
  return [...byName.values()].sort((a, b) => compareBytes(a.name, b.name));
}

function compareBytes(a: string, b: string): number {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) if (ea[i] !== eb[i]) return ea[i] - eb[i];
  return ea.length - eb.length;
}

function checkName(name: string): void {
  if (
    name === "" || name.startsWith("/") || name.split("/").some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new CpioError(
      `Cannot archive '${name}': names must be relative paths without empty, '.' or '..' parts`,
    );
  }
  if (name === CPIO_TRAILER) {
    throw new CpioError(`Cannot archive '${name}': that name marks the end of an archive`);
  }
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function hex8(v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new CpioError(`Cannot encode ${v} in a newc header field`);
  }
  return v.toString(16).toUpperCase().padStart(8, "0");
}

/** Size in bytes of the archive `writeCpio(records)` would return. */
export function cpioSize(records: CpioRecord[]): number {
  let n = 0;
  for (const r of records) n += entrySize(r.name, r.data.length);
  n += entrySize(CPIO_TRAILER, 0);
  return Math.ceil(n / CPIO_BLOCK) * CPIO_BLOCK;
}

function entrySize(name: string, dataLength: number): number {
  return align4(HEADER_SIZE + new TextEncoder().encode(name).length + 1) + align4(dataLength);
}

export interface CpioWriteOptions {
  /** "sequential" (default): 0, 1, 2, … as one GNU cpio run; "zero": all 0, as one cpio --append per member. */
  inodes?: "sequential" | "zero";
}

/** Writes the records, in the given order, as one newc archive. */
export function writeCpio(records: CpioRecord[], opts: CpioWriteOptions = {}): Uint8Array {
  for (const r of records) checkName(r.name);
  const subdirs = new Map<string, number>();
  for (const r of records) {
    const slash = r.name.lastIndexOf("/");
    if (r.kind === "dir" && slash > 0) {
      subdirs.set(r.name.slice(0, slash), (subdirs.get(r.name.slice(0, slash)) ?? 0) + 1);
    }
  }
  const out = new Uint8Array(cpioSize(records));
  let pos = 0;
  records.forEach((r, i) => {
    const type = r.kind === "dir" ? MODE_DIR : MODE_FILE;
    if (r.kind === "dir" && r.data.length !== 0) {
      throw new CpioError(`Cannot archive directory '${r.name}' with content`);
    }
    const nlink = r.kind === "dir" ? 2 + (subdirs.get(r.name) ?? 0) : 1;
    pos = writeEntry(
      out,
      pos,
      opts.inodes === "zero" ? 0 : i,
      r.name,
      type + (r.perm & 0o7777),
      nlink,
      r.data,
    );
  });
  writeEntry(out, pos, 0, CPIO_TRAILER, 0, 1, new Uint8Array(0));
  return out;
}

function writeEntry(
  out: Uint8Array,
  pos: number,
  ino: number,
  name: string,
  mode: number,
  nlink: number,
  data: Uint8Array,
): number {
  const nameBytes = new TextEncoder().encode(name);
  // Header: 6-byte magic, then thirteen 8-digit uppercase hex fields.
  const fields = [
    ino, //          offset 6:   c_ino (archive order, never the host's)
    mode, //         offset 14:  c_mode (type + permission bits)
    0, //            offset 22:  c_uid
    0, //            offset 30:  c_gid
    nlink, //        offset 38:  c_nlink
    0, //            offset 46:  c_mtime (epoch)
    data.length, //  offset 54:  c_filesize
    0, //            offset 62:  c_devmajor
    0, //            offset 70:  c_devminor
    0, //            offset 78:  c_rdevmajor
    0, //            offset 86:  c_rdevminor
    nameBytes.length + 1, // offset 94: c_namesize (with the NUL)
    0, //            offset 102: c_check (always 0 in newc)
  ];
  const header = CPIO_MAGIC + fields.map(hex8).join("");
  for (let i = 0; i < HEADER_SIZE; i++) out[pos + i] = header.charCodeAt(i);
  out.set(nameBytes, pos + HEADER_SIZE); // the NUL and the padding are already zero
  pos = align4(pos + HEADER_SIZE + nameBytes.length + 1);
  out.set(data, pos);
  return align4(pos + data.length);
}

export interface CpioEntry {
  name: string;
  mode: number;
  /** Byte offset of the entry's header in the archive. */
  offset: number;
  data: Uint8Array;
}

/**
 * Reads a newc archive up to its trailer. Errors name the offset of the bad header, so a
 * truncated or foreign archive is reported, never half-read.
 */
export function readCpio(bytes: Uint8Array, start = 0): CpioEntry[] {
  const entries: CpioEntry[] = [];
  let pos = start;
  const dec = new TextDecoder();
  for (;;) {
    if (pos + HEADER_SIZE > bytes.length) {
      throw new CpioError(`Cannot read CPIO: truncated header at offset ${pos}`);
    }
    const header = dec.decode(bytes.subarray(pos, pos + HEADER_SIZE));
    if (!header.startsWith(CPIO_MAGIC)) {
      throw new CpioError(`Cannot read CPIO: no newc magic at offset ${pos}`);
    }
    const field = (i: number) => {
      const text = header.slice(6 + i * 8, 14 + i * 8);
      if (!/^[0-9A-Fa-f]{8}$/.test(text)) {
        throw new CpioError(`Cannot read CPIO: bad header field at offset ${pos + 6 + i * 8}`);
      }
      return parseInt(text, 16);
    };
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameEnd = pos + HEADER_SIZE + nameSize;
    if (nameSize < 1 || nameEnd > bytes.length || bytes[nameEnd - 1] !== 0) {
      throw new CpioError(`Cannot read CPIO: bad name at offset ${pos}`);
    }
    const name = dec.decode(bytes.subarray(pos + HEADER_SIZE, nameEnd - 1));
    const dataStart = align4(nameEnd);
    if (dataStart + size > bytes.length) {
      throw new CpioError(`Cannot read CPIO: '${name}' at offset ${pos} runs past the end`);
    }
    if (name === CPIO_TRAILER) return entries;
    entries.push({ name, mode, offset: pos, data: bytes.subarray(dataStart, dataStart + size) });
    pos = align4(dataStart + size);
  }
}
