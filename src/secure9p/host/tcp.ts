/**
 * TCP transport for a `NineServer`: one session per connection. Reads are bounded by the
 * session's input space (so the server never buffers beyond its fixed tables); replies are
 * written as soon as they exist. A timer calls `server.poll()` for parked reads.
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
  writing = false;
  done = false;

  constructor(conn: Deno.Conn, session: number) {
    this.conn = conn;
    this.session = session;
  }
}

/** Write buffers are pooled: only sessions with replies in flight hold one (RSS per session). */
const WRITE_BUF = 32768;

export function serveTcp(server: NineServer, opts: TcpServeOptions = {}): TcpServerHandle {
  const listener = Deno.listen({ hostname: opts.hostname ?? "127.0.0.1", port: opts.port ?? 0 });
  const links = new Set<Link>();
  const tasks = new Set<Promise<void>>();
  let closing = false;

  const pool: Uint8Array[] = [];

  async function flush(link: Link): Promise<void> {
    if (link.writing || server.pendingOutput(link.session) === 0) return;
    link.writing = true;
    const out = pool.pop() ?? new Uint8Array(WRITE_BUF);
    try {
      while (!link.done) {
        // Several queued replies go out in one write.
        let n = 0;
        while (n < out.length) {
          const got = server.output(link.session, out, n, out.length - n);
          if (got === 0) break;
          n += got;
        }
        if (n === 0) break;
        let off = 0;
        while (off < n) off += await link.conn.write(out.subarray(off, n));
      }
    } finally {
      link.writing = false;
      pool.push(out);
    }
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
    // A small per-connection read buffer (RSS per session): input is bounded by the session's
    // input space anyway.
    const link = new Link(conn, session);
    links.add(link);
    const inBuf = new Uint8Array(8192);
    try {
      while (!closing) {
        await flush(link);
        if (server.closed(session)) break;
        const room = Math.min(server.inputSpace(session), inBuf.length);
        if (room <= 0) {
          // Output is still being written by a poll-triggered flush; let it finish.
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        const n = await conn.read(room === inBuf.length ? inBuf : inBuf.subarray(0, room));
        if (n === null) break;
        server.input(session, inBuf, 0, n);
      }
      await flush(link);
    } catch {
      // The peer went away mid-read or mid-write: the session ends like a hang-up.
    } finally {
      link.done = true;
      links.delete(link);
      server.closeSession(session);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  const timer = setInterval(() => {
    server.poll();
    for (const link of links) if (server.pendingOutput(link.session) > 0) flush(link).catch(() => {});
  }, opts.pollMs ?? 5);

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
      clearInterval(timer);
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
