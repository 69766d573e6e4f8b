/**
 * `deno task bench:ui`: what the live view costs with 1,000 workers in headless chromium, for the
 * two renderers measured in the same run — plain Canvas 2D (what `cohesix ui` ships) and PixiJS
 * (WebGL, as the seeds' SwarmUI used) — and the size of the bundle the binary serves.
 *
 *   --workers 100,1000   worker counts      --frames 300   measured frames per run (after 30 warm-up)
 *   --reps 3             runs per case, alternating the renderers; medians reported
 *   --swiftshader        let chromium fall back to SwiftShader WebGL (--enable-unsafe-swiftshader)
 *   --json               one JSON document instead of the table
 *
 * Frame time is the requestAnimationFrame interval (p50/p99; 16.7 ms is 60 fps), with the main-thread
 * render() time beside it. Headless chromium runs with --disable-gpu, as in the tests: both renderers
 * rasterise in software, which is what a browser without a GPU (or a CI machine) does.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { buildBundle, esbuildOptions } from "../../src/host/ui/assets.ts";
import { CHROMIUM, CHROMIUM_ARGS } from "../../tests/ui/support/browser.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    workers: { type: "string", default: "100,1000" },
    frames: { type: "string", default: "300" },
    reps: { type: "string", default: "3" },
    swiftshader: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const say = (l: string) => console.error(l);
const here = new URL(".", import.meta.url).pathname;
const tmp = await Deno.makeTempDir({ prefix: "cohesix-bench-ui-" });

// 1. The shipped bundle (what `cohesix ui` serves) and its gzip size; the bench page with PixiJS.
const shipped = await buildBundle(join(tmp, "app"), say);
const gz = async (p: string) => {
  const data = await Deno.readFile(p);
  const s = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(s).arrayBuffer()).byteLength;
};
const appJs = join(tmp, "app", "app.js");
say("bench:ui: bundling the benchmark page (both renderers) with esbuild");
const esbuild = await import("esbuild");
await esbuild.build(
  esbuildOptions({ pixi: join(here, "pixi_only.ts"), page: join(here, "page.ts") }, join(tmp, "page")),
);
await esbuild.stop();
const sizes = {
  appJs: shipped.files["app.js"].bytes,
  appJsGzip: await gz(appJs),
  appCss: shipped.files["app.css"].bytes,
  indexHtml: shipped.files["index.html"].bytes,
  pixiJs: (await Deno.stat(join(tmp, "page", "pixi.js"))).size,
  pixiJsGzip: await gz(join(tmp, "page", "pixi.js")),
};
const html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><style>
:root{--bg:#0f1216;--panel:#161b22;--line:#2a313b;--text:#d7dde5;--dim:#8b95a3;--ok:#3fb950;--err:#f85149;--warn:#d29922;--heartbeat:#e3b341;--gpu:#39c5cf;--session:#a371f7}
html,body{margin:0;height:100%;background:#0f1216}#c{width:100%;height:100%;display:block}</style>
<script type="module" src="/page.js"></script></head><body><canvas id="c"></canvas></body></html>`;
const pageJs = await Deno.readFile(join(tmp, "page", "page.js"));
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/page.js") return new Response(pageJs, { headers: { "content-type": "text/javascript" } });
  return new Response(html, { headers: { "content-type": "text/html" } });
});

// 2. Frame times: each case in a fresh page, renderers alternating, `reps` times.
const args = values.swiftshader ? [...CHROMIUM_ARGS, "--enable-unsafe-swiftshader"] : CHROMIUM_ARGS;
const profile = await Deno.makeTempDir({ prefix: "cohesix-bench-chromium-" });
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args,
  viewport: { width: 1400, height: 820 },
});
interface Result {
  renderer: string;
  workers: number;
  error?: string;
  intervalP50: number;
  intervalP99: number;
  scriptP50: number;
  scriptP99: number;
  missed: number;
  backend?: string;
}
const results: Result[][] = [];
const counts = values.workers.split(",").map(Number);
try {
  for (const n of counts) {
    const runs: Record<string, Result[]> = { canvas2d: [], pixi: [] };
    for (let rep = 0; rep < Number(values.reps); rep++) {
      for (const renderer of ["canvas2d", "pixi"]) {
        const page = await context.newPage();
        await page.goto(
          `http://127.0.0.1:${server.addr.port}/?renderer=${renderer}&workers=${n}&frames=${values.frames}`,
        );
        await page.waitForFunction(() => (globalThis as any).benchResult !== undefined, undefined, {
          timeout: 300000,
        });
        const r = await page.evaluate(() => (globalThis as any).benchResult) as Result;
        await page.close();
        say(
          `bench:ui: ${renderer} ${n} workers rep ${rep + 1}: ${
            r.error ?? `frame p50 ${r.intervalP50.toFixed(1)} ms p99 ${r.intervalP99.toFixed(1)} ms`
          }`,
        );
        runs[renderer].push({ ...r, renderer, workers: n });
      }
    }
    results.push(Object.values(runs).map(median));
  }
} finally {
  await context.close();
  await server.shutdown();
  await Deno.remove(profile, { recursive: true }).catch(() => {});
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
}

function median(rs: Result[]): Result {
  const ok = rs.filter((r) => r.error === undefined);
  if (ok.length === 0) return rs[0];
  const m = (k: keyof Result) =>
    [...ok.map((r) => r[k] as number)].sort((a, b) => a - b)[Math.floor(ok.length / 2)];
  return {
    ...ok[0],
    intervalP50: m("intervalP50"),
    intervalP99: m("intervalP99"),
    scriptP50: m("scriptP50"),
    scriptP99: m("scriptP99"),
    missed: m("missed"),
  };
}

const flat = results.flat();
if (values.json) {
  console.log(
    JSON.stringify({
      version: 1,
      frames: Number(values.frames),
      reps: Number(values.reps),
      swiftshader: values.swiftshader,
      sizes,
      results: flat,
    }),
  );
} else {
  console.log(
    `bundle: app.js ${sizes.appJs} B (gzip ${sizes.appJsGzip} B), app.css ${sizes.appCss} B, index.html ${sizes.indexHtml} B`,
  );
  console.log(`        PixiJS alone would add ${sizes.pixiJs} B (gzip ${sizes.pixiJsGzip} B)`);
  console.log("renderer  workers  frame p50  frame p99  render() p50  render() p99  frames >25 ms");
  for (const r of flat) {
    if (r.error) {
      console.log(`${r.renderer.padEnd(9)} ${String(r.workers).padStart(7)}  failed: ${r.error}`);
      continue;
    }
    console.log(
      `${r.renderer.padEnd(9)} ${String(r.workers).padStart(7)}  ${
        r.intervalP50.toFixed(1).padStart(6)
      } ms  ${r.intervalP99.toFixed(1).padStart(6)} ms` +
        `  ${r.scriptP50.toFixed(2).padStart(9)} ms  ${r.scriptP99.toFixed(2).padStart(9)} ms  ${
          (r.missed * 100).toFixed(1).padStart(10)
        } %`,
    );
  }
  const backends = [...new Set(flat.map((r) => `${r.renderer}: ${r.backend ?? r.error}`))];
  console.log(`drawn by ${backends.join("; ")}`);
  for (const n of counts) {
    const c = flat.find((r) => r.renderer === "canvas2d" && r.workers === n);
    const p = flat.find((r) => r.renderer === "pixi" && r.workers === n);
    if (c && p && !c.error && !p.error) {
      console.log(
        `${n} workers: pixi/canvas2d frame p50 ${(p.intervalP50 / c.intervalP50).toFixed(2)}x, p99 ${
          (p.intervalP99 / c.intervalP99).toFixed(2)
        }x`,
      );
    }
  }
}
