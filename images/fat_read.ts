/**
 * A read-only FAT12/16/32 reader for superfloppy images (volume at sector 0), used by
 * `cohesix status --offline` to read an ESP without mounting it or calling mtools.
 */
import { FatError } from "./fat.ts";

export interface FatEntry {
  /** Full path from the root, '/'-separated, long name when present. */
  path: string;
  isDir: boolean;
  size: number;
  cluster: number;
}

export class FatVolume {
  readonly bytesPerSector: number;
  readonly sectorsPerCluster: number;
  readonly type: 12 | 16 | 32;
  private readonly fatOffset: number;
  private readonly rootOffset: number;
  private readonly rootEntries: number;
  private readonly rootCluster: number;
  private readonly dataOffset: number;
  private readonly clusters: number;

  constructor(private readonly img: Uint8Array) {
    if (img.length < 512 || img[510] !== 0x55 || img[511] !== 0xaa) {
      throw new FatError(
        "Cannot read FAT volume: no boot sector signature at offset 510 (is this an ESP image?)",
      );
    }
    const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
    this.bytesPerSector = v.getUint16(11, true);
    this.sectorsPerCluster = img[13];
    const reserved = v.getUint16(14, true);
    const fats = img[16];
    this.rootEntries = v.getUint16(17, true);
    const total = v.getUint16(19, true) || v.getUint32(32, true);
    const fatSize = v.getUint16(22, true) || v.getUint32(36, true);
    if (
      ![512, 1024, 2048, 4096].includes(this.bytesPerSector) || this.sectorsPerCluster === 0 || fats === 0 ||
      fatSize === 0
    ) {
      throw new FatError("Cannot read FAT volume: the BIOS parameter block is invalid");
    }
    if (total * this.bytesPerSector > img.length) {
      throw new FatError(
        `Cannot read FAT volume: it claims ${
          total * this.bytesPerSector
        } bytes but the file has ${img.length}`,
      );
    }
    const rootSectors = Math.ceil((this.rootEntries * 32) / this.bytesPerSector);
    this.fatOffset = reserved * this.bytesPerSector;
    this.rootOffset = (reserved + fats * fatSize) * this.bytesPerSector;
    this.dataOffset = this.rootOffset + rootSectors * this.bytesPerSector;
    this.clusters = Math.floor((total - reserved - fats * fatSize - rootSectors) / this.sectorsPerCluster);
    this.type = this.clusters < 4085 ? 12 : this.clusters < 65525 ? 16 : 32;
    this.rootCluster = this.type === 32 ? v.getUint32(44, true) : 0;
  }

  private next(cluster: number): number {
    const v = new DataView(this.img.buffer, this.img.byteOffset, this.img.byteLength);
    if (this.type === 16) return v.getUint16(this.fatOffset + cluster * 2, true);
    if (this.type === 32) return v.getUint32(this.fatOffset + cluster * 4, true) & 0x0fffffff;
    const pair = v.getUint16(this.fatOffset + Math.floor(cluster * 1.5), true);
    return cluster % 2 === 0 ? pair & 0xfff : pair >> 4;
  }

  private isEnd(cluster: number): boolean {
    return cluster >= (this.type === 12 ? 0xff8 : this.type === 16 ? 0xfff8 : 0x0ffffff8);
  }

  private chain(first: number, bytes?: number): Uint8Array {
    const size = this.bytesPerSector * this.sectorsPerCluster;
    const parts: Uint8Array[] = [];
    let c = first;
    let seen = 0;
    while (c >= 2 && !this.isEnd(c)) {
      if (c >= this.clusters + 2 || ++seen > this.clusters) {
        throw new FatError(`Cannot read FAT volume: broken cluster chain at ${c}`);
      }
      const off = this.dataOffset + (c - 2) * size;
      parts.push(this.img.subarray(off, off + size));
      if (bytes !== undefined && parts.length * size >= bytes) break;
      c = this.next(c);
    }
    const out = new Uint8Array(parts.length * size);
    parts.forEach((p, i) => out.set(p, i * size));
    return bytes === undefined ? out : out.subarray(0, bytes);
  }

  private dirBytes(cluster: number): Uint8Array {
    if (cluster === 0 && this.type !== 32) {
      return this.img.subarray(this.rootOffset, this.rootOffset + this.rootEntries * 32);
    }
    return this.chain(cluster === 0 ? this.rootCluster : cluster);
  }

  /** Entries of one directory (no "." / ".." / volume label). */
  list(dirPath = ""): FatEntry[] {
    const cluster = dirPath === "" ? 0 : this.lookup(dirPath, true).cluster;
    const raw = this.dirBytes(cluster);
    const out: FatEntry[] = [];
    let lfn: string[] = [];
    for (let off = 0; off + 32 <= raw.length; off += 32) {
      const first = raw[off];
      if (first === 0) break;
      if (first === 0xe5) {
        lfn = [];
        continue;
      }
      const attr = raw[off + 11];
      const v = new DataView(raw.buffer, raw.byteOffset + off, 32);
      if (attr === 0x0f) {
        const units = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30].map((o) => v.getUint16(o, true));
        const end = units.findIndex((u) => u === 0 || u === 0xffff);
        lfn[(first & 0x1f) - 1] = String.fromCharCode(...(end < 0 ? units : units.slice(0, end)));
        continue;
      }
      if (attr & 0x08) {
        lfn = [];
        continue;
      }
      const short = new TextDecoder().decode(raw.subarray(off, off + 11));
      // DIR_NTRes bits 3 and 4: the base / extension is shown in lower case (Windows NT, mtools).
      const base = raw[off + 12] & 0x08
        ? short.slice(0, 8).trimEnd().toLowerCase()
        : short.slice(0, 8).trimEnd();
      const ext = raw[off + 12] & 0x10 ? short.slice(8).trimEnd().toLowerCase() : short.slice(8).trimEnd();
      if (base === "." || base === "..") {
        lfn = [];
        continue;
      }
      const name = lfn.length > 0 ? lfn.join("") : ext ? `${base}.${ext}` : base;
      lfn = [];
      const hi = this.type === 32 ? v.getUint16(20, true) * 65536 : 0;
      out.push({
        path: dirPath === "" ? name : `${dirPath}/${name}`,
        isDir: (attr & 0x10) !== 0,
        size: v.getUint32(28, true),
        cluster: hi + v.getUint16(26, true),
      });
    }
    return out;
  }

  /** Finds an entry by path, comparing names case-insensitively as FAT does. */
  lookup(path: string, wantDir = false): FatEntry {
    const parts = path.split("/").filter((p) => p !== "");
    let dir = "";
    let found: FatEntry | undefined;
    for (const part of parts) {
      found = this.list(dir).find((e) =>
        e.path.slice(dir === "" ? 0 : dir.length + 1).toUpperCase() === part.toUpperCase()
      );
      if (!found) throw new FatError(`Cannot find '${path}' on the FAT volume`);
      dir = found.path;
    }
    if (!found || found.isDir !== wantDir) {
      throw new FatError(`Cannot find ${wantDir ? "directory" : "file"} '${path}' on the FAT volume`);
    }
    return found;
  }

  /** Reads a whole file. */
  read(path: string): Uint8Array {
    const e = this.lookup(path);
    return e.size === 0 ? new Uint8Array(0) : this.chain(e.cluster, e.size);
  }

  /** Every file and directory, depth first. */
  walk(dirPath = "", seen = new Set<number>()): FatEntry[] {
    const out: FatEntry[] = [];
    for (const e of this.list(dirPath)) {
      out.push(e);
      if (!e.isDir) continue;
      // A directory whose cluster was already walked (a loop on a damaged volume) is listed, not entered.
      if (seen.has(e.cluster) || e.cluster < 2 || seen.size >= 4096) {
        throw new FatError(
          `Cannot read FAT volume: directory '${e.path}' loops back or the tree is too deep`,
        );
      }
      seen.add(e.cluster);
      out.push(...this.walk(e.path, seen));
    }
    return out;
  }
}
