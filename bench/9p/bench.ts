/**
 * Secure9P benchmark: our server (a separate Deno process, bench/9p/serve.ts) against Debian's
 * diod (its default 16 worker threads) exporting the same files, on loopback, driven by the same
 * client code in this process (the load generator is identical for both):
 *   small   walk + getattr + clunk, one at a time per session
 *   read4k  4 KiB Tread of an open file, one at a time per session
 *   stream  64 MiB file read in 8 KiB Treads at msize 8192, 4 in flight per session
 * each with 1, 4 and 16 sessions, for --seconds per run, --reps runs per cell alternating between
 * the servers (the one going first alternates too). Per cell it prints the median ops/s and MB/s,
 * the spread of the runs (half the min..max range, in % of the median), p50/p99 latency of the
 * median run, the ours/diod ratio of the medians, and the server's CPU time per op (user+system
 * of the whole server process from /proc, all threads): the row least disturbed by other load on
 * a shared machine. Then 1,000 attached sessions: RSS growth of each server process per session.
 * --pin CLIENT,SERVER (e.g. 0,1) pins this process (the load generator) and each server process with
 * every thread to one CPU each (taskset): a per-core comparison, where a multi-threaded server
 * cannot take more CPU time than a single-threaded one when other load competes for the machine
 * (Deno's own helper threads, V8 compiler and GC, then share the server's CPU too).
 * Usage: deno task bench:9p [--seconds 1.5] [--reps 5] [--sessions-rss 1000] [--only small,read4k,stream]
 *        [--pin 0,1]
 */
import { parseArgs } from "node:util";
import { NineClient } from "../../src/secure9p/host/client.ts";
import { O_RDONLY } from "../../src/secure9p/namespace.ts";
import { benchFile } from "./files.ts";
import { measureCore } from "./core.ts";
import { firstStdoutLine } from "../dev_hive.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "1.5" },
    reps: { type: "string", default: "5" },
    "sessions-rss": { type: "string", default: "1000" },
    only: { type: "string", default: "small,read4k,stream" },
    pin: { type: "string", default: "" },
  },
});
const SECONDS = Number(values.seconds);
const REPS = Number(values.reps);
const RSS_SESSIONS = Number(values["sessions-rss"]);
const PIN = values.pin === "" ? null : values.pin.split(",").map(Number);
if (PIN && (PIN.length !== 2 || PIN.some((c) => !Number.isInteger(c) || c < 0))) {
  throw new Error(`Cannot use --pin ${values.pin}: give two CPU numbers, CLIENT,SERVER`);
}

/** Pins every thread of a process to one CPU (taskset -a), when --pin is given. */
async function pin(pid: number, cpu: number): Promise<void> {
  const r = await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", String(cpu), String(pid)],
    stdout: "null",
  })
    .output();
  if (!r.success) throw new Error(`Cannot pin process ${pid} to CPU ${cpu}: taskset failed`);
}
const BIG = 64 << 20;
const CHUNK = 8192 - 24;
const HERE = new URL(".", import.meta.url).pathname;

interface Target {
  name: string;
  port: number;
  pid: number;
  aname: string;
  child: Deno.ChildProcess;
}

interface Result {
  ops: number;
  bytes: number;
  lat: number[];
  secs: number;
  /** Server CPU seconds (user + system, all threads) spent during the run. */
  cpu: number;
}

/** CPU seconds (user + system, every thread) a process has used, from /proc/<pid>/stat. */
async function cpuSecs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 (utime, stime) are 12 and 13 after the command name; USER_HZ is 100 on Linux.
  return (Number(f[11]) + Number(f[12])) / 100;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`Cannot reach 127.0.0.1:${port}`);
}

async function startDiod(dir: string): Promise<Target> {
  const port = freePort();
  const child = new Deno.Command("/usr/sbin/diod", {
    args: ["-f", "-n", "-e", dir, "-l", `127.0.0.1:${port}`, "-L", "/dev/null"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitPort(port);
  return { name: "diod", port, pid: child.pid, aname: dir, child };
}

async function startOurs(): Promise<Target> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${HERE}serve.ts`, String(RSS_SESSIONS + 100)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const text = await firstStdoutLine(child, "bench/9p/serve.ts");
  child.stdout.cancel().catch(() => {});
  const port = Number(/PORT (\d+)/.exec(text)![1]);
  return { name: "cohesix", port, pid: child.pid, aname: "", child };
}

async function session(t: Target): Promise<{ c: NineClient; root: number }> {
  const c = await NineClient.dial("127.0.0.1", t.port, { msize: 8192, maxInflight: 16 });
  const root = c.newFid();
  await c.attach(root, "root", t.aname, 0);
  return { c, root };
}

async function openFile(c: NineClient, root: number, name: string): Promise<number> {
  const f = c.newFid();
  await c.walk(root, f, [name]);
  await c.open(f, O_RDONLY);
  return f;
}

type Load = "small" | "read4k" | "stream";

async function runCell(t: Target, load: Load, sessions: number, seconds: number): Promise<Result> {
  const ss = await Promise.all(Array.from({ length: sessions }, () => session(t)));
  const fids = await Promise.all(
    ss.map(({ c, root }) =>
      load === "small" ? Promise.resolve(0) : openFile(c, root, load === "read4k" ? "f4k" : "big")
    ),
  );
  const lat: number[] = [];
  let ops = 0;
  let bytes = 0;
  const cpu0 = await cpuSecs(t.pid);
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(ss.map(async ({ c, root }, i) => {
    const fid = fids[i];
    if (load === "small") {
      while (performance.now() < deadline) {
        const a = performance.now();
        const f = c.newFid();
        await c.walk(root, f, ["f4k"]);
        await c.getattr(f);
        await c.clunk(f);
        lat.push(performance.now() - a);
        ops++;
      }
    } else if (load === "read4k") {
      while (performance.now() < deadline) {
        const a = performance.now();
        const d = await c.read(fid, 0, 4096);
        lat.push(performance.now() - a);
        bytes += d.length;
        ops++;
      }
    } else {
      let offset = 0;
      const lane = async () => {
        while (performance.now() < deadline) {
          const off = offset;
          offset = (offset + CHUNK) % BIG;
          const a = performance.now();
          const d = await c.read(fid, off, CHUNK);
          lat.push(performance.now() - a);
          bytes += d.length;
          ops++;
        }
      };
      await Promise.all([lane(), lane(), lane(), lane()]);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  const cpu = (await cpuSecs(t.pid)) - cpu0;
  for (const { c } of ss) c.close();
  return { ops, bytes, lat, secs, cpu };
}

function pct(lat: number[], p: number): number {
  const s = Float64Array.from(lat).sort();
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function rssKb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function rssPerSession(t: Target, n: number): Promise<{ before: number; after: number; per: number }> {
  await new Promise((r) => setTimeout(r, 200));
  const before = await rssKb(t.pid);
  const clients: NineClient[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => session(t)));
    clients.push(...batch.map((b) => b.c));
  }
  // Every session is attached and answering.
  await Promise.all(clients.map((c) => c.getattr(1)));
  await new Promise((r) => setTimeout(r, 200));
  const after = await rssKb(t.pid);
  for (const c of clients) c.close();
  await Promise.all(clients.map((c) => c.closed()));
  // Give the server time to see every hang-up before the next round.
  await new Promise((r) => setTimeout(r, 500));
  return { before, after, per: ((after - before) * 1024) / n };
}

const fmt = (v: number, d = 0) => v.toFixed(d).padStart(9);
const spread = (v: number) => `±${v.toFixed(0)}%`.padEnd(5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median ops/s and MB/s of a cell's runs, their spread, latency of the median run, CPU per op. */
function summarize(rs: Result[]) {
  const rate = rs.map((r) => r.ops / r.secs);
  const ops = median(rate);
  const mid = [...rs].sort((a, b) => a.ops / a.secs - b.ops / b.secs)[rs.length >> 1];
  return {
    ops,
    spread: ((Math.max(...rate) - Math.min(...rate)) / 2 / ops) * 100,
    mbs: median(rs.map((r) => r.bytes / r.secs / 1e6)),
    p50: pct(mid.lat, 50),
    p99: pct(mid.lat, 99),
    cpuPerOp: median(rs.map((r) => (r.cpu / Math.max(1, r.ops)) * 1e6)),
  };
}

async function loadAvg(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}

async function main() {
  const dir = await Deno.makeTempDir({ prefix: "bench9p-" });
  await Deno.writeFile(`${dir}/f4k`, benchFile(4096));
  await Deno.writeFile(`${dir}/big`, benchFile(BIG));
  const targets: Target[] = [];
  try {
    targets.push(await startOurs());
    targets.push(await startDiod(dir));
    if (PIN) {
      await pin(Deno.pid, PIN[0]);
      // Threads a server starts later inherit its affinity.
      for (const t of targets) await pin(t.pid, PIN[1]);
    }
    console.log(
      `Secure9P bench: cohesix (Deno ${Deno.version.deno}, single thread) vs diod (16 worker threads); ` +
        `${REPS} alternating ${SECONDS}s runs per cell, median (±half-range %), loopback, ` +
        `${navigator.hardwareConcurrency} CPUs, ` +
        `${PIN ? `pinned: client CPU ${PIN[0]}, each server CPU ${PIN[1]}` : "not pinned"}, ` +
        `load average at start ${await loadAvg()}`,
    );
    // Warm-up of every load on both servers (JIT, page cache), not measured.
    for (const t of targets) {
      for (const load of ["small", "read4k", "stream"] as Load[]) await runCell(t, load, 4, 1);
    }
    console.log(
      "load     sess | ops/s cohesix          diod          ratio |  MB/s cohesix     diod |" +
        " p50/p99 ms cohesix     diod    | server CPU us/op cohesix  diod",
    );
    for (const load of values.only.split(",") as Load[]) {
      for (const sessions of [1, 4, 16]) {
        // Alternating runs expose both servers to the same conditions on a shared machine;
        // the median ignores a run slowed by unrelated load, the spread shows how noisy it was.
        const runs: Result[][] = [[], []];
        for (let rep = 0; rep < REPS; rep++) {
          const order = rep % 2 === 0 ? [0, 1] : [1, 0];
          for (const k of order) runs[k].push(await runCell(targets[k], load, sessions, SECONDS));
        }
        const [o, d] = [summarize(runs[0]), summarize(runs[1])];
        console.log(
          `${load.padEnd(8)} ${String(sessions).padStart(4)} |${fmt(o.ops)} ${spread(o.spread)}` +
            `${fmt(d.ops)} ${spread(d.spread)} ${(o.ops / d.ops).toFixed(2).padStart(5)} |` +
            `${load === "small" ? "        -         -" : `${fmt(o.mbs, 1)} ${fmt(d.mbs, 1)}`} |` +
            ` ${o.p50.toFixed(3)}/${o.p99.toFixed(3)}`.padEnd(16) +
            ` ${d.p50.toFixed(3)}/${d.p99.toFixed(3)}`.padEnd(16) +
            ` |${fmt(o.cpuPerOp, 1)} ${fmt(d.cpuPerOp, 1)}`,
        );
      }
    }
    const core = measureCore(SECONDS);
    console.log(
      `server core in-process (no sockets, no peer): walk+getattr+clunk ${core.smallOps.toFixed(0)} ops/s, ` +
        `8 KiB reads ${core.readMBs.toFixed(0)} MB/s`,
    );
    console.log(`load average at the end of the throughput rows: ${await loadAvg()}`);
    if (RSS_SESSIONS > 0) {
      // Three rounds per server (alternating): the first counts heap the process grows for good,
      // later rounds reuse memory freed by the previous one. All three are printed.
      const rounds: { before: number; after: number; per: number }[][] = [[], []];
      for (let round = 0; round < 3; round++) {
        for (let k = 0; k < 2; k++) rounds[k].push(await rssPerSession(targets[k], RSS_SESSIONS));
      }
      for (let k = 0; k < 2; k++) {
        const r = rounds[k];
        console.log(
          `${RSS_SESSIONS} attached sessions, ${targets[k].name.padEnd(7)}: RSS ${r[0].before} kB -> ` +
            `${r[0].after} kB; KiB per session in rounds 1/2/3: ` +
            r.map((x) => (x.per / 1024).toFixed(1)).join(" / "),
        );
      }
    }
  } finally {
    for (const t of targets) {
      try {
        t.child.kill("SIGTERM");
      } catch { /* gone */ }
      await t.child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
}

await main();
