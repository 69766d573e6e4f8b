/** A queen session over raw 9P for end-to-end tests of a hive process: read, append, wait for a file to change. */
import { NineError } from "../../src/secure9p/host/client.ts";
import { HiveLink } from "../../src/host/cli/hive_link.ts";
import { errnoName } from "../../src/secure9p/errors.ts";
import { O_APPEND, O_WRONLY } from "../../src/secure9p/namespace.ts";

const enc = new TextEncoder();

export class NinepQueen {
  private constructor(private link: HiveLink) {}

  static async attach(port: number, ticket = ""): Promise<NinepQueen> {
    return new NinepQueen(await HiveLink.open({ host: "127.0.0.1", port }, "queen", ticket));
  }

  read(path: string): Promise<string> {
    return this.link.read(path);
  }

  /** Bytes written, or the errno name of the refusal (EPERM, EAGAIN, …). */
  async write(path: string, text: string): Promise<number | string> {
    const fid = await this.link.openPath(path, O_WRONLY + O_APPEND);
    try {
      return await this.link.client.write(fid, 0, enc.encode(text));
    } catch (e) {
      if (e instanceof NineError) return errnoName(e.errno);
      throw e;
    } finally {
      await this.link.client.clunk(fid);
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
    this.link.close();
  }
}
