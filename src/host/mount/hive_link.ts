/**
 * One attached Secure9P session that comes back after the hive restarts. `session()` returns the
 * live client and root fid, dialling and re-attaching with the same role and ticket when the last
 * connection died. Every connection has an epoch: fids from an older epoch are dead, and the mount
 * walks again. A refused dial (hive down, host up) fails in well under a millisecond, so every call
 * dials again and the first call after the hive is back works; a dial that timed out (host gone)
 * is remembered for RETRY_MS so a shell gets EIO at once instead of a timeout per system call.
 */
import { NineClient, NineError, TransportError } from "../../secure9p/host/client.ts";

export interface LinkOptions {
  host: string;
  port: number;
  role: string;
  ticket: string;
  /** Give up a dial after this long (a host that drops packets). */
  dialTimeoutMs?: number;
  maxInflight?: number;
}

export interface Session {
  client: NineClient;
  root: number;
  epoch: number;
}

/** How long a timed-out dial answers for itself before the next system call dials again. */
const RETRY_MS = 2000;

export class HiveLink {
  #current: Session | null = null;
  #dialing: Promise<Session> | null = null;
  #lastFailure: { at: number; error: Error } | null = null;
  #epoch = 0;
  #closed = false;
  /** Called once per connection lost and per re-attach (for the mount's log line). */
  onEvent: (event: "lost" | "attached", detail: string) => void = () => {};

  constructor(readonly options: LinkOptions) {}

  get epoch(): number {
    return this.#current?.epoch ?? -1;
  }

  session(): Promise<Session> {
    if (this.#current) return Promise.resolve(this.#current);
    if (this.#closed) return Promise.reject(new TransportError("the mount is closing"));
    if (this.#dialing) return this.#dialing;
    const failed = this.#lastFailure;
    if (failed && performance.now() - failed.at < RETRY_MS) return Promise.reject(failed.error);
    this.#dialing = this.#attach().finally(() => (this.#dialing = null));
    return this.#dialing;
  }

  /** Drops a session whose transport failed (the reader loop also notices by itself). */
  invalidate(s: Session): void {
    if (this.#current !== s) return;
    this.#current = null;
    s.client.close();
  }

  close(): void {
    this.#closed = true;
    this.#current?.client.close();
    this.#current = null;
  }

  async #attach(): Promise<Session> {
    const { host, port, role, ticket } = this.options;
    let client: NineClient | null = null;
    try {
      client = await withTimeout(
        NineClient.dial(host, port, { maxInflight: this.options.maxInflight ?? 16 }),
        this.options.dialTimeoutMs ?? 3000,
        `Cannot reach ${host}:${port} within ${this.options.dialTimeoutMs ?? 3000} ms`,
      );
      const root = client.newFid();
      await client.attach(root, role, ticket);
      const s: Session = { client, root, epoch: ++this.#epoch };
      this.#current = s;
      this.#lastFailure = null;
      client.closed().then(() => {
        if (this.#current === s) {
          this.#current = null;
          if (!this.#closed) this.onEvent("lost", `connection to ${host}:${port} closed`);
        }
      });
      if (s.epoch > 1) this.onEvent("attached", `re-attached to ${host}:${port} as ${role}`);
      return s;
    } catch (e) {
      client?.close();
      const error = e instanceof NineError || e instanceof TransportError ? e : new TransportError(String(e));
      if (error instanceof DialTimeout) this.#lastFailure = { at: performance.now(), error };
      throw error;
    }
  }
}

class DialTimeout extends TransportError {}

function withTimeout<T extends { close(): void }>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new DialTimeout(message));
    }, ms);
  });
  p.then((v) => timedOut && v.close(), () => {});
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
