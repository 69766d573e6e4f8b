/**
 * Test fixtures for the fleet: real Debian engines (nats-server with JetStream, prometheus) on free
 * ports in temporary directories, and in-process hosted hives on a manual clock, so a test decides
 * exactly how many heartbeats each worker writes.
 */
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { NineClient } from "../../src/secure9p/host/client.ts";
import { O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Polls `ok` until it holds (the event we wait for), failing after `ms` with `what`. */
export async function until(ok: () => Promise<boolean> | boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** A child process whose stderr/stdout we scan for a line, then keep draining. */
export class Engine {
  private text = "";
  private readonly drained: Promise<void>;
  constructor(readonly name: string, readonly child: Deno.ChildProcess) {
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) this.text += chunk;
    };
    this.drained = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => {});
  }
  get output(): string {
    return this.text;
  }
  async waitFor(re: RegExp): Promise<RegExpExecArray> {
    let m: RegExpExecArray | null = null;
    await until(
      () => (m = re.exec(this.text)) !== null,
      `${this.name} to print ${re}\n${this.text.slice(-2000)}`,
    );
    return m!;
  }
  async stop(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.child.status;
    await this.drained;
  }
}

/** `nats-server -js` on a random port (-p -1) with its store in `dir`; returns the client URL. */
export async function startNats(
  dir: string,
  port = -1,
): Promise<{ engine: Engine; url: string; port: number }> {
  const child = new Deno.Command("nats-server", {
    args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const engine = new Engine("nats-server", child);
  const m = await engine.waitFor(/Listening for client connections on 127\.0\.0\.1:(\d+)/);
  await engine.waitFor(/Server is ready/);
  const p = Number(m[1]);
  return { engine, url: `nats://127.0.0.1:${p}`, port: p };
}

/** A port nobody listens on right now (prometheus has no "pick a free port" flag of its own). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Debian's `prometheus` scraping `target` (host:port) every second; returns its HTTP API base URL. */
export async function startPrometheus(dir: string, target: string): Promise<{ engine: Engine; api: string }> {
  const config = `${dir}/prometheus.yml`;
  await Deno.writeTextFile(
    config,
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: cohesix-fleet\n    static_configs:\n      - targets: ["${target}"]\n`,
  );
  for (let attempt = 0;; attempt++) {
    const port = freePort();
    const child = new Deno.Command("prometheus", {
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=info",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const engine = new Engine("prometheus", child);
    try {
      await engine.waitFor(/Server is ready to receive web requests|address already in use/);
    } catch (e) {
      await engine.stop();
      throw e;
    }
    if (!/address already in use/.test(engine.output)) return { engine, api: `http://127.0.0.1:${port}` };
    await engine.stop();
    if (attempt >= 3) {
      throw new Error(`prometheus could not bind a free port:\n${engine.output.slice(-1000)}`);
    }
  }
}

/** An in-process hosted hive on a manual clock: `tick(n)` makes every heartbeat worker write n lines. */
export class TestHive {
  now = 1_000_000;
  hive: HostedHive;
  private queen: NineClient | null = null;
  private root = 0;
  constructor(port = 0) {
    this.hive = HostedHive.start({
      ninepPort: port,
      noConsole: true,
      boot: defaultBootConfig(),
      clock: () => this.now,
      tickMs: 5,
    });
  }
  get port(): number {
    return this.hive.ninepPort;
  }
  private async q(): Promise<NineClient> {
    if (!this.queen) {
      this.queen = await NineClient.dial("127.0.0.1", this.port);
      this.root = this.queen.newFid();
      await this.queen.attach(this.root, "queen", "");
    }
    return this.queen;
  }
  async ctl(line: string): Promise<void> {
    const c = await this.q();
    const fid = c.newFid();
    await c.walk(this.root, fid, ["queen", "ctl"]);
    await c.open(fid, O_WRONLY);
    await c.write(fid, 0, enc.encode(line + "\n"));
    await c.clunk(fid);
  }
  async spawn(n: number, ticks = 100_000): Promise<void> {
    for (let i = 0; i < n; i++) await this.ctl(JSON.stringify({ spawn: "heartbeat", ticks }));
  }
  async read(path: string): Promise<string> {
    const c = await this.q();
    const fid = c.newFid();
    await c.walk(this.root, fid, path.split("/").filter((p) => p !== ""));
    await c.open(fid, O_RDONLY);
    const data = await c.readAll(fid);
    await c.clunk(fid);
    return dec.decode(data);
  }
  /** Advances the clock by `n` ticks and waits until the hive has run them (worker-1's tick moved). */
  async tick(n: number): Promise<void> {
    const tickOf = async () => Number(/ tick=(\d+)/.exec(await this.read("/proc/workers"))?.[1] ?? -1);
    const before = await tickOf();
    this.now += n * 1000;
    if (before >= 0) await until(async () => (await tickOf()) >= before + n, `${n} hive ticks`);
  }
  async stop(): Promise<void> {
    this.queen?.close();
    this.queen = null;
    await this.hive.stop();
  }
}
