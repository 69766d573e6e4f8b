/**
 * `Fleet`: one follower per hive in one process, the Prometheus endpoint (Deno.serve + prom-client)
 * and the JetStream sink they share. `cohesix fleet` is a thin CLI over this; tests and the
 * benchmark drive it directly.
 */
import { HiveFollower, type HiveTarget } from "./hive_follower.ts";
import { type FleetSink, JetStreamSink } from "./jetstream_sink.ts";
import { fleetRegistry } from "./metrics.ts";

export interface FleetOptions {
  hives: HiveTarget[];
  /** `host:port` for `/metrics` (port 0 picks a free one); absent: no HTTP endpoint. */
  prometheus?: { host: string; port: number };
  /** NATS server URL; absent: telemetry is followed (and counted) but not published. */
  nats?: string;
  stream?: string;
  role?: string;
  ticket?: string;
  pollMs?: number;
  backoffMs?: number;
  backoffMaxMs?: number;
  pollTimeoutMs?: number;
  /** Include prom-client's process metrics (`cohesix_fleet_process_*`). */
  processMetrics?: boolean;
  log?: (line: string) => void;
}

export class Fleet {
  readonly followers: HiveFollower[];
  metricsUrl: string | null = null;
  private server: Deno.HttpServer | null = null;
  private runs: Promise<void>[] = [];

  private constructor(followers: HiveFollower[], private readonly sink: FleetSink | null) {
    this.followers = followers;
  }

  /** Connects to NATS (when asked), starts the HTTP endpoint and one follower per hive. */
  static async start(opts: FleetOptions): Promise<Fleet> {
    const names = new Set<string>();
    for (const h of opts.hives) {
      if (names.has(h.name)) {
        throw new Error(`two hives are named '${h.name}': give each a distinct NAME@HOST:PORT`);
      }
      names.add(h.name);
    }
    const log = opts.log ?? (() => {});
    const sink = opts.nats ? await JetStreamSink.open(opts.nats, opts.stream ?? "COHESIX") : null;
    const followers = opts.hives.map((target) =>
      new HiveFollower(target, {
        role: opts.role ?? "observer",
        ticket: opts.ticket ?? "",
        pollMs: opts.pollMs ?? 250,
        backoffMs: opts.backoffMs ?? 200,
        backoffMaxMs: opts.backoffMaxMs ?? 5000,
        pollTimeoutMs: opts.pollTimeoutMs ?? 10_000,
        sink,
        log,
      })
    );
    const fleet = new Fleet(followers, sink);
    if (opts.prometheus) {
      const registry = fleetRegistry(() => followers.map((f) => f.snapshot), opts.processMetrics ?? true);
      try {
        fleet.server = serveMetrics(opts.prometheus.host, opts.prometheus.port, registry);
      } catch (e) {
        await sink?.close();
        throw e;
      }
      const addr = fleet.server.addr as Deno.NetAddr;
      const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
      fleet.metricsUrl = `http://${host}:${addr.port}/metrics`;
    }
    fleet.runs = followers.map((f) => f.run());
    return fleet;
  }

  async stop(): Promise<void> {
    for (const f of this.followers) f.stop();
    await Promise.all(this.runs);
    await this.server?.shutdown();
    await this.sink?.close();
  }
}

/** Binds synchronously (Deno.serve throws AddrInUse at once) and serves prom-client's registry at /metrics. */
function serveMetrics(
  hostname: string,
  port: number,
  registry: { metrics(): Promise<string>; contentType: string },
): Deno.HttpServer {
  try {
    return Deno.serve({ hostname, port, onListen: () => {} }, async (req) => {
      const path = new URL(req.url).pathname;
      if (path !== "/metrics") {
        return new Response("not found: the exposition is at /metrics\n", { status: 404 });
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response("method not allowed\n", { status: 405 });
      }
      return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
    });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `Cannot serve metrics on ${hostname}:${port}: the port is in use; pass --prometheus HOST:PORT (port 0 picks a free one)`,
      );
    }
    throw e;
  }
}
