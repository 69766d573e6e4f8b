/**
 * Console line transports for cohsh. A transport moves whole console lines both ways; the
 * framing is the guest's own (`FrameDecoder` / `encodeFrameHeader` from the shared console
 * module), so client and hive cannot drift apart.
 */
import { encodeFrameHeader, Frame, FrameDecoder } from "../../guest/console/framing.ts";
import { MAX_LINE } from "../../guest/console/grammar.ts";

/** A transport failure; `message` says what happened and what to do next. */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransportError";
  }
}

export interface LineTransport {
  /** Human name for messages, e.g. `tcp 127.0.0.1:31337`. */
  readonly name: string;
  /** Sends one line (no newline). */
  send(line: string): Promise<void>;
  /** The next line, or null when the peer closed the stream. Rejects with TransportError on timeout. */
  recv(timeoutMs: number): Promise<string | null>;
  close(): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads lines from a byte source through a push decoder. */
abstract class ByteLineTransport implements LineTransport {
  abstract readonly name: string;
  private eof = false;
  private buf = new Uint8Array(16384);
  private bufOff = 0;
  private bufLen = 0;
  private reading: Promise<number | null> | null = null;

  protected abstract readBytes(buf: Uint8Array): Promise<number | null>;
  protected abstract writeBytes(data: Uint8Array): Promise<void>;
  /** Pushes one byte; returns a finished line or null. */
  protected abstract push(b: number): string | null;
  abstract send(line: string): Promise<void>;
  abstract close(): void;

  async recv(timeoutMs: number): Promise<string | null> {
    for (;;) {
      while (this.bufOff < this.bufLen) {
        const l = this.push(this.buf[this.bufOff++]);
        if (l !== null) return l;
      }
      if (this.eof) return null;
      this.reading ??= this.readBytes(this.buf).catch(() => null);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const r = await Promise.race([this.reading, timeout]);
      clearTimeout(timer);
      if (r === "timeout") {
        throw new TransportError(
          `No reply from the hive on ${this.name} within ${timeoutMs} ms; check that it is running, or raise --timeout`,
        );
      }
      this.reading = null;
      if (r === null) {
        this.eof = true;
        continue;
      }
      this.bufOff = 0;
      this.bufLen = r;
    }
  }

  protected async sendBytes(data: Uint8Array): Promise<void> {
    try {
      await this.writeBytes(data);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new TransportError(`Cannot send to the hive on ${this.name}: ${msg}; reconnect and try again`);
    }
  }
}

/** The TCP console: length-prefixed frames (u32 LE total, header included). */
export class TcpTransport extends ByteLineTransport {
  readonly name: string;
  private decoder = new FrameDecoder();

  private constructor(private conn: Deno.TcpConn, name: string) {
    super();
    this.name = name;
  }

  static async connect(hostname: string, port: number): Promise<TcpTransport> {
    const name = `tcp ${hostname}:${port}`;
    try {
      const conn = await Deno.connect({ hostname, port, transport: "tcp" });
      conn.setNoDelay(true);
      return new TcpTransport(conn, name);
    } catch (err) {
      const why = err instanceof Deno.errors.ConnectionRefused ? "connection refused" : (err as Error).message;
      throw new TransportError(
        `Cannot reach the hive console at ${hostname}:${port} (${why}); start one with 'cohesix dev' or pass --host/--port`,
      );
    }
  }

  protected readBytes(buf: Uint8Array): Promise<number | null> {
    return this.conn.read(buf);
  }

  protected async writeBytes(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.conn.write(data.subarray(off));
  }

  protected push(b: number): string | null {
    const ev = this.decoder.push(b);
    if (ev === Frame.More) return null;
    if (ev === Frame.Line || ev === Frame.Control) {
      return dec.decode(this.decoder.line.subarray(0, this.decoder.lineLen));
    }
    throw new TransportError(`The hive sent a malformed console frame on ${this.name}; reconnect`);
  }

  async send(line: string): Promise<void> {
    const body = enc.encode(line);
    if (body.length > MAX_LINE * 32) throw new TransportError(`Cannot send a ${body.length}-byte console line`);
    const frame = new Uint8Array(body.length + 4);
    encodeFrameHeader(frame, 0, body.length);
    frame.set(body, 4);
    await this.sendBytes(frame);
  }

  /** Sends raw bytes (tests of malformed input). */
  sendRaw(data: Uint8Array): Promise<void> {
    return this.sendBytes(data);
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/**
 * A serial console: newline-terminated lines over a byte stream, no AUTH. The stream is a
 * command's stdin/stdout (`--serial-cmd`, e.g. `cohesix dev --serial`) or a Unix socket
 * (`--serial-path`, e.g. QEMU `-serial unix:PATH,server`).
 */
export class SerialTransport extends ByteLineTransport {
  private partial: number[] = [];

  private constructor(
    readonly name: string,
    private reader: ReadableStreamDefaultReader<Uint8Array>,
    private writer: WritableStreamDefaultWriter<Uint8Array>,
    private onClose: () => void,
  ) {
    super();
  }

  private pending: Uint8Array | null = null;
  private pendingOff = 0;

  /** A serial console over an existing byte stream pair (in-process hives, tests). */
  static fromStreams(name: string, readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>): SerialTransport {
    const writer = writable.getWriter();
    return new SerialTransport(name, readable.getReader(), writer, () => {
      writer.close().catch(() => {});
    });
  }

  /** Starts `command` with `sh -c` and talks to its stdin/stdout. */
  static spawn(command: string): SerialTransport {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("sh", { args: ["-c", command], stdin: "piped", stdout: "piped", stderr: "null" }).spawn();
    } catch (e) {
      throw new TransportError(`Cannot start the serial command '${command}': ${(e as Error).message}`);
    }
    const writer = child.stdin.getWriter();
    return new SerialTransport(`serial '${command}'`, child.stdout.getReader(), writer, () => {
      writer.close().catch(() => {});
      child.status.catch(() => {});
    });
  }

  /** Connects to a Unix socket carrying a serial console. */
  static async connectUnix(path: string): Promise<SerialTransport> {
    let conn: Deno.UnixConn;
    try {
      conn = await Deno.connect({ transport: "unix", path });
    } catch (e) {
      throw new TransportError(`Cannot open the serial socket ${path} (${(e as Error).message}); check --serial-path`);
    }
    return new SerialTransport(`serial ${path}`, conn.readable.getReader(), conn.writable.getWriter(), () => {
      try {
        conn.close();
      } catch { /* closed */ }
    });
  }

  protected async readBytes(buf: Uint8Array): Promise<number | null> {
    if (this.pending === null || this.pendingOff >= this.pending.length) {
      const r = await this.reader.read();
      if (r.done) return null;
      this.pending = r.value;
      this.pendingOff = 0;
    }
    const n = Math.min(buf.length, this.pending.length - this.pendingOff);
    buf.set(this.pending.subarray(this.pendingOff, this.pendingOff + n));
    this.pendingOff += n;
    return n;
  }

  protected writeBytes(data: Uint8Array): Promise<void> {
    return this.writer.write(data);
  }

  protected push(b: number): string | null {
    if (b === 13) return null;
    if (b !== 10) {
      this.partial.push(b);
      return null;
    }
    const line = dec.decode(new Uint8Array(this.partial));
    this.partial = [];
    return line;
  }

  send(line: string): Promise<void> {
    return this.sendBytes(enc.encode(line + "\n"));
  }

  close(): void {
    this.reader.cancel().catch(() => {});
    this.onClose();
  }
}
