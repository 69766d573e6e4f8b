/**
 * Byte-stream connections for the host client: TCP (Deno.Conn) and in-process (a `NineServer`
 * session driven directly, for tests and the hosted guest). Socket faults surface as
 * `TransportError`, kept apart from protocol errors (`NineError` in client.ts).
 */
import type { NineServer } from "../server.ts";

export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransportError";
  }
}

/** A full-duplex byte stream. `read` resolves null at end of stream. */
export interface ByteConn {
  write(data: Uint8Array): Promise<void>;
  read(buf: Uint8Array): Promise<number | null>;
  close(): void;
}

/** Wraps a Deno connection: writes are written fully; socket errors become TransportError. */
export class TcpByteConn implements ByteConn {
  #conn: Deno.Conn;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch { /* not a TCP socket */ }
  }

  static async dial(hostname: string, port: number): Promise<TcpByteConn> {
    try {
      return new TcpByteConn(await Deno.connect({ hostname, port }));
    } catch (e) {
      throw new TransportError(`Cannot connect to ${hostname}:${port}: ${(e as Error).message}`);
    }
  }

  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    try {
      while (off < data.length) off += await this.#conn.write(data.subarray(off));
    } catch (e) {
      throw new TransportError(`Cannot write to the connection: ${(e as Error).message}`);
    }
  }

  async read(buf: Uint8Array): Promise<number | null> {
    if (this.#closed) return null;
    try {
      return await this.#conn.read(buf);
    } catch (e) {
      if (this.#closed) return null;
      throw new TransportError(`Cannot read from the connection: ${(e as Error).message}`);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed by the peer */ }
  }
}

/**
 * An in-process connection to one session of a `NineServer`. Bytes written are fed to the server
 * within its input space; replies are drained into a queue that `read` consumes. `poll()` retries
 * the server's parked requests (call it when a namespace has new data).
 */
export class InProcessConn implements ByteConn {
  readonly server: NineServer;
  readonly session: number;
  #queue: Uint8Array[] = [];
  #waiter: (() => void) | null = null;
  #closed = false;
  #scratch = new Uint8Array(16384);

  constructor(server: NineServer) {
    const s = server.openSession();
    if (s < 0) throw new TransportError("Cannot open an in-process session: the session table is full");
    this.server = server;
    this.session = s;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed || this.server.closed(this.session)) {
      return Promise.reject(new TransportError("Cannot write: the session is closed"));
    }
    let off = 0;
    while (off < data.length) {
      const room = this.server.inputSpace(this.session);
      if (room <= 0) {
        if (this.server.closed(this.session) || this.server.pendingOutput(this.session) === 0) {
          // Ended by the server, or input it can never take: fail loudly rather than drop bytes.
          return Promise.reject(
            new TransportError(`Cannot write: the session took ${off} of ${data.length} bytes`),
          );
        }
        this.#drain();
        continue;
      }
      const n = Math.min(room, data.length - off);
      this.server.input(this.session, data, off, n);
      off += n;
      this.#drain();
    }
    this.#drain();
    return Promise.resolve();
  }

  poll(): void {
    this.server.poll();
    this.#drain();
  }

  #drain(): void {
    const s = this.session;
    while (this.server.pendingOutput(s) > 0) {
      const n = this.server.output(s, this.#scratch, 0, this.#scratch.length);
      if (n === 0) break;
      this.#queue.push(this.#scratch.slice(0, n));
    }
    if (this.#queue.length > 0 || this.server.closed(s)) this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  async read(buf: Uint8Array): Promise<number | null> {
    while (this.#queue.length === 0) {
      if (this.#closed || this.server.closed(this.session)) return null;
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
    const head = this.#queue[0];
    const n = Math.min(buf.length, head.length);
    buf.set(head.subarray(0, n));
    if (n === head.length) this.#queue.shift();
    else this.#queue[0] = head.subarray(n);
    return n;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.server.closeSession(this.session);
    this.#wake();
  }
}
