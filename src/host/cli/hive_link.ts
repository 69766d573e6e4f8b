/**
 * One 9P session to a hive for the host tools (`gpu bridge`, `run`, `peft`, the sidecars): whole-file reads and
 * one-line writes by absolute path, and `H:P` parsing. Every write is one command line, as the
 * hive's control files expect.
 */
import { NineClient } from "../../secure9p/host/client.ts";
import { O_APPEND, O_RDONLY, O_WRONLY } from "../../secure9p/namespace.ts";
import { UsageError } from "./command.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface HiveAddr {
  host: string;
  port: number;
}

/** `H:P`, `:P` or `H` (port 5640). */
export function parseHive(command: string, value: string | undefined): HiveAddr {
  if (value === undefined) return { host: "127.0.0.1", port: 5640 };
  const m = /^([^:]*)(?::(\d{1,5}))?$/.exec(value);
  const port = m?.[2] === undefined ? 5640 : Number(m[2]);
  if (!m || port > 65535) throw new UsageError(`${command}: --hive must be HOST:PORT, got '${value}'`);
  return { host: m[1] === "" ? "127.0.0.1" : m[1], port };
}

function parts(path: string): string[] {
  return path.split("/").filter((s) => s !== "");
}

export class HiveLink {
  private constructor(readonly client: NineClient, readonly root: number) {}

  static async open(addr: HiveAddr, role = "queen", ticket = ""): Promise<HiveLink> {
    const client = await NineClient.dial(addr.host, addr.port);
    try {
      const root = client.newFid();
      await client.attach(root, role, ticket);
      return new HiveLink(client, root);
    } catch (e) {
      client.close();
      throw e;
    }
  }

  /** Walks to `path` and opens it with `flags`; the caller owns (and clunks) the fid. */
  async openPath(path: string, flags: number): Promise<number> {
    const fid = this.client.newFid();
    try {
      await this.client.walk(this.root, fid, parts(path));
      await this.client.open(fid, flags);
      return fid;
    } catch (e) {
      await this.client.clunk(fid).catch(() => {});
      throw e;
    }
  }

  async read(path: string): Promise<string> {
    const fid = await this.openPath(path, O_RDONLY);
    try {
      return dec.decode(await this.client.readAll(fid));
    } finally {
      await this.client.clunk(fid).catch(() => {});
    }
  }

  /** Reads from `offset` to the current end (ring files: telemetry, status). */
  async readFrom(path: string, offset: number): Promise<Uint8Array> {
    const fid = await this.openPath(path, O_RDONLY);
    const out: Uint8Array[] = [];
    try {
      for (let at = offset;;) {
        const b = await this.client.read(fid, at, this.client.ioChunk);
        if (b.length === 0) break;
        out.push(b);
        at += b.length;
      }
    } finally {
      await this.client.clunk(fid).catch(() => {});
    }
    const all = new Uint8Array(out.reduce((n, b) => n + b.length, 0));
    let o = 0;
    for (const b of out) {
      all.set(b, o);
      o += b.length;
    }
    return all;
  }

  /** Writes each line (newline added) as its own write to one open fid. */
  async writeLines(path: string, lines: string[]): Promise<void> {
    const fid = await this.openPath(path, O_WRONLY + O_APPEND);
    try {
      for (const l of lines) await this.client.write(fid, 0, enc.encode(l + "\n"));
    } finally {
      await this.client.clunk(fid).catch(() => {});
    }
  }

  close(): void {
    this.client.close();
  }
}
