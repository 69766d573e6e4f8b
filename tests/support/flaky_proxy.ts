/**
 * A TCP proxy that injects real connection drops between a client and the hive: connections pass
 * through untouched, except that the first `cuts` connections to carry more than `cutAfterBytes`
 * client bytes are closed right after forwarding the chunk that crossed the mark (the hive may or
 * may not have acted on it, exactly the uncertainty a client's retry has to handle). With
 * `refuseAfterCut`, every connection opened after the last cut is closed at once. `down()` cuts every
 * connection and refuses new ones until `up()`: the hive unreachable, from the client's side.
 */
export interface FlakyProxyOptions {
  cutAfterBytes: number;
  cuts: number;
  refuseAfterCut?: boolean;
}

export class FlakyProxy {
  readonly port: number;
  cutsDone = 0;
  connections = 0;
  /** Bytes the clients sent through the proxy (9P frames and all), over every connection. */
  bytesUp = 0;
  private listener: Deno.Listener;
  private open = new Set<Deno.Conn>();
  private isDown = false;
  private accepting: Promise<void>;

  constructor(private targetPort: number, private opts: FlakyProxyOptions) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.listener.addr as Deno.NetAddr).port;
    this.accepting = this.acceptLoop();
  }

  private async acceptLoop(): Promise<void> {
    for await (const client of this.listener) {
      this.connections++;
      if (this.isDown || (this.opts.refuseAfterCut && this.cutsDone >= this.opts.cuts)) {
        client.close();
        continue;
      }
      this.pipe(client).catch(() => {});
    }
  }

  private async pipe(client: Deno.Conn): Promise<void> {
    const server = await Deno.connect({ hostname: "127.0.0.1", port: this.targetPort });
    this.open.add(client);
    this.open.add(server);
    const close = () => {
      for (const c of [client, server]) {
        if (this.open.delete(c)) {
          try {
            c.close();
          } catch { /* already closed */ }
        }
      }
    };
    const upstream = (async () => {
      let sent = 0;
      const buf = new Uint8Array(16384);
      for (;;) {
        const n = await client.read(buf);
        if (n === null) break;
        await server.write(buf.subarray(0, n));
        sent += n;
        this.bytesUp += n;
        if (sent > this.opts.cutAfterBytes && this.cutsDone < this.opts.cuts) {
          this.cutsDone++;
          break;
        }
      }
    })();
    const downstream = (async () => {
      const buf = new Uint8Array(16384);
      for (;;) {
        const n = await server.read(buf);
        if (n === null) break;
        await client.write(buf.subarray(0, n));
      }
    })();
    await Promise.race([upstream.catch(() => {}), downstream.catch(() => {})]);
    close();
    await Promise.allSettled([upstream, downstream]);
  }

  /** Cuts every open connection and refuses new ones. */
  down(): void {
    this.isDown = true;
    for (const c of this.open) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.open.clear();
  }

  up(): void {
    this.isDown = false;
  }

  async close(): Promise<void> {
    this.listener.close();
    await this.accepting.catch(() => {});
    for (const c of this.open) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.open.clear();
  }
}
