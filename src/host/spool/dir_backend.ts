/** Spool backend: a host directory (hosted hives, `cohesix dev --spool`). fsync before every rename. */
import { join } from "node:path";
import type { SpoolBackend, SpoolNaming, SpoolWriter } from "./backend.ts";

const REC = /^(\d{10})\.rec(\.new)?$/;

/** `spool.json`, `<seq:10 digits>.rec`, `<seq>.rec.new`: sorted names are sequence order. */
export const DIR_NAMING: SpoolNaming = {
  config: "spool.json",
  configPending: "spool.json.new",
  record: (seq) => `${String(seq).padStart(10, "0")}.rec`,
  pending: (seq) => `${String(seq).padStart(10, "0")}.rec.new`,
  parse(name) {
    const m = REC.exec(name);
    return m ? { seq: Number(m[1]), pending: m[2] !== undefined } : undefined;
  },
};

export class DirBackend implements SpoolBackend {
  readonly naming = DIR_NAMING;
  constructor(readonly where: string) {}

  exists(): Promise<boolean> {
    return Deno.lstat(join(this.where, this.naming.config)).then(() => true, () => false);
  }

  async makeDir(): Promise<void> {
    await Deno.mkdir(this.where, { recursive: true });
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    for await (const e of Deno.readDir(this.where)) if (e.isFile) out.push(e.name);
    return out;
  }

  read(name: string): Promise<Uint8Array | undefined> {
    return Deno.readFile(join(this.where, name));
  }

  async create(name: string): Promise<SpoolWriter> {
    const path = join(this.where, name);
    const f = await Deno.open(path, { write: true, createNew: true });
    let open = true;
    const closeOnce = () => {
      if (open) f.close();
      open = false;
    };
    return {
      async write(bytes) {
        for (let at = 0; at < bytes.length;) at += await f.write(bytes.subarray(at));
      },
      flush: () => f.syncData(),
      async close() {
        try {
          await f.syncData();
        } finally {
          closeOnce();
        }
      },
      async discard() {
        closeOnce();
        await Deno.remove(path).catch(() => {});
      },
    };
  }

  rename(from: string, to: string): Promise<void> {
    return Deno.rename(join(this.where, from), join(this.where, to));
  }

  async remove(names: string[]): Promise<void> {
    for (const n of names) await Deno.remove(join(this.where, n));
  }
}
