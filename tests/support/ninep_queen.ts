/** A queen session over raw 9P for end-to-end tests of a hive process: read, append, wait for a file to change. */
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { errnoName } from "../../src/secure9p/errors.ts";
import { O_APPEND, O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export class NinepQueen {
  private constructor(private c: NineClient, private root: number) {}

  static async attach(port: number, ticket = ""): Promise<NinepQueen> {
    const c = await NineClient.dial("127.0.0.1", port);
    const root = c.newFid();
    await c.attach(root, "queen", ticket);
    return new NinepQueen(c, root);
  }

  private async fid(path: string, flags: number): Promise<number> {
    const fid = this.c.newFid();
    await this.c.walk(this.root, fid, path.split("/").filter(Boolean));
    await this.c.open(fid, flags);
    return fid;
  }

  async read(path: string): Promise<string> {
    const fid = await this.fid(path, O_RDONLY);
    try {
      return dec.decode(await this.c.readAll(fid));
    } finally {
      await this.c.clunk(fid);
    }
  }

  /** Bytes written, or the errno name of the refusal (EPERM, EAGAIN, …). */
  async write(path: string, text: string): Promise<number | string> {
    const fid = await this.fid(path, O_WRONLY + O_APPEND);
    try {
      return await this.c.write(fid, 0, enc.encode(text));
    } catch (e) {
      if (e instanceof NineError) return errnoName(e.errno);
      throw e;
    } finally {
      await this.c.clunk(fid);
    }
  }

  /**
   * Reads `path` until `pred` holds: the hive's files do not block, so polling the file is how a test
   * waits for the event (bounded, so a hive that never gets there fails with what the file said).
   */
  async until(path: string, pred: (text: string) => boolean, what: string): Promise<string> {
    for (let i = 0; i < 3000; i++) {
      const t = await this.read(path);
      if (pred(t)) return t;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${path} never showed ${what}: ${await this.read(path)}`);
  }

  close(): void {
    this.c.close();
  }
}
