/**
 * TCP transport for a `NineServer`: one session per connection. Reads are bounded by the
 * session's input space (so the server never buffers beyond its fixed tables). Replies are
 * written as soon as they exist, without holding up the next read: a session's reply write runs
 * beside its pending read, so a request/reply round trip costs one event-loop turn, not two.
 * Parked reads are retried by a timer that runs only while some session has one parked.
 */
import type { NineServer } from "../server.ts";

export interface TcpServeOptions {
  hostname?: string;
  /** 0 picks an ephemeral port. */
  port?: number;
  /** How often parked requests are retried, in ms (default 5). */
  pollMs?: number;
}

export interface TcpServerHandle {
  readonly port: number;
  readonly hostname: string;
  /** Sessions currently connected. */
  sessions(): number;
  close(): Promise<void>;
}

class Link {
  conn: Deno.Conn;
  session: number;
  /** The running reply writer, or null when none runs. */
  flushing: Promise<void> | null = null;
  done = false;

  constructor(conn: Deno.Conn, session: number) {
    this.conn = conn;
    this.session = session;
  }
}

/**
 * Write buffers are pooled: only sessions with replies in flight hold one (RSS per session).
 * Small replies (walk, getattr, clunk, ...) take a small buffer, reads and batches a big one.
 * Many sessions can be mid-write in the same tick (a burst over all connections), so each pool
 * keeps at most POOL_KEEP free buffers and leaves the rest of a burst to the garbage collector.
 */
const WRITE_BUF = 32768;
const SMALL_WRITE = 512;
const POOL_KEEP = 64;
/**
 * Reads go to a small per-connection buffer (requests other than Twrite are a few dozen bytes)
 * and switch to a pooled full-frame buffer while a peer sends big frames: idle sessions hold
 * SMALL_READ bytes, not a frame.
 */
const SMALL_READ = 512;
const BIG_READ = 8192;

export function serveTcp(server: NineServer, opts: TcpServeOptions = {}): TcpServerHandle {
  const listener = Deno.listen({ hostname: opts.hostname ?? "127.0.0.1", port: opts.port ?? 0 });
  const links = new Set<Link>();
  const tasks = new Set<Promise<void>>();
  const pollMs = opts.pollMs ?? 5;
  let closing = false;
  let timer: ReturnType<typeof setInterval> | null = null;

  const pool: Uint8Array[] = [];
  const smallPool: Uint8Array[] = [];
  const readPool: Uint8Array[] = [];

  function give(to: Uint8Array[], buf: Uint8Array): void {
    if (to.length < POOL_KEEP) to.push(buf);
  }

  /** Writes every queued reply of the link; several queued replies go out in one write. */
  async function writeOut(link: Link): Promise<void> {
    try {
      while (!link.done) {
        const pending = server.pendingOutput(link.session);
        if (pending === 0) break;
        const small = pending <= SMALL_WRITE;
        const out = small
          ? smallPool.pop() ?? new Uint8Array(SMALL_WRITE)
          : pool.pop() ?? new Uint8Array(WRITE_BUF);
        try {
          let n = 0;
          while (n < out.length) {
            const got = server.output(link.session, out, n, out.length - n);
            if (got === 0) break;
            n += got;
          }
          if (n === 0) break; // nothing could be drained after all
          let off = 0;
          while (off < n) off += await link.conn.write(out.subarray(off, n));
        } finally {
          give(small ? smallPool : pool, out);
        }
      }
    } catch {
      // The peer went away mid-write: end the connection; the reader sees it and closes the session.
      link.done = true;
      try {
        link.conn.close();
      } catch { /* already closed */ }
    } finally {
      link.flushing = null;
      // Draining output may have served buffered frames, some of which parked.
      watchParked(link.session);
    }
  }

  /** Starts the link's writer when replies are queued and none runs; returns the running one. */
  function kick(link: Link): Promise<void> | null {
    if (link.flushing === null && !link.done && server.pendingOutput(link.session) > 0) {
      link.flushing = writeOut(link);
    }
    return link.flushing;
  }

  function tick(): void {
    server.poll();
    let parked = false;
    for (const link of links) {
      kick(link);
      if (server.parked(link.session) > 0) parked = true;
    }
    if (!parked && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  }

  /** Runs the poll timer while session s has parked requests. */
  function watchParked(s: number): void {
    if (timer === null && !closing && server.parked(s) > 0) timer = setInterval(tick, pollMs);
  }

  async function serveConn(conn: Deno.Conn): Promise<void> {
    const session = server.openSession();
    if (session < 0) {
      conn.close();
      return;
    }
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch { /* not TCP */ }
    const link = new Link(conn, session);
    links.add(link);
    const small = new Uint8Array(SMALL_READ);
    let big: Uint8Array | null = null;
    try {
      while (!closing && !link.done) {
        if (server.closed(session)) break;
        const inBuf = big ?? small;
        const room = Math.min(server.inputSpace(session), inBuf.length);
        if (room <= 0) {
          // Input waits for replies to drain: wait for the writer (or briefly, for parked reads).
          const w = kick(link);
          if (w) await w;
          else await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        const n = await conn.read(room === inBuf.length ? inBuf : inBuf.subarray(0, room));
        if (n === null) break;
        server.input(session, inBuf, 0, n);
        if (big === null && n === SMALL_READ) big = readPool.pop() ?? new Uint8Array(BIG_READ);
        else if (big !== null && n < SMALL_READ) {
          give(readPool, big);
          big = null;
        }
        kick(link);
        watchParked(session);
      }
      // Replies to what was read before the peer half-closed still go out.
      while (!link.done && server.pendingOutput(session) > 0) {
        const w = kick(link);
        if (w) await w;
        else break;
      }
      await link.flushing;
    } catch {
      // The peer went away mid-read: the session ends like a hang-up.
    } finally {
      link.done = true;
      if (big !== null) give(readPool, big);
      await link.flushing;
      links.delete(link);
      server.closeSession(session);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) {
        const t = serveConn(conn);
        tasks.add(t);
        t.finally(() => tasks.delete(t));
      }
    } catch {
      // listener closed
    }
  })();

  const addr = listener.addr as Deno.NetAddr;
  return {
    port: addr.port,
    hostname: addr.hostname,
    sessions: () => links.size,
    async close() {
      closing = true;
      if (timer !== null) clearInterval(timer);
      timer = null;
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const link of links) {
        try {
          link.conn.close();
        } catch { /* already closed */ }
      }
      await acceptLoop;
      await Promise.allSettled([...tasks]);
    },
  };
}
