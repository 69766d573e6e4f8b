/// <reference lib="dom" />
/**
 * The benchmark page: draws a synthetic hive of N workers with the chosen renderer for F frames,
 * refreshes the state every 500 ms as the bridge does (ticks advance; every worker beats once a
 * second, so ~N pulse rings fade at any time) and leaves the frame times in `globalThis.benchResult`:
 *   interval: requestAnimationFrame to requestAnimationFrame (what the user sees; includes raster
 *             and compositing whenever they hold up the next frame),
 *   script:   the renderer's render() call on the main thread.
 */
import { emptyState, type HiveState, type WorkerView } from "../../src/host/ui/state.ts";
import { CanvasHiveRenderer, type HiveRenderer, paletteFromCss } from "../../ui/src/hive_canvas.ts";
import { PixiHiveRenderer } from "./pixi_renderer.ts";

const q = new URLSearchParams(location.search);
const N = Number(q.get("workers") ?? 1000);
const FRAMES = Number(q.get("frames") ?? 300);
const WARMUP = 30;
const REFRESH_MS = 500;

function synthetic(n: number): HiveState {
  const s = emptyState();
  const workers: WorkerView[] = [];
  for (let i = 1; i <= n; i++) {
    const gpu = i % 10 === 0;
    workers.push({
      id: `worker-${i}`,
      kind: gpu ? "gpu" : "heartbeat",
      tick: i % 97,
      ticks: gpu ? 0 : 100,
      opsUsed: i % 13,
      opsBudget: gpu ? 16 : 10000,
      ttlMsLeft: 300000 - i * 10,
      lastHeartbeat: "",
      cursor: 0,
      dropped: 0,
      ...(gpu ? { gpu: `GPU-${(i / 10) % 8}` } : {}),
    });
  }
  s.workers = workers;
  s.workersActive = s.workersSpawned = n;
  s.gpus = Array.from({ length: 8 }, (_, g) => ({
    id: `GPU-${g}`,
    model: "sim-a100",
    memMb: 4096,
    streams: 4,
    lease: `worker-${(g + 1) * 10}`,
    leaseMemMb: 1024,
    leaseStreams: 2,
    queued: 0,
    done: g,
  }));
  s.sessions = Array.from(
    { length: 16 },
    (_, i) => ({
      id: i,
      role: i === 0 ? "queen" : "observer",
      subject: "-",
      state: "active",
      ops: i * 7,
      bytes: i * 100,
      open: 2,
    }),
  );
  s.pressure = {
    denied: 0,
    quota: 3,
    busy: 1,
    ctl_rejected: 0,
    attach_refused: 0,
    revoked: 12,
    ticks_skipped: 0,
    telemetry_refused: 0,
  };
  s.lifecycle = { state: "ONLINE", reason: "boot-complete", sinceMs: 0 };
  s.log = Array.from({ length: 6 }, (_, i) => `spawn worker=worker-${n - i} kind=heartbeat ticks=100`);
  return s;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main(): Promise<void> {
  const canvas = document.getElementById("c") as HTMLCanvasElement;
  const pal = paletteFromCss(document.documentElement);
  const kind = q.get("renderer") ?? "canvas2d";
  let r: HiveRenderer;
  try {
    r = kind === "pixi" ? await PixiHiveRenderer.create(canvas, pal) : new CanvasHiveRenderer(canvas, pal);
  } catch (e) {
    (globalThis as any).benchResult = { renderer: kind, error: String((e as Error).message ?? e) };
    return;
  }
  r.resize(canvas.clientWidth, canvas.clientHeight, devicePixelRatio);
  const state = synthetic(N);
  const beats = new Map<string, number>();
  const intervals: number[] = [];
  const script: number[] = [];
  let last = 0;
  let frame = 0;
  let refreshedAt = 0;
  const step = (now: number) => {
    // A refresh every 500 ms, as `cohesix ui` delivers them: ticks advanced, and each worker whose
    // second came round since the last refresh has a new heartbeat (a pulse ring for 1.2 s).
    if (now - refreshedAt >= REFRESH_MS) {
      for (let i = 0; i < state.workers.length; i++) {
        const w = state.workers[i];
        if (Math.floor((now + i * 997) / 1000) !== Math.floor((refreshedAt + i * 997) / 1000)) {
          beats.set(w.id, now);
          if (w.ticks > 0) w.tick = (w.tick + 1) % w.ticks;
        }
      }
      refreshedAt = now;
      state.seq++;
    }
    const t0 = performance.now();
    r.render(state, beats, now);
    const t1 = performance.now();
    if (frame >= WARMUP) {
      intervals.push(now - last);
      script.push(t1 - t0);
    }
    last = now;
    frame++;
    if (frame < FRAMES + WARMUP) requestAnimationFrame(step);
    else {
      (globalThis as any).benchResult = {
        renderer: r.name,
        workers: N,
        frames: intervals.length,
        intervalP50: pct(intervals, 50),
        intervalP99: pct(intervals, 99),
        scriptP50: pct(script, 50),
        scriptP99: pct(script, 99),
        backend: r.describe?.() ?? "canvas 2d",
        missed: intervals.filter((x) => x > 16.7 * 1.5).length / intervals.length,
      };
    }
  };
  requestAnimationFrame((now) => {
    last = now;
    requestAnimationFrame(step);
  });
}

main();
