/**
 * Benchmark (not a test): `cohesix mount` against its peers, in one run on the same files.
 *
 *   - mount        `cohesix mount` (default: no kernel cache, every stat asks the server)
 *   - mount+cache  `cohesix mount --cache-seconds 1` (bindfs's own default attribute/entry timeouts)
 *   - 9p           our pipelining 9P client in this process, no kernel (walk+getattr+clunk per stat;
 *                  reads 16 deep)
 *   - bindfs       Debian's bindfs (libfuse high-level) passing through a local copy of the files
 *   - local        the local copy itself, no FUSE (the floor)
 *
 * The 9P server is the Secure9P core the hive runs (bench/mount/serve.ts, static files: a 4 MiB
 * file and a 4 KiB one). Workloads: a sequential read of the 4 MiB file through 128 KiB read(2)
 * calls (sha256 checked once per path), the same read by 4 readers at once (4 `cat` processes on
 * kernel paths, 4 pipelined reads on the 9P client: do concurrent FUSE requests overlap?), and
 * 10,000 stat calls on the small file. Each rep runs every
 * path in a rotating order; the median of --reps is printed with ratios.
 *
 * Usage: deno task bench:mount [--reps 5] [--stats 10000]
 */
import { parseArgs } from "node:util";
import { NineClient } from "../../src/secure9p/host/client.ts";
import { O_RDONLY } from "../../src/secure9p/namespace.ts";
import { BENCH_FILES, BIG, SMALL } from "./files.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const COHESIX = `${ROOT}cohesix`;
const DENO = `${ROOT}node_modules/.bin/deno`;

const { values } = parseArgs({ options: { reps: { type: "string" }, stats: { type: "string" } } });
const REPS = Number(values.reps ?? "5");
const STATS = Number(values.stats ?? "10000");

interface Path {
  name: string;
  /** Reads the 4 MiB file; resolves to the byte count. */
  read(): Promise<number>;
  /** The 4 MiB file's bytes (checked once against the source). */
  bytes(): Promise<Uint8Array>;
  stat(n: number): Promise<void>;
  /** PARALLEL readers of the 4 MiB file at once (separate `cat` processes on kernel paths). */
  readParallel(): Promise<void>;
}

const PARALLEL = 4;

const cleanups: (() => Promise<void>)[] = [];
const log = (s: string) => console.error(`bench:mount: ${s}`);

function mounted(dir: string): boolean {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").some((l) => l.split(" ")[4] === dir);
}

async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`process exited before its first line: ${text}`);
    text += value;
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return text.slice(0, text.indexOf("\n"));
}

async function startServer(): Promise<number> {
  const child = new Deno.Command(DENO, {
    args: ["run", "-A", `${ROOT}bench/mount/serve.ts`],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  cleanups.push(async () => {
    child.kill("SIGTERM");
    await child.status;
  });
  return Number((await firstLine(child)).split(" ")[1]);
}

async function startMount(port: number, extra: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bench-mount-" });
  const child = new Deno.Command(COHESIX, {
    args: ["mount", "--port", String(port), "--json", ...extra, dir],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  cleanups.push(async () => {
    child.kill("SIGTERM");
    await child.status;
    if (mounted(dir)) await new Deno.Command("fusermount3", { args: ["-u", "-z", dir] }).output();
    await Deno.remove(dir).catch(() => {});
  });
  await firstLine(child);
  return dir;
}

async function startBindfs(src: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bench-bindfs-" });
  const child = new Deno.Command("bindfs", { args: ["-f", src, dir], stdout: "null", stderr: "inherit" })
    .spawn();
  cleanups.push(async () => {
    if (mounted(dir)) await new Deno.Command("fusermount3", { args: ["-u", dir] }).output();
    try {
      child.kill("SIGTERM");
    } catch { /* exited at unmount */ }
    await child.status;
    await Deno.remove(dir).catch(() => {});
  });
  // bindfs has no readiness line: wait for the kernel mount to appear.
  while (!mounted(dir)) await new Promise((r) => setTimeout(r, 20));
  return dir;
}

/** A kernel path (FUSE or local): 128 KiB read(2) calls, and stat(2) calls. */
function kernelPath(name: string, dir: string): Path {
  const buf = new Uint8Array(128 << 10);
  return {
    name,
    read: () => {
      const f = Deno.openSync(`${dir}/${BIG}`);
      let total = 0;
      try {
        for (;;) {
          const n = f.readSync(buf);
          if (n === null || n === 0) break;
          total += n;
        }
      } finally {
        f.close();
      }
      return Promise.resolve(total);
    },
    bytes: () => Deno.readFile(`${dir}/${BIG}`),
    readParallel: async () => {
      const cats = Array.from(
        { length: PARALLEL },
        () => new Deno.Command("sh", { args: ["-c", `cat "$0" > /dev/null`, `${dir}/${BIG}`] }).output(),
      );
      for (const o of await Promise.all(cats)) if (!o.success) throw new Error(`${name}: cat failed`);
    },
    stat: (n) => {
      for (let i = 0; i < n; i++) Deno.statSync(`${dir}/${SMALL}`);
      return Promise.resolve();
    },
  };
}

function ninePath(client: NineClient, root: number): Path {
  const readBig = async () => {
    const fid = client.newFid();
    await client.walk(root, fid, [BIG]);
    await client.open(fid, O_RDONLY);
    const data = await client.readAll(fid, 16);
    await client.clunk(fid);
    return data;
  };
  return {
    name: "9p",
    read: async () => (await readBig()).length,
    readParallel: async () => {
      await Promise.all(Array.from({ length: PARALLEL }, readBig));
    },
    bytes: readBig,
    stat: async (n) => {
      for (let i = 0; i < n; i++) {
        const fid = client.newFid();
        await client.walk(root, fid, [SMALL]);
        await client.getattr(fid);
        await client.clunk(fid);
      }
    },
  };
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>))].map((
    b,
  ) => b.toString(16).padStart(2, "0")).join("");
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const port = await startServer();
  const local = await Deno.makeTempDir({ prefix: "bench-local-" });
  cleanups.push(() => Deno.remove(local, { recursive: true }));
  const files = new Map(BENCH_FILES());
  for (const [name, bytes] of files) await Deno.writeFile(`${local}/${name}`, bytes);
  const client = await NineClient.dial("127.0.0.1", port);
  cleanups.push(() => Promise.resolve(client.close()));
  const root = client.newFid();
  await client.attach(root, "bench", "");
  const paths: Path[] = [
    kernelPath("mount", await startMount(port, [])),
    kernelPath("mount+cache", await startMount(port, ["--cache-seconds", "1"])),
    ninePath(client, root),
    kernelPath("bindfs", await startBindfs(local)),
    kernelPath("local", local),
  ];
  // Every path reads the same bytes.
  const want = await sha256(files.get(BIG)!);
  for (const p of paths) {
    if ((await sha256(await p.bytes())) !== want) throw new Error(`${p.name} read different bytes`);
  }
  const readMs = new Map<string, number[]>();
  const statMs = new Map<string, number[]>();
  const parMs = new Map<string, number[]>();
  for (let rep = 0; rep < REPS; rep++) {
    const order = paths.map((_, i) => paths[(i + rep) % paths.length]);
    for (const p of order) {
      let t = performance.now();
      const n = await p.read();
      if (n !== 4 << 20) throw new Error(`${p.name} read ${n} bytes, not 4 MiB`);
      readMs.set(p.name, [...(readMs.get(p.name) ?? []), performance.now() - t]);
      t = performance.now();
      await p.readParallel();
      parMs.set(p.name, [...(parMs.get(p.name) ?? []), performance.now() - t]);
      t = performance.now();
      await p.stat(STATS);
      statMs.set(p.name, [...(statMs.get(p.name) ?? []), performance.now() - t]);
    }
    log(`rep ${rep + 1}/${REPS} done`);
  }
  const row = (name: string) => {
    const r = median(readMs.get(name)!);
    const s = median(statMs.get(name)!);
    return {
      name,
      readMs: r,
      mbps: 4 / (r / 1000) * 1.048576,
      parMs: median(parMs.get(name)!),
      statUs: (s * 1000) / STATS,
    };
  };
  const rows = paths.map((p) => row(p.name));
  console.log(
    `mount benchmark: 4 MiB sequential read (128 KiB reads), ${STATS} stats; median of ${REPS} reps`,
  );
  console.log(
    `${"path".padEnd(12)} ${"read ms".padStart(9)} ${"MB/s".padStart(8)} ${
      `${PARALLEL}x read ms`.padStart(12)
    } ${"stat µs".padStart(9)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(12)} ${r.readMs.toFixed(1).padStart(9)} ${r.mbps.toFixed(1).padStart(8)} ${
        r.parMs.toFixed(1).padStart(12)
      } ${r.statUs.toFixed(1).padStart(9)}`,
    );
  }
  const by = new Map(rows.map((r) => [r.name, r]));
  const ratio = (a: string, b: string) => {
    const x = by.get(a)!;
    const y = by.get(b)!;
    return `read time ${(x.readMs / y.readMs).toFixed(2)}x, ${PARALLEL} readers ${
      (x.parMs / y.parMs).toFixed(2)
    }x, stat time ${(x.statUs / y.statUs).toFixed(2)}x`;
  };
  console.log(`ratios (lower is better for the first):`);
  console.log(`  mount / 9p           ${ratio("mount", "9p")}`);
  console.log(`  mount / bindfs       ${ratio("mount", "bindfs")}`);
  console.log(`  mount+cache / bindfs ${ratio("mount+cache", "bindfs")}`);
}

try {
  await main();
} finally {
  for (const c of cleanups.reverse()) await c().catch((e) => log(`cleanup: ${(e as Error).message}`));
}
