/**
 * A deterministic FAT16 / FAT32 image writer for EFI System Partitions (a "superfloppy": the volume
 * starts at sector 0, no partition table, which is how QEMU's UEFI firmware boots a raw `-drive`).
 *
 * Same files in → same bytes out: entries sorted by name, fixed timestamps (fat_names.ts), the
 * volume id derived from the content, clusters allocated contiguously in a fixed walk order.
 * FAT16 (the default) suits removable media and QEMU; FAT32 is what UEFI expects on fixed disks.
 */
import { createHash } from "node:crypto";
import {
  ascii11,
  ATTR_DIRECTORY,
  ATTR_VOLUME_ID,
  buildTree,
  countDirEntries,
  DIR_ENTRY,
  directoryEntries,
  FatError,
  type FatFile,
  labelByte,
  type Node,
  shortEntry,
  sortedChildren,
} from "./fat_names.ts";

export {
  ATTR_DIRECTORY,
  ATTR_LFN,
  ATTR_READ_ONLY,
  ATTR_VOLUME_ID,
  FatError,
  type FatFile,
} from "./fat_names.ts";

export interface FatOptions {
  /** Volume label, up to 11 upper-case characters (default "COHESIX"). */
  label?: string;
  /** 16 (default) or 32. */
  fat?: 16 | 32;
  /**
   * Image size in bytes (multiple of 512). Default: content plus slack rounded up to 1 MiB, at
   * least 4 MiB for FAT16 and 34 MiB for FAT32 (FAT32 needs 65,525 clusters).
   */
  sizeBytes?: number;
}

const SECTOR = 512;
const NUM_FATS = 2;
const MiB = 1024 * 1024;

interface FatType {
  bits: 16 | 32;
  reservedSectors: number;
  /** Fixed root directory entries (FAT16); 0 on FAT32, whose root is a cluster chain. */
  rootEntries: number;
  entryBytes: number;
  /** Cluster-count range of this FAT type, kept 16 clear of the boundaries. */
  minClusters: number;
  maxClusters: number;
  minMiB: number;
  endOfChain: number;
  fat0: number;
  fat1: number;
}

const FAT16: FatType = {
  bits: 16,
  reservedSectors: 1,
  rootEntries: 512,
  entryBytes: 2,
  minClusters: 4085 + 16,
  maxClusters: 65525 - 16,
  minMiB: 4,
  endOfChain: 0xffff,
  fat0: 0xfff8, // media byte 0xF8 in the low 8 bits
  fat1: 0xffff, // clean-shutdown and no-error bits set
};

const FAT32: FatType = {
  bits: 32,
  reservedSectors: 32, // boot sector, FSInfo (1), backup boot sector (6) and FSInfo (7)
  rootEntries: 0,
  entryBytes: 4,
  minClusters: 65525 + 16,
  maxClusters: 0x0ffffff5 - 16,
  minMiB: 34,
  endOfChain: 0x0fffffff,
  fat0: 0x0ffffff8,
  fat1: 0x0fffffff,
};

interface Geometry {
  totalSectors: number;
  sectorsPerCluster: number;
  fatSectors: number;
  rootSectors: number;
  firstDataSector: number;
  clusters: number;
}

function geometry(t: FatType, totalSectors: number, sectorsPerCluster: number): Geometry {
  const rootSectors = (t.rootEntries * DIR_ENTRY) / SECTOR;
  let fatSectors = 1;
  for (;;) {
    const data = totalSectors - t.reservedSectors - NUM_FATS * fatSectors - rootSectors;
    const clusters = Math.floor(data / sectorsPerCluster);
    const need = Math.ceil(((clusters + 2) * t.entryBytes) / SECTOR);
    if (need <= fatSectors) {
      const firstDataSector = t.reservedSectors + NUM_FATS * fatSectors + rootSectors;
      return { totalSectors, sectorsPerCluster, fatSectors, rootSectors, firstDataSector, clusters };
    }
    fatSectors = need;
  }
}

function clustersFor(bytes: number, clusterBytes: number): number {
  return Math.ceil(bytes / clusterBytes);
}

/** Clusters of a directory: its entries, plus "." and ".." (or the label, for a FAT32 root). */
function dirClusters(dir: Node, clusterBytes: number): number {
  return Math.max(1, clustersFor((countDirEntries(dir) + 2) * DIR_ENTRY, clusterBytes));
}

function neededClusters(t: FatType, root: Node, clusterBytes: number): number {
  let n = t.bits === 32 ? dirClusters(root, clusterBytes) : 0;
  const walk = (dir: Node) => {
    for (const k of dir.children!.values()) {
      if (k.children) {
        n += dirClusters(k, clusterBytes);
        walk(k);
      } else n += clustersFor(k.data!.length, clusterBytes);
    }
  };
  walk(root);
  return n;
}

function chooseGeometry(t: FatType, root: Node, sizeBytes: number | undefined): Geometry {
  for (let spc = 1; spc <= 64; spc *= 2) {
    const need = neededClusters(t, root, spc * SECTOR);
    let total: number;
    if (sizeBytes !== undefined) {
      if (sizeBytes % SECTOR !== 0) {
        throw new FatError(`Cannot make a FAT volume of ${sizeBytes} bytes: use a multiple of 512`);
      }
      total = sizeBytes / SECTOR;
    } else {
      const raw = need * spc * SECTOR * 1.1 + MiB;
      total = (Math.max(t.minMiB, Math.ceil(raw / MiB)) * MiB) / SECTOR;
    }
    const g = geometry(t, total, spc);
    if (g.clusters > t.maxClusters) continue; // clusters too small for this size: try bigger ones
    if (g.clusters < t.minClusters) {
      throw new FatError(
        `Cannot make a FAT${t.bits} volume of ${total * SECTOR} bytes: it needs at least ${t.minClusters} ` +
          `clusters (use ${t.minMiB} MiB or more)`,
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
  throw new FatError(`Cannot make a FAT${t.bits} volume that large with clusters up to 32 KiB`);
}

/** Writes a FAT16 (default) or FAT32 volume image holding `files` (directories are implied by their paths). */
export function writeFat(files: FatFile[], opts: FatOptions = {}): Uint8Array {
  const t = opts.fat === 32 ? FAT32 : FAT16;
  const label = (opts.label ?? "COHESIX").toUpperCase();
  if (!/^[A-Z0-9 _-]{1,11}$/.test(label)) {
    throw new FatError(`Cannot use volume label '${label}': up to 11 of A-Z 0-9 _ - space`);
  }
  const root = buildTree(files);
  if (t.bits === 16 && countDirEntries(root) + 1 > t.rootEntries) {
    throw new FatError(`Cannot put more than ${t.rootEntries - 1} root entries on FAT16 (use FAT32)`);
  }
  const g = chooseGeometry(t, root, opts.sizeBytes);
  const clusterBytes = g.sectorsPerCluster * SECTOR;
  const img = new Uint8Array(g.totalSectors * SECTOR);
  const fat = new Array<number>(g.clusters + 2).fill(0);
  fat[0] = t.fat0;
  fat[1] = t.fat1;
  let next = 2;
  const alloc = (count: number): number => {
    if (count === 0) return 0;
    const first = next;
    for (let i = 0; i < count; i++) fat[first + i] = i === count - 1 ? t.endOfChain : first + i + 1;
    next += count;
    return first;
  };
  // Allocation order: the FAT32 root first, then a pre-order walk, each directory before its children.
  if (t.bits === 32) {
    root.clusters = dirClusters(root, clusterBytes);
    root.cluster = alloc(root.clusters);
  }
  const allocate = (dir: Node) => {
    for (const k of sortedChildren(dir)) {
      k.clusters = k.children ? dirClusters(k, clusterBytes) : clustersFor(k.data!.length, clusterBytes);
      k.cluster = alloc(k.clusters);
      if (k.children) allocate(k);
    }
  };
  allocate(root);
  const clusterOffset = (c: number) => (g.firstDataSector + (c - 2) * g.sectorsPerCluster) * SECTOR;
  const writeDir = (dir: Node, parent: Node | undefined) => {
    const entries: Uint8Array[] = [];
    if (parent) {
      entries.push(shortEntry(ascii11(".", ""), ATTR_DIRECTORY, dir.cluster, 0));
      // ".." of a first-level directory is cluster 0, on FAT32 too.
      entries.push(shortEntry(ascii11("..", ""), ATTR_DIRECTORY, parent === root ? 0 : parent.cluster, 0));
    } else {
      entries.push(shortEntry(new Uint8Array(11).map((_, i) => labelByte(label, i)), ATTR_VOLUME_ID, 0, 0));
    }
    entries.push(...directoryEntries(dir));
    const base = parent || t.bits === 32
      ? clusterOffset(dir.cluster)
      : (t.reservedSectors + NUM_FATS * g.fatSectors) * SECTOR;
    entries.forEach((e, i) => img.set(e, base + i * DIR_ENTRY));
    for (const k of sortedChildren(dir)) {
      if (k.children) writeDir(k, dir);
      else if (k.clusters > 0) img.set(k.data!, clusterOffset(k.cluster)); // clusters are contiguous
    }
  };
  writeDir(root, undefined);

  const fatBytes = new Uint8Array(fat.length * t.entryBytes);
  const fv = new DataView(fatBytes.buffer);
  fat.forEach((
    entry,
    i,
  ) => (t.bits === 16 ? fv.setUint16(i * 2, entry, true) : fv.setUint32(i * 4, entry, true)));
  for (let i = 0; i < NUM_FATS; i++) img.set(fatBytes, (t.reservedSectors + i * g.fatSectors) * SECTOR);

  writeBootSector(img, t, g, label, root.cluster);
  if (t.bits === 32) writeFsInfo(img, g.clusters - (next - 2), next);
  // Volume id: the first 4 bytes of the sha256 of the image with the id field zero.
  const idOffset = t.bits === 16 ? 39 : 67;
  img.set(createHash("sha256").update(img).digest().subarray(0, 4), idOffset);
  if (t.bits === 32) {
    img.copyWithin(6 * SECTOR, 0, SECTOR); // backup boot sector (BPB_BkBootSec = 6)
    img.copyWithin(7 * SECTOR, SECTOR, 2 * SECTOR); // and its FSInfo
  }
  return img;
}

function writeBootSector(img: Uint8Array, t: FatType, g: Geometry, label: string, rootCluster: number): void {
  const bs = img.subarray(0, SECTOR);
  const v = new DataView(img.buffer, 0, SECTOR);
  const small = t.bits === 16 && g.totalSectors < 0x10000;
  // Fields common to FAT16 and FAT32 (offsets 0-35).
  bs.set([0xeb, t.bits === 16 ? 0x3c : 0x58, 0x90], 0); // offset 0:  BS_jmpBoot (to the halt loop)
  bs.set(new TextEncoder().encode("COHESIX "), 3); //   offset 3:  BS_OEMName
  v.setUint16(11, SECTOR, true); //                     offset 11: BPB_BytsPerSec
  bs[13] = g.sectorsPerCluster; //                      offset 13: BPB_SecPerClus
  v.setUint16(14, t.reservedSectors, true); //          offset 14: BPB_RsvdSecCnt
  bs[16] = NUM_FATS; //                                 offset 16: BPB_NumFATs
  v.setUint16(17, t.rootEntries, true); //              offset 17: BPB_RootEntCnt (0 on FAT32)
  v.setUint16(19, small ? g.totalSectors : 0, true); // offset 19: BPB_TotSec16
  bs[21] = 0xf8; //                                     offset 21: BPB_Media (fixed disk)
  v.setUint16(22, t.bits === 16 ? g.fatSectors : 0, true); // offset 22: BPB_FATSz16 (0 on FAT32)
  v.setUint16(24, 32, true); //                         offset 24: BPB_SecPerTrk (nominal)
  v.setUint16(26, 64, true); //                         offset 26: BPB_NumHeads (nominal)
  v.setUint32(28, 0, true); //                          offset 28: BPB_HiddSec (no partition table)
  v.setUint32(32, small ? 0 : g.totalSectors, true); // offset 32: BPB_TotSec32
  let ext = 36; // the extended boot record starts at 36 (FAT16) or 64 (FAT32)
  if (t.bits === 32) {
    v.setUint32(36, g.fatSectors, true); //             offset 36: BPB_FATSz32
    v.setUint16(40, 0, true); //                        offset 40: BPB_ExtFlags (FATs mirrored)
    v.setUint16(42, 0, true); //                        offset 42: BPB_FSVer 0.0
    v.setUint32(44, rootCluster, true); //              offset 44: BPB_RootClus
    v.setUint16(48, 1, true); //                        offset 48: BPB_FSInfo sector
    v.setUint16(50, 6, true); //                        offset 50: BPB_BkBootSec
    ext = 64; //                                        offsets 52-63: BPB_Reserved (zero)
  }
  bs[ext] = 0x80; //                                    +0:  BS_DrvNum
  bs[ext + 1] = 0; //                                   +1:  BS_Reserved1
  bs[ext + 2] = 0x29; //                                +2:  BS_BootSig (the next three fields are valid)
  // +3: BS_VolID, filled by the caller from the content hash
  for (let i = 0; i < 11; i++) bs[ext + 7 + i] = labelByte(label, i); // +7: BS_VolLab
  bs.set(new TextEncoder().encode(t.bits === 16 ? "FAT16   " : "FAT32   "), ext + 18); // +18: BS_FilSysType
  bs.set([0xeb, 0xfe], ext + 26); //                    +26: boot code: halt (this volume is not BIOS-bootable)
  bs[510] = 0x55; //                                    offset 510: signature
  bs[511] = 0xaa;
}

/** The FAT32 FSInfo sector (sector 1): free-cluster count and next free cluster hints. */
function writeFsInfo(img: Uint8Array, freeClusters: number, nextFree: number): void {
  const v = new DataView(img.buffer, SECTOR, SECTOR);
  v.setUint32(0, 0x41615252, true); //   offset 0:   FSI_LeadSig "RRaA"
  v.setUint32(484, 0x61417272, true); // offset 484: FSI_StrucSig "rrAa"
  v.setUint32(488, freeClusters, true); // offset 488: FSI_Free_Count
  v.setUint32(492, nextFree, true); //   offset 492: FSI_Nxt_Free
  v.setUint32(508, 0xaa550000, true); // offset 508: FSI_TrailSig
}
