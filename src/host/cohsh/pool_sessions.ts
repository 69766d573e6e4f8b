/**
 * The two kinds of pooled session: a Secure9P session (its own TCP connection, attached with the
 * shell's role and ticket, `batch` Twrites in flight on one open fid) and a console session (its
 * own console connection after AUTH and ATTACH, `batch` ECHO lines sent before their ACKs are read,
 * which the console answers in order).
 */
import { errnoName } from "../../secure9p/errors.ts";
import { NineClient, NineError } from "../../secure9p/host/client.ts";
import { O_APPEND, O_RDONLY, O_WRONLY } from "../../secure9p/namespace.ts";
import type { ConsoleClient } from "./client.ts";
import { PoolRefusal, type PoolSession } from "./pool.ts";
import { TransportError } from "./transport.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export class NinepPoolSession implements PoolSession {
  private fids = new Map<string, number>();

  private constructor(private client: NineClient, private root: number) {}

  /** Dials and attaches; a refused attach is a PoolRefusal (retrying would not help). */
  static async open(hostname: string, port: number, role: string, ticket: string, batch: number): Promise<NinepPoolSession> {
    let client: NineClient;
    try {
      client = await NineClient.dial(hostname, port, { maxInflight: batch + 1 });
    } catch (e) {
      throw new TransportError(`cannot reach the hive's 9P service at ${hostname}:${port} (${(e as Error).message})`);
    }
    const root = client.newFid();
    try {
      await client.attach(root, role, ticket);
    } catch (e) {
      client.close();
      if (e instanceof NineError) throw new PoolRefusal(errnoName(e.errno), "/");
      throw e;
    }
    return new NinepPoolSession(client, root);
  }

  private async fidFor(path: string, flags: number): Promise<number> {
    const key = `${flags}:${path}`;
    const have = this.fids.get(key);
    if (have !== undefined) return have;
    const fid = this.client.newFid();
    try {
      await this.client.walk(this.root, fid, path.split("/").filter((n) => n !== ""));
      await this.client.open(fid, flags);
    } catch (e) {
      if (e instanceof NineError) throw new PoolRefusal(errnoName(e.errno), path);
      throw e;
    }
    this.fids.set(key, fid);
    return fid;
  }

  async appendBatch(path: string, records: string[]): Promise<(string | null)[]> {
    const fid = await this.fidFor(path, O_WRONLY + O_APPEND);
    const results = await Promise.allSettled(records.map((r) => this.client.write(fid, 0, enc.encode(r + "\n"))));
    return results.map((r) => {
      if (r.status === "fulfilled") return null;
      if (r.reason instanceof NineError) return errnoName(r.reason.errno);
      throw r.reason instanceof TransportError ? r.reason : new TransportError(String(r.reason));
    });
  }

  async readText(path: string): Promise<string> {
    const fid = this.client.newFid();
    try {
      await this.client.walk(this.root, fid, path.split("/").filter((n) => n !== ""));
      await this.client.open(fid, O_RDONLY);
      return dec.decode(await this.client.readAll(fid));
    } catch (e) {
      if (e instanceof NineError) throw new PoolRefusal(errnoName(e.errno), path);
      throw e;
    } finally {
      await this.client.clunk(fid).catch(() => {});
    }
  }

  close(): void {
    this.client.close();
  }
}

/** The errno a console refusal names (`error=EROFS`), else its reason, so both transports report alike. */
export function refusalCode(ackLine: string): string {
  return /\berror=(\S+)/.exec(ackLine)?.[1] ?? /\breason=(\S+)/.exec(ackLine)?.[1] ?? "refused";
}

export class ConsolePoolSession implements PoolSession {
  /** `own`: the shell's own connection (serial), shared, never closed or re-attached here. */
  constructor(private client: ConsoleClient, private own = false) {}

  /** A new console connection (`connect` does AUTH) attached with the shell's last `ATTACH` line. */
  static async open(connect: () => Promise<ConsoleClient>, attachWire: string): Promise<ConsolePoolSession> {
    const c = await connect();
    const r = await c.request(attachWire);
    if (!r.ack?.ok) {
      c.close();
      if (r.closed) throw new TransportError("the hive closed the console during ATTACH");
      throw new PoolRefusal(refusalCode(r.ackLine), "/");
    }
    return new ConsolePoolSession(c);
  }

  /**
   * On its own TCP connection the batch is pipelined (all lines, then all ACKs); on the shell's
   * serial line one line at a time, since a line without flow control to spare would stall.
   */
  async appendBatch(path: string, records: string[]): Promise<(string | null)[]> {
    const out: (string | null)[] = [];
    const take = async () => {
      const reply = await this.client.readReply();
      if (reply.closed || reply.ack === null) throw new TransportError("the hive closed the console connection");
      out.push(reply.ack.ok ? null : refusalCode(reply.ackLine));
    };
    for (const r of records) {
      await this.client.transport.send(`ECHO ${path} ${r}`);
      if (this.own) await take();
    }
    while (out.length < records.length) await take();
    return out;
  }

  async readText(path: string): Promise<string> {
    const reply = await this.client.request(`CAT ${path}`);
    if (reply.closed || reply.ack === null) throw new TransportError("the hive closed the console connection");
    if (!reply.ack.ok) throw new PoolRefusal(refusalCode(reply.ackLine), path);
    const at = reply.lines.indexOf(reply.ackLine);
    return reply.lines.slice(at + 1, reply.lines.length - 1).join("\n");
  }

  close(): void {
    if (!this.own) this.client.close();
  }
}
