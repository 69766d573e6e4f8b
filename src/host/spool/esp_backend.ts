/**
 * Spool backend: a directory on a FAT ESP image, written with the real mtools (mcopy, mren, mdel,
 * mmd) and read with images/fat_read.ts (no mount, no root).
 *
 * Names are FAT 8.3 short names in upper case — `SPOOL.CFG`, `<seq:8 hex>.REC`, `<seq>.NEW` — so
 * no VFAT long-name entries are made and the simplest FAT driver (firmware, a future native block
 * driver without LFN support) can read the store. Eight hex digits hold the record header's u32 seq.
 * mtools writes a file's directory entry when it closes the file, so a pending record becomes
 * visible only as a whole mcopy; a crash between mcopy and mren leaves a `.NEW` (dropped on open),
 * and a crash inside a FAT update leaves a record whose checksum fails (dropped on open).
 * One writer at a time: the store keeps its sequence counter in memory.
 */
import { FatError } from "../../../images/fat.ts";
import { FatVolume } from "../../../images/fat_read.ts";
import type { SpoolBackend, SpoolNaming, SpoolWriter } from "./backend.ts";

const NAME = /^([0-9A-F]{8})\.(REC|NEW)$/i;
const hex8 = (seq: number) => seq.toString(16).toUpperCase().padStart(8, "0");

export const ESP_NAMING: SpoolNaming = {
  config: "SPOOL.CFG",
  configPending: "SPOOL.NEW",
  record: (seq) => `${hex8(seq)}.REC`,
  pending: (seq) => `${hex8(seq)}.NEW`,
  parse(name) {
    const m = NAME.exec(name);
    return m ? { seq: parseInt(m[1], 16), pending: m[2].toUpperCase() === "NEW" } : undefined;
  },
};

/** The mtools programs (Debian package mtools). */
const MTOOLS = {
  copy: "mcopy",
  rename: "mren",
  del: "mdel",
  mkdir: "mmd",
} as const;

export class EspToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EspToolError";
  }
}

async function mtool(prog: string, args: string[], stdin?: Uint8Array): Promise<void> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(prog, {
      args,
      // MTOOLS_SKIP_CHECK: images from images/fat.ts and mkfs.fat pass, but a device's ESP may carry
      // geometry mtools would refuse for floppies; the FAT itself is what matters here.
      env: { MTOOLS_SKIP_CHECK: "1" },
      stdin: stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new EspToolError(
        `Cannot run ${prog}: not installed (run scripts/install-deps.sh, package mtools)`,
      );
    }
    throw err;
  }
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin).catch(() => {});
    await w.close().catch(() => {});
  }
  const out = await child.output();
  if (!out.success) {
    const said = new TextDecoder().decode(out.stderr).trim() || new TextDecoder().decode(out.stdout).trim();
    throw new EspToolError(`${prog} ${args.join(" ")} failed (exit ${out.code}): ${said}`);
  }
}

/** Makes the image's bytes durable before a rename depends on them (mtools does not fsync). */
async function syncImage(image: string): Promise<void> {
  const f = await Deno.open(image, { read: true, write: true });
  try {
    await f.syncData();
  } finally {
    f.close();
  }
}

/** A store at `dir` ('/'-separated, from the volume root) inside the FAT image file `image`. */
export class EspBackend implements SpoolBackend {
  readonly naming = ESP_NAMING;
  readonly dir: string;
  private volume?: FatVolume;

  constructor(readonly image: string, dir: string) {
    this.dir = dir.split("/").filter((p) => p !== "").join("/");
  }

  get where(): string {
    return `${this.image}:/${this.dir}`;
  }

  private target(name: string): string {
    return `::/${this.dir}/${name}`;
  }

  private async vol(): Promise<FatVolume> {
    if (!this.volume) {
      const bytes = await Deno.readFile(this.image).catch((err) => {
        throw new EspToolError(`Cannot read ${this.image}: ${err instanceof Error ? err.message : err}`);
      });
      this.volume = new FatVolume(bytes);
    }
    return this.volume;
  }

  private changed(): void {
    this.volume = undefined;
  }

  async exists(): Promise<boolean> {
    try {
      (await this.vol()).lookup(`${this.dir}/${this.naming.config}`);
      return true;
    } catch (err) {
      if (err instanceof FatError) return false;
      throw err;
    }
  }

  async makeDir(): Promise<void> {
    const parts = this.dir.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join("/");
      try {
        (await this.vol()).lookup(path, true);
      } catch (err) {
        if (!(err instanceof FatError)) throw err;
        this.changed();
        await mtool(MTOOLS.mkdir, ["-i", this.image, `::/${path}`]);
      }
    }
  }

  async list(): Promise<string[]> {
    const v = await this.vol();
    let entries;
    try {
      entries = v.list(this.dir);
    } catch (err) {
      if (err instanceof FatError) return [];
      throw err;
    }
    return entries.filter((e) => !e.isDir).map((e) => e.path.slice(this.dir.length + 1));
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    const v = await this.vol();
    try {
      return v.read(`${this.dir}/${name}`);
    } catch (err) {
      if (err instanceof FatError) return undefined;
      throw err;
    }
  }

  create(name: string): Promise<SpoolWriter> {
    const parts: Uint8Array[] = [];
    let onImage = false;
    const put = async () => {
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      this.changed();
      onImage = true;
      await mtool(MTOOLS.copy, ["-i", this.image, "-D", "o", "-", this.target(name)], all);
      await syncImage(this.image);
    };
    return Promise.resolve({
      write(bytes: Uint8Array) {
        parts.push(bytes.slice());
        return Promise.resolve();
      },
      flush: put,
      close: put,
      discard: async () => {
        if (onImage) await this.remove([name]).catch(() => {});
      },
    });
  }

  async rename(from: string, to: string): Promise<void> {
    this.changed();
    await mtool(MTOOLS.rename, ["-i", this.image, this.target(from), to]);
    await syncImage(this.image);
  }

  async remove(names: string[]): Promise<void> {
    if (!names.length) return;
    this.changed();
    await mtool(MTOOLS.del, ["-i", this.image, ...names.map((n) => this.target(n))]);
    await syncImage(this.image);
  }
}
