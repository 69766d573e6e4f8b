/**
 * FAT directory content: the file tree, 8.3 short names with generated `NAME~N.EXT` aliases, VFAT
 * long-name entries and 32-byte directory entries, all with fixed timestamps (1980-01-01 00:00:00)
 * and sorted names so the same files give the same bytes. Used by the FAT16/FAT32 layout writer.
 */

export class FatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FatError";
  }
}

export interface FatFile {
  /** '/'-separated path inside the volume, e.g. "EFI/BOOT/BOOTAA64.EFI". */
  path: string;
  data: Uint8Array;
}

export const DIR_ENTRY = 32;
export const ATTR_READ_ONLY = 0x01;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
export const ATTR_LFN = 0x0f;
/** 1980-01-01: year 0 (bits 15-9), month 1 (bits 8-5), day 1 (bits 4-0). Time 00:00:00 is 0. */
const FIXED_DATE = (0 << 9) | (1 << 5) | 1;

export interface Node {
  name: string;
  data?: Uint8Array; // files only
  children?: Map<string, Node>; // directories only
  cluster: number;
  clusters: number;
}

export function buildTree(files: FatFile[]): Node {
  const root: Node = { name: "", children: new Map(), cluster: 0, clusters: 0 };
  for (const f of files) {
    const parts = f.path.split("/");
    // deno-lint-ignore no-control-regex -- control characters are exactly what FAT names may not hold
    if (
      parts.some((p) =>
        p === "" || p === "." || p === ".." || /[\x00-\x1f"*/:<>?\\|]/.test(p) || p.length > 255
      )
    ) {
      throw new FatError(
        `Cannot put '${f.path}' on a FAT volume: use '/'-separated names without control or "*/:<>?\\| characters`,
      );
    }
    let dir = root;
    for (let i = 0; i < parts.length; i++) {
      const key = parts[i].toUpperCase(); // FAT names are case-insensitive
      const last = i === parts.length - 1;
      let node = dir.children!.get(key);
      if (node && (last || !node.children)) {
        throw new FatError(
          `Cannot put '${f.path}' on a FAT volume: '${parts.slice(0, i + 1).join("/")}' is given twice`,
        );
      }
      if (!node) {
        node = last
          ? { name: parts[i], data: f.data, cluster: 0, clusters: 0 }
          : { name: parts[i], children: new Map(), cluster: 0, clusters: 0 };
        dir.children!.set(key, node);
      }
      dir = node;
    }
  }
  return root;
}

export function sortedChildren(dir: Node): Node[] {
  return [...dir.children!.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---- short names and long-name entries ----

const SHORT_OK = /^[A-Z0-9!#$%&'()@^_`{}~-]+$/;

function plainShortName(name: string): Uint8Array | undefined {
  const dot = name.lastIndexOf(".");
  const base = dot < 0 ? name : name.slice(0, dot);
  const ext = dot < 0 ? "" : name.slice(dot + 1);
  if (
    base.length < 1 || base.length > 8 || ext.length > 3 || !SHORT_OK.test(base) ||
    (ext !== "" && !SHORT_OK.test(ext))
  ) {
    return undefined;
  }
  return ascii11(base, ext);
}

export function ascii11(base: string, ext: string): Uint8Array {
  const out = new Uint8Array(11).fill(0x20);
  for (let i = 0; i < base.length; i++) out[i] = base.charCodeAt(i);
  for (let i = 0; i < ext.length; i++) out[8 + i] = ext.charCodeAt(i);
  return out;
}

function aliasName(name: string, taken: Set<string>): Uint8Array {
  const clean = (s: string) => s.toUpperCase().replace(/[^A-Z0-9!#$%&'()@^_`{}~-]/g, "_");
  const dot = name.lastIndexOf(".");
  const base = clean((dot <= 0 ? name : name.slice(0, dot)).replace(/[. ]/g, "")) || "_";
  const ext = dot <= 0 ? "" : clean(name.slice(dot + 1).replace(/ /g, "")).slice(0, 3);
  for (let n = 1; n < 1000000; n++) {
    const tail = `~${n}`;
    const candidate = ascii11(base.slice(0, 8 - tail.length) + tail, ext);
    const key = new TextDecoder().decode(candidate);
    if (!taken.has(key)) {
      taken.add(key);
      return candidate;
    }
  }
  throw new FatError(`Cannot find a short name for '${name}'`);
}

function shortChecksum(short: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + short[i]) & 0xff;
  return sum;
}

/** VFAT long-name entries for `name`, in on-disk order (last part first). */
function longNameEntries(name: string, short: Uint8Array): Uint8Array[] {
  const units: number[] = [];
  for (let i = 0; i < name.length; i++) units.push(name.charCodeAt(i));
  if (units.length % 13 !== 0) units.push(0); // NUL terminator when there is room
  while (units.length % 13 !== 0) units.push(0xffff); // then 0xFFFF padding
  const count = units.length / 13;
  const sum = shortChecksum(short);
  const entries: Uint8Array[] = [];
  for (let seq = count; seq >= 1; seq--) {
    const e = new Uint8Array(DIR_ENTRY);
    const v = new DataView(e.buffer);
    const part = units.slice((seq - 1) * 13, seq * 13);
    e[0] = seq | (seq === count ? 0x40 : 0); //   offset 0:  LDIR_Ord (0x40 marks the last part)
    for (let i = 0; i < 5; i++) v.setUint16(1 + i * 2, part[i], true); // offset 1:  LDIR_Name1 (5 chars)
    e[11] = ATTR_LFN; //                           offset 11: LDIR_Attr
    e[12] = 0; //                                  offset 12: LDIR_Type
    e[13] = sum; //                                offset 13: LDIR_Chksum of the short name
    for (let i = 0; i < 6; i++) v.setUint16(14 + i * 2, part[5 + i], true); // offset 14: LDIR_Name2 (6 chars)
    v.setUint16(26, 0, true); //                   offset 26: LDIR_FstClusLO (always 0)
    for (let i = 0; i < 2; i++) v.setUint16(28 + i * 2, part[11 + i], true); // offset 28: LDIR_Name3 (2 chars)
    entries.push(e);
  }
  return entries;
}

export function shortEntry(name11: Uint8Array, attr: number, cluster: number, size: number): Uint8Array {
  const e = new Uint8Array(DIR_ENTRY);
  const v = new DataView(e.buffer);
  e.set(name11, 0); //                 offset 0:  DIR_Name (8 + 3, space padded)
  e[11] = attr; //                     offset 11: DIR_Attr
  e[12] = 0; //                        offset 12: DIR_NTRes
  e[13] = 0; //                        offset 13: DIR_CrtTimeTenth
  v.setUint16(14, 0, true); //         offset 14: DIR_CrtTime
  v.setUint16(16, FIXED_DATE, true); // offset 16: DIR_CrtDate
  v.setUint16(18, FIXED_DATE, true); // offset 18: DIR_LstAccDate
  v.setUint16(20, Math.floor(cluster / 65536), true); // offset 20: DIR_FstClusHI (0 on FAT16)
  v.setUint16(22, 0, true); //         offset 22: DIR_WrtTime
  v.setUint16(24, FIXED_DATE, true); // offset 24: DIR_WrtDate
  v.setUint16(26, cluster % 65536, true); // offset 26: DIR_FstClusLO
  v.setUint32(28, size, true); //      offset 28: DIR_FileSize (0 for directories)
  return e;
}

/** The directory's entries (without "." and ".."), in on-disk order. */
export function directoryEntries(dir: Node): Uint8Array[] {
  const out: Uint8Array[] = [];
  const taken = new Set<string>();
  const kids = sortedChildren(dir);
  const plain = new Map<Node, Uint8Array | undefined>();
  for (const k of kids) {
    const p = plainShortName(k.name);
    plain.set(k, p);
    if (p) taken.add(new TextDecoder().decode(p));
  }
  for (const k of kids) {
    let short = plain.get(k);
    if (!short) {
      short = aliasName(k.name, taken);
      out.push(...longNameEntries(k.name, short));
    }
    const attr = k.children ? ATTR_DIRECTORY : ATTR_ARCHIVE;
    out.push(shortEntry(short, attr, k.cluster, k.children ? 0 : k.data!.length));
  }
  return out;
}

export function countDirEntries(dir: Node): number {
  let n = 0;
  for (const k of dir.children!.values()) {
    n += 1 + (plainShortName(k.name) ? 0 : Math.ceil((k.name.length + 1) / 13));
  }
  return n;
}

/** Byte `i` of an 11-byte, space-padded volume label. */
export function labelByte(label: string, i: number): number {
  return i < label.length ? label.charCodeAt(i) : 0x20;
}
