/**
 * Console line transports for cohsh. A transport moves whole console lines both ways; the
 * framing is the guest's own (`FrameDecoder` / `encodeFrameHeader` from the shared console
 * module), so client and hive cannot drift apart.
 */
import { encodeFrameHeader } from "../../guest/console/framing.ts";
import { MAX_FRAME, MAX_LINE } from "../../guest/console/grammar.ts";

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

/** Reads lines from a byte source: bytes are buffered, and a subclass cuts one line at a time. */
abstract class ByteLineTransport implements LineTransport {
  abstract readonly name: string;
  private eof = false;
  private chunk = new Uint8Array(65536);
  /** Received bytes not yet cut into lines: buffered[start..end). */
  private buffered = new Uint8Array(65536);
  private start = 0;
  private end = 0;
  private reading: Promise<number | null> | null = null;

  protected abstract readBytes(buf: Uint8Array): Promise<number | null>;
  protected abstract writeBytes(data: Uint8Array): Promise<void>;
  /**
   * Cuts one line from buf[off..end): returns the line and the bytes it used, or null when the
   * bytes hold no complete line yet.
   */
  protected abstract cut(buf: Uint8Array, off: number, end: number): [string, number] | null;
  abstract send(line: string): Promise<void>;
  abstract close(): void;

  private append(data: Uint8Array): void {
    const have = this.end - this.start;
    if (this.end + data.length > this.buffered.length) {
      const size = Math.max(this.buffered.length, (have + data.length) * 2);
      const next = size > this.buffered.length ? new Uint8Array(size) : this.buffered;
      next.set(this.buffered.subarray(this.start, this.end), 0);
      this.buffered = next;
      this.start = 0;
      this.end = have;
    }
    this.buffered.set(data, this.end);
    this.end += data.length;
  }

  async recv(timeoutMs: number): Promise<string | null> {
    for (;;) {
      const got = this.cut(this.buffered, this.start, this.end);
      if (got !== null) {
        this.start += got[1];
        if (this.start === this.end) this.start = this.end = 0;
        return got[0];
      }
      if (this.eof) return null;
      this.reading ??= this.readBytes(this.chunk).catch(() => null);
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
      this.append(this.chunk.subarray(0, r));
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

  /** One frame: u32 LE total (header included, 4..MAX_FRAME), then at most MAX_LINE bytes of line. */
  protected cut(buf: Uint8Array, off: number, end: number): [string, number] | null {
    if (end - off < 4) return null;
    const total = buf[off] + buf[off + 1] * 256 + buf[off + 2] * 65536 + buf[off + 3] * 16777216;
    if (total < 4 || total > MAX_FRAME || total - 4 > MAX_LINE) {
      throw new TransportError(`The hive sent a malformed console frame (length ${total}) on ${this.name}; reconnect`);
    }
    if (end - off < total) return null;
    return [dec.decode(buf.subarray(off + 4, off + total)), total];
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
  private closing = false;
  /** Called once when the peer's output ends before `close()`. */
  private onEof: (() => Promise<void>) | undefined;

  /** A serial console over an existing byte stream pair (in-process hives, tests). */
  static fromStreams(name: string, readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>): SerialTransport {
    const writer = writable.getWriter();
    return new SerialTransport(name, readable.getReader(), writer, () => {
      writer.close().catch(() => {});
    });
  }

  /**
   * Starts `command` with `sh -c` and talks to its stdin/stdout. When it fails (output ended before we
   * closed it, non-zero exit), its status and the tail of its stderr are reported on our stderr.
   */
  static spawn(command: string): SerialTransport {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("sh", { args: ["-c", command], stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
    } catch (e) {
      throw new TransportError(`Cannot start the serial command '${command}': ${(e as Error).message}`);
    }
    let stderrTail = "";
    const stderrDone = (async () => {
      const d = new TextDecoder();
      try {
        for await (const c of child.stderr) stderrTail = (stderrTail + d.decode(c, { stream: true })).slice(-2048);
      } catch { /* closed */ }
    })();
    const writer = child.stdin.getWriter();
    const t = new SerialTransport(`serial '${command}'`, child.stdout.getReader(), writer, () => {
      writer.close().catch(() => {});
      child.status.catch(() => {});
    });
    t.onEof = async () => {
      const status = await child.status;
      await stderrDone;
      if (status.success) return;
      const how = status.signal ? `signal ${status.signal}` : `exit ${status.code}`;
      console.error(`cohsh: the serial command ended (${how}); its last stderr lines:\n${stderrTail.trimEnd()}`);
    };
    return t;
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
      if (r.done) {
        const report = this.closing ? undefined : this.onEof;
        this.onEof = undefined;
        await report?.();
        return null;
      }
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

  /** One newline-terminated line (a `\r` before the newline is dropped). */
  protected cut(buf: Uint8Array, off: number, end: number): [string, number] | null {
    const nl = buf.subarray(off, end).indexOf(10);
    if (nl < 0) return null;
    const stop = nl > 0 && buf[off + nl - 1] === 13 ? off + nl - 1 : off + nl;
    return [dec.decode(buf.subarray(off, stop)), nl + 1];
  }

  send(line: string): Promise<void> {
    return this.sendBytes(enc.encode(line + "\n"));
  }

  close(): void {
    this.closing = true;
    this.reader.cancel().catch(() => {});
    this.onClose();
  }
}
