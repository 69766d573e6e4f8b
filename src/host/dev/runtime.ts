/**
 * The hosted runtime: owns sockets, stdin/stdout and the clock, and feeds the sans-IO `Hive`.
 * Used by `cohesix dev` (loopback listeners) and by `cohesix demo` (the same, on ephemeral ports,
 * inside the demo process). The hive itself never sees a socket, a timer or a wall clock.
 */
import type { BootConfig } from "../../guest/boot.ts";
import { BOOT_CONFIG } from "../../guest/generated/bootstrap.ts";
import { Hive } from "../../guest/hive.ts";
import { EcosystemProviders } from "../../guest/ninedoor/ecosystem.ts";
import { encodeFrameHeader } from "../../guest/console/framing.ts";
import { HostTicketVerifier } from "../ticket/codec.ts";
import { HostedUpdateSignatureCheck } from "../update/signature_check.ts";
import type { Namespace } from "../../secure9p/namespace.ts";

export interface HostedHiveOptions {
  /** Interface to listen on (default 127.0.0.1). */
  hostname?: string;
  /** 9P2000.L port (default 5640; 0 picks a free port). */
  ninepPort?: number;
  /** TCP console port (default 31337; 0 picks a free port). */
  consolePort?: number;
  /** Do not open the 9P listener. */
  noNinep?: boolean;
  /** Do not open the TCP console listener. */
  noConsole?: boolean;
  /** TCP console AUTH token (default `changeme`). */
  authToken?: string;
  /** Boot tables (default: the ones `cohesix rtc` compiled from configs/root_task.toml). */
  boot?: BootConfig;
  /** Namespace override (tests); default NineDoor. */
  namespace?: Namespace;
  /**
   * Milliseconds for the injected clock (default: `unixClock()`, so CLI-minted tickets, whose
   * iat/exp are Unix ms, are checked against the same time base). Pass a fixed clock for
   * deterministic transcripts (`cohesix demo`, goldens).
   */
  clock?: () => number;
  /** How often the clock is advanced and idle connections are pumped (ms, default 20). */
  tickMs?: number;
  /** Diagnostic lines (connections opened/closed); default: none. */
  log?: (line: string) => void;
}

/** A listener could not be opened; `message` says what to do next. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ListenError";
  }
}

const IO_BUF = 65536;

/**
 * Unix wall-clock milliseconds that never go backwards: read `Date.now()` once, then advance by the
 * monotonic `performance.now()`, so a system clock step does not rewind the hive's clock.
 */
export function unixClock(): () => number {
  const epoch0 = Date.now();
  const t0 = performance.now();
  return () => epoch0 + Math.floor(performance.now() - t0);
}

/** One open connection: a byte stream both ways plus the hive's connection id. */
interface Link {
  id: number;
  label: string;
  read(buf: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<void>;
  close(): void;
  out: Uint8Array;
  /** The link's drains, one after another: awaiting a flush waits for every byte the hive had when it was asked. */
  drained: Promise<void>;
  done: boolean;
}

export class HostedHive {
  readonly hive: Hive;
  readonly hostname: string;
  ninepPort = 0;
  consolePort = 0;
  private listeners: Deno.Listener[] = [];
  private links = new Set<Link>();
  private tasks = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private clock: () => number;
  private log: (line: string) => void;
  private stopped = false;

  private constructor(opts: HostedHiveOptions) {
    const boot = opts.boot ?? BOOT_CONFIG;
    this.hive = new Hive(boot, {
      authToken: opts.authToken,
      namespace: opts.namespace,
      verifier: new HostTicketVerifier(boot.ticketKeys),
      // Hosted, every extension is linked; the manifest switches each service on or off.
      extension: new EcosystemProviders(new HostedUpdateSignatureCheck(boot.updateKeys)),
    });
    this.hostname = opts.hostname ?? "127.0.0.1";
    this.clock = opts.clock ?? unixClock();
    this.log = opts.log ?? (() => {});
  }

  /** Builds the hive and opens its listeners; throws ListenError when a port cannot be bound. */
  static start(opts: HostedHiveOptions = {}): HostedHive {
    const h = new HostedHive(opts);
    try {
      if (!opts.noNinep) {
        const l = h.listen(opts.ninepPort ?? 5640, "9P", "--ninep-port");
        h.ninepPort = (l.addr as Deno.NetAddr).port;
        h.accept(l, "9p");
      }
      if (!opts.noConsole) {
        const l = h.listen(opts.consolePort ?? 31337, "console", "--console-port");
        h.consolePort = (l.addr as Deno.NetAddr).port;
        h.accept(l, "console");
      }
    } catch (err) {
      for (const l of h.listeners) l.close();
      throw err;
    }
    h.hive.advance(h.clock());
    h.timer = setInterval(() => h.tick(), opts.tickMs ?? 20);
    return h;
  }

  private listen(port: number, what: string, flag: string): Deno.Listener {
    try {
      const l = Deno.listen({ hostname: this.hostname, port, transport: "tcp" });
      this.listeners.push(l);
      return l;
    } catch (err) {
      const where = `${this.hostname}:${port}`;
      if (err instanceof Deno.errors.AddrInUse) {
        throw new ListenError(
          `Cannot listen for ${what} on ${where}: the port is in use; stop the other process or pass ${flag} <port> (0 picks a free one)`,
        );
      }
      if (err instanceof Deno.errors.PermissionDenied) {
        throw new ListenError(`Cannot listen for ${what} on ${where}: permission denied; pick a port above 1023 with ${flag}`);
      }
      const msg = err instanceof Error ? err.message : String(err);
      throw new ListenError(`Cannot listen for ${what} on ${where}: ${msg}; check --host and ${flag}`);
    }
  }

  private accept(listener: Deno.Listener, kind: "9p" | "console"): void {
    const task = (async () => {
      for (;;) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
        } catch {
          return; // listener closed by stop()
        }
        if (this.stopped) {
          conn.close();
          return;
        }
        const id = kind === "9p" ? this.hive.openNinep() : this.hive.openConsole("tcp");
        const peer = conn.remoteAddr as Deno.NetAddr;
        if (id < 0) {
          this.log(`${kind}: refused ${peer.hostname}:${peer.port}: connection table full`);
          if (kind === "console") {
            // Say why before closing, in the console's own framing, so the client can tell the user.
            const text = new TextEncoder().encode("ERR AUTH reason=busy detail=console-table-full");
            const frame = new Uint8Array(text.length + 4);
            encodeFrameHeader(frame, 0, text.length);
            frame.set(text, 4);
            await conn.write(frame).catch(() => 0);
          }
          conn.close();
          continue;
        }
        this.log(`${kind}: connection ${id} from ${peer.hostname}:${peer.port}`);
        this.serve({
          id,
          label: `${kind}#${id}`,
          read: (b) => conn.read(b),
          write: async (d) => {
            let off = 0;
            while (off < d.length) off += await conn.write(d.subarray(off));
          },
          close: () => {
            try {
              conn.close();
            } catch { /* already closed */ }
          },
          out: new Uint8Array(IO_BUF),
          drained: Promise.resolve(),
          done: false,
        });
      }
    })();
    this.track(task);
  }

  /**
   * Serves one console over a byte stream pair (stdin/stdout for `cohesix dev --serial`, pipes in
   * tests). Resolves when the input ends.
   */
  serveSerial(input: ReadableStream<Uint8Array>, output: WritableStream<Uint8Array>): Promise<void> {
    const id = this.hive.openConsole("serial");
    if (id < 0) return Promise.reject(new Error("Cannot open a serial console: connection table full"));
    const reader = input.getReader();
    const writer = output.getWriter();
    let pending: Uint8Array | null = null;
    let pendingOff = 0;
    return this.serve({
      id,
      label: `serial#${id}`,
      read: async (b) => {
        if (pending === null || pendingOff >= pending.length) {
          const r = await reader.read();
          if (r.done) return null;
          pending = r.value;
          pendingOff = 0;
        }
        const n = Math.min(b.length, pending.length - pendingOff);
        b.set(pending.subarray(pendingOff, pendingOff + n));
        pendingOff += n;
        return n;
      },
      write: (d) => writer.write(d.slice()),
      close: () => {
        reader.cancel().catch(() => {});
        try {
          writer.releaseLock();
        } catch { /* a write is still pending */ }
      },
      out: new Uint8Array(IO_BUF),
      drained: Promise.resolve(),
      done: false,
    });
  }

  private serve(link: Link): Promise<void> {
    this.links.add(link);
    const task = (async () => {
      const buf = new Uint8Array(IO_BUF);
      try {
        for (;;) {
          const n = await link.read(buf).catch(() => null);
          if (n === null || link.done) break;
          let off = 0;
          while (off < n && !link.done) {
            const k = this.hive.input(link.id, buf, off, n - off);
            if (k < 0) {
              link.done = true;
              break;
            }
            off += k;
            await this.flush(link);
          }
          await this.flush(link);
          if (this.hive.closed(link.id)) break;
        }
      } finally {
        this.finish(link);
      }
    })();
    this.track(task);
    return task;
  }

  /**
   * Drains the hive's output for a link. Drains are chained per link, so the promise resolves only once
   * everything the hive had queued when flush was called is written, even when a tick's drain is
   * already writing. (Returning early there let a closing link be finished with its last reply unsent.)
   */
  private flush(link: Link): Promise<void> {
    link.drained = link.drained.then(() => this.drain(link));
    return link.drained;
  }

  private async drain(link: Link): Promise<void> {
    try {
      for (;;) {
        if (link.done) return;
        // Gather as much as the hive has (it refills as it is drained) into one socket write.
        let m = 0;
        for (;;) {
          const k = this.hive.output(link.id, link.out, m, link.out.length - m);
          if (k === 0) break;
          m += k;
        }
        if (m === 0) break;
        await link.write(link.out.subarray(0, m));
      }
      if (this.hive.closed(link.id)) this.finish(link);
    } catch {
      this.finish(link);
    }
  }

  private finish(link: Link): void {
    if (!this.links.has(link)) return;
    this.links.delete(link);
    link.done = true;
    this.hive.close(link.id);
    link.close();
    this.log(`${link.label}: closed`);
  }

  private tick(): void {
    this.hive.advance(this.clock());
    for (const link of this.links) void this.flush(link);
  }

  private track(task: Promise<void>): void {
    this.tasks.add(task);
    task.finally(() => this.tasks.delete(task));
  }

  /** Closes listeners and connections and waits for every task to end. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const l of this.listeners) {
      try {
        l.close();
      } catch { /* closed */ }
    }
    for (const link of [...this.links]) this.finish(link);
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }
}
