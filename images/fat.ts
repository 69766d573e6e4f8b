/**
 * A deterministic FAT16 image writer for EFI System Partitions (a "superfloppy": the volume starts
 * at sector 0, no partition table, which is how QEMU's UEFI firmware boots a raw `-drive`).
 *
 * Same files in → same bytes out: entries sorted by name, every timestamp 1980-01-01 00:00:00, the
 * volume id derived from the content, clusters allocated in a fixed walk order. Names that are
 * not plain upper-case 8.3 get VFAT long-name entries with a generated `NAME~N.EXT` short alias.
 */
import { createHash } from "node:crypto";

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

export interface FatOptions {
  /** Volume label, up to 11 upper-case characters (default "COHESIX"). */
  label?: string;
  /** Image size in bytes (multiple of 512). Default: content plus slack, rounded up to 1 MiB, at least 4 MiB. */
  sizeBytes?: number;
}

const SECTOR = 512;
const ROOT_ENTRIES = 512;
const RESERVED_SECTORS = 1;
const NUM_FATS = 2;
const DIR_ENTRY = 32;
const ATTR_READ_ONLY = 0x01;
const ATTR_VOLUME_ID = 0x08;
const ATTR_DIRECTORY = 0x10;
const ATTR_ARCHIVE = 0x20;
const ATTR_LFN = 0x0f;
/** 1980-01-01: year 0 (bits 15-9), month 1 (bits 8-5), day 1 (bits 4-0). Time 00:00:00 is 0. */
const FIXED_DATE = (0 << 9) | (1 << 5) | 1;
const MIN_CLUSTERS = 4085 + 16; // FAT16 starts at 4085 clusters; stay clear of the boundary
const MAX_CLUSTERS = 65525 - 16;

interface Node {
  name: string;
  data?: Uint8Array; // files only
  children?: Map<string, Node>; // directories only
  cluster: number;
  clusters: number;
}

function buildTree(files: FatFile[]): Node {
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

function sortedChildren(dir: Node): Node[] {
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

function ascii11(base: string, ext: string): Uint8Array {
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

function shortEntry(name11: Uint8Array, attr: number, cluster: number, size: number): Uint8Array {
  const e = new Uint8Array(DIR_ENTRY);
  const v = new DataView(e.buffer);
  e.set(name11, 0); //                 offset 0:  DIR_Name (8 + 3, space padded)
  e[11] = attr; //                     offset 11: DIR_Attr
  e[12] = 0; //                        offset 12: DIR_NTRes
  e[13] = 0; //                        offset 13: DIR_CrtTimeTenth
  v.setUint16(14, 0, true); //         offset 14: DIR_CrtTime
  v.setUint16(16, FIXED_DATE, true); // offset 16: DIR_CrtDate
  v.setUint16(18, FIXED_DATE, true); // offset 18: DIR_LstAccDate
  v.setUint16(20, 0, true); //         offset 20: DIR_FstClusHI (0 on FAT16)
  v.setUint16(22, 0, true); //         offset 22: DIR_WrtTime
  v.setUint16(24, FIXED_DATE, true); // offset 24: DIR_WrtDate
  v.setUint16(26, cluster, true); //   offset 26: DIR_FstClusLO
  v.setUint32(28, size, true); //      offset 28: DIR_FileSize (0 for directories)
  return e;
}

/** The directory's entries (without "." and ".."), in on-disk order. */
function directoryEntries(dir: Node): Uint8Array[] {
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

function countDirEntries(dir: Node): number {
  let n = 0;
  for (const k of dir.children!.values()) {
    n += 1 + (plainShortName(k.name) ? 0 : Math.ceil((k.name.length + 1) / 13));
  }
  return n;
}

// ---- geometry ----

interface Geometry {
  totalSectors: number;
  sectorsPerCluster: number;
  fatSectors: number;
  rootSectors: number;
  firstDataSector: number;
  clusters: number;
}

function geometry(totalSectors: number, sectorsPerCluster: number): Geometry {
  const rootSectors = (ROOT_ENTRIES * DIR_ENTRY) / SECTOR;
  let fatSectors = 1;
  for (;;) {
    const data = totalSectors - RESERVED_SECTORS - NUM_FATS * fatSectors - rootSectors;
    const clusters = Math.floor(data / sectorsPerCluster);
    const need = Math.ceil(((clusters + 2) * 2) / SECTOR);
    if (need <= fatSectors) {
      return {
        totalSectors,
        sectorsPerCluster,
        fatSectors,
        rootSectors,
        firstDataSector: RESERVED_SECTORS + NUM_FATS * fatSectors + rootSectors,
        clusters,
      };
    }
    fatSectors = need;
  }
}

function clustersFor(bytes: number, clusterBytes: number): number {
  return Math.ceil(bytes / clusterBytes);
}

function neededClusters(root: Node, clusterBytes: number): number {
  let n = 0;
  const walk = (dir: Node) => {
    for (const k of dir.children!.values()) {
      if (k.children) {
        n += Math.max(1, clustersFor((countDirEntries(k) + 2) * DIR_ENTRY, clusterBytes));
        walk(k);
      } else n += clustersFor(k.data!.length, clusterBytes);
    }
  };
  walk(root);
  return n;
}

function chooseGeometry(root: Node, sizeBytes: number | undefined): Geometry {
  for (let spc = 1; spc <= 64; spc *= 2) {
    const need = neededClusters(root, spc * SECTOR);
    let total: number;
    if (sizeBytes !== undefined) {
      if (sizeBytes % SECTOR !== 0) {
        throw new FatError(`Cannot make a FAT volume of ${sizeBytes} bytes: use a multiple of 512`);
      }
      total = sizeBytes / SECTOR;
    } else {
      const raw = need * spc * SECTOR * 1.1 + 1024 * 1024;
      total = (Math.max(4, Math.ceil(raw / (1024 * 1024))) * 1024 * 1024) / SECTOR;
    }
    const g = geometry(total, spc);
    if (g.clusters > MAX_CLUSTERS) continue; // clusters too small for this size: try bigger ones
    if (g.clusters < MIN_CLUSTERS) {
      throw new FatError(
        `Cannot make a FAT16 volume of ${
          total * SECTOR
        } bytes: it needs at least ${MIN_CLUSTERS} clusters (use 4 MiB or more)`,
      );
    }
    if (need > g.clusters) {
      throw new FatError(
        `Cannot fit ${need * spc * SECTOR} bytes of files in a ${
          total * SECTOR
        }-byte FAT volume: give a larger size`,
      );
    }
    return g;
  }
  throw new FatError(
    `Cannot make a FAT16 volume that large: FAT16 holds at most ${MAX_CLUSTERS} clusters of 32 KiB`,
  );
}

// ---- writer ----

/** Writes a FAT16 volume image holding `files` (directories are implied by their paths). */
export function writeFat(files: FatFile[], opts: FatOptions = {}): Uint8Array {
  const label = (opts.label ?? "COHESIX").toUpperCase();
  if (!/^[A-Z0-9 _-]{1,11}$/.test(label)) {
    throw new FatError(`Cannot use volume label '${label}': up to 11 of A-Z 0-9 _ - space`);
  }
  const root = buildTree(files);
  if (countDirEntries(root) + 1 > ROOT_ENTRIES) {
    throw new FatError(`Cannot put more than ${ROOT_ENTRIES - 1} root entries on FAT16`);
  }
  const g = chooseGeometry(root, opts.sizeBytes);
  const clusterBytes = g.sectorsPerCluster * SECTOR;
  const img = new Uint8Array(g.totalSectors * SECTOR);
  const fat = new Uint16Array(g.clusters + 2);
  fat[0] = 0xff00 | 0xf8; // media byte in the low 8 bits
  fat[1] = 0xffff; // clean-shutdown and no-error bits set
  let next = 2;
  const alloc = (count: number): number => {
    if (count === 0) return 0;
    const first = next;
    for (let i = 0; i < count; i++) fat[first + i] = i === count - 1 ? 0xffff : first + i + 1;
    next += count;
    return first;
  };
  // Allocation order: pre-order walk, each directory's clusters before its children's.
  const allocate = (dir: Node) => {
    for (const k of sortedChildren(dir)) {
      if (k.children) {
        k.clusters = Math.max(1, clustersFor((countDirEntries(k) + 2) * DIR_ENTRY, clusterBytes));
        k.cluster = alloc(k.clusters);
        allocate(k);
      } else {
        k.clusters = clustersFor(k.data!.length, clusterBytes);
        k.cluster = alloc(k.clusters);
      }
    }
  };
  allocate(root);
  const clusterOffset = (c: number) => (g.firstDataSector + (c - 2) * g.sectorsPerCluster) * SECTOR;
  const writeDir = (dir: Node, parent: Node | undefined) => {
    const entries: Uint8Array[] = [];
    if (parent) {
      entries.push(shortEntry(ascii11(".", ""), ATTR_DIRECTORY, dir.cluster, 0));
      entries.push(shortEntry(ascii11("..", ""), ATTR_DIRECTORY, parent === root ? 0 : parent.cluster, 0));
    } else {
      entries.push(shortEntry(new Uint8Array(11).map((_, i) => labelByte(label, i)), ATTR_VOLUME_ID, 0, 0));
    }
    entries.push(...directoryEntries(dir));
    const base = parent ? clusterOffset(dir.cluster) : (RESERVED_SECTORS + NUM_FATS * g.fatSectors) * SECTOR;
    entries.forEach((e, i) => img.set(e, base + i * DIR_ENTRY));
    for (const k of sortedChildren(dir)) {
      if (k.children) writeDir(k, dir);
      else if (k.clusters > 0) img.set(k.data!, clusterOffset(k.cluster)); // clusters are contiguous
    }
  };
  writeDir(root, undefined);
  // Boot sector and BPB.
  const bs = img.subarray(0, SECTOR);
  const v = new DataView(img.buffer, 0, SECTOR);
  bs.set([0xeb, 0x3c, 0x90], 0); //                     offset 0:  BS_jmpBoot (to the halt loop at 62)
  bs.set(new TextEncoder().encode("COHESIX "), 3); //   offset 3:  BS_OEMName
  v.setUint16(11, SECTOR, true); //                     offset 11: BPB_BytsPerSec
  bs[13] = g.sectorsPerCluster; //                      offset 13: BPB_SecPerClus
  v.setUint16(14, RESERVED_SECTORS, true); //           offset 14: BPB_RsvdSecCnt
  bs[16] = NUM_FATS; //                                 offset 16: BPB_NumFATs
  v.setUint16(17, ROOT_ENTRIES, true); //               offset 17: BPB_RootEntCnt
  v.setUint16(19, g.totalSectors < 0x10000 ? g.totalSectors : 0, true); // offset 19: BPB_TotSec16
  bs[21] = 0xf8; //                                     offset 21: BPB_Media (fixed disk)
  v.setUint16(22, g.fatSectors, true); //               offset 22: BPB_FATSz16
  v.setUint16(24, 32, true); //                         offset 24: BPB_SecPerTrk (nominal)
  v.setUint16(26, 64, true); //                         offset 26: BPB_NumHeads (nominal)
  v.setUint32(28, 0, true); //                          offset 28: BPB_HiddSec (no partition table)
  v.setUint32(32, g.totalSectors < 0x10000 ? 0 : g.totalSectors, true); // offset 32: BPB_TotSec32
  bs[36] = 0x80; //                                     offset 36: BS_DrvNum
  bs[37] = 0; //                                        offset 37: BS_Reserved1
  bs[38] = 0x29; //                                     offset 38: BS_BootSig (the next three fields are valid)
  // offset 39: BS_VolID, filled below from the content hash
  for (let i = 0; i < 11; i++) bs[43 + i] = labelByte(label, i); // offset 43: BS_VolLab
  bs.set(new TextEncoder().encode("FAT16   "), 54); //  offset 54: BS_FilSysType
  bs.set([0xeb, 0xfe], 62); //                          offset 62: boot code: halt (this volume is not BIOS-bootable)
  bs[510] = 0x55; //                                    offset 510: signature
  bs[511] = 0xaa;
  const fatBytes = new Uint8Array(fat.length * 2);
  const fv = new DataView(fatBytes.buffer);
  fat.forEach((entry, i) => fv.setUint16(i * 2, entry, true)); // FAT16 entries are little-endian
  for (let i = 0; i < NUM_FATS; i++) img.set(fatBytes, (RESERVED_SECTORS + i * g.fatSectors) * SECTOR);
  // Volume id: the first 4 bytes of the sha256 of the image with the id field zero.
  const digest = createHash("sha256").update(img).digest();
  bs.set(digest.subarray(0, 4), 39);
  return img;
}

function labelByte(label: string, i: number): number {
  return i < label.length ? label.charCodeAt(i) : 0x20;
}

export { ATTR_DIRECTORY, ATTR_LFN, ATTR_READ_ONLY, ATTR_VOLUME_ID };
