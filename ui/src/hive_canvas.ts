/// <reference lib="dom" />
/**
 * The Canvas 2D renderer of the live view. Cells are stamped from bitmaps drawn once per cell size
 * (kind × 16 budget levels), so 1,000 workers cost 1,000 bitmap copies, not 1,000 antialiased fills
 * and strokes; ids are drawn only when cells are large enough to read (level of detail).
 */
import type { HiveState } from "../../src/host/ui/state.ts";
import {
  budgetLeft,
  hexCorners,
  honeycomb,
  type HoneyLayout,
  LABEL_MIN_RADIUS,
  pulse,
  refusalBanner,
  sideRows,
} from "./hive_layout.ts";

/** What every renderer of the view offers (the app, the tests and bench/ui use only this). */
export interface HiveRenderer {
  readonly name: string;
  resize(cssWidth: number, cssHeight: number, dpr: number): void;
  /** Draws `state`; `beats` maps worker id → page time of its newest heartbeat (for pulses). */
  render(state: HiveState, beats: Map<string, number>, nowMs: number): void;
  /** The cell centre of a worker in CSS pixels, or null when it is not drawn. */
  workerAt(id: string): { x: number; y: number; r: number } | null;
  /** The worker under a CSS-pixel point. */
  hit(x: number, y: number): string | null;
  /** What draws underneath (e.g. the WebGL renderer string), for benchmarks. */
  describe?(): string;
}

export interface Palette {
  bg: string;
  panel: string;
  line: string;
  text: string;
  dim: string;
  ok: string;
  err: string;
  warn: string;
  heartbeat: string;
  gpu: string;
  session: string;
}

/** The design tokens of style.css (custom properties), so canvas and page share one palette. */
export function paletteFromCss(el: Element): Palette {
  const css = getComputedStyle(el);
  const v = (name: string, dflt: string) => css.getPropertyValue(`--${name}`).trim() || dflt;
  return {
    bg: v("bg", "#0f1216"),
    panel: v("panel", "#161b22"),
    line: v("line", "#2a313b"),
    text: v("text", "#d7dde5"),
    dim: v("dim", "#8b95a3"),
    ok: v("ok", "#3fb950"),
    err: v("err", "#f85149"),
    warn: v("warn", "#d29922"),
    heartbeat: v("heartbeat", "#e3b341"),
    gpu: v("gpu", "#39c5cf"),
    session: v("session", "#a371f7"),
  };
}

/** Budget levels a cell's core is drawn at (one bitmap each). */
const CORE_LEVELS = 16;

/** Unit hexagon corner offsets (pointy top), computed once. */
const HEX = hexCorners(0, 0, 1);

function addHex(p: Path2D, x: number, y: number, r: number): void {
  p.moveTo(x + HEX[0] * r, y + HEX[1] * r);
  for (let i = 2; i < 12; i += 2) p.lineTo(x + HEX[i] * r, y + HEX[i + 1] * r);
  p.closePath();
}

/**
 * Two layers: the state's picture (cells, budgets, ids, side panel) is drawn into an offscreen
 * canvas only when a new state arrives (a refresh, a few times a second); each animation frame
 * copies it and stamps the fading heartbeat rings from one pre-drawn ring bitmap.
 */
export class CanvasHiveRenderer implements HiveRenderer {
  readonly name = "canvas2d";
  private ctx: CanvasRenderingContext2D;
  private layer: HTMLCanvasElement;
  private lctx: CanvasRenderingContext2D;
  private ring: HTMLCanvasElement;
  private ringRadius = 0;
  private w = 0;
  private h = 0;
  private dpr = 1;
  private layout: HoneyLayout | null = null;
  private ids: string[] = [];
  private index = new Map<string, number>();
  private drawn: HiveState | null = null;
  private drawnSeq = -1;

  constructor(private canvas: HTMLCanvasElement, private pal: Palette) {
    this.ctx = canvas.getContext("2d", { alpha: false })!;
    this.layer = document.createElement("canvas");
    this.lctx = this.layer.getContext("2d", { alpha: false })!;
    this.ring = document.createElement("canvas");
  }

  resize(cssWidth: number, cssHeight: number, dpr: number): void {
    this.w = cssWidth;
    this.h = cssHeight;
    this.dpr = dpr;
    for (const c of [this.canvas, this.layer]) {
      c.width = Math.max(1, Math.round(cssWidth * dpr));
      c.height = Math.max(1, Math.round(cssHeight * dpr));
    }
    this.layout = null;
    this.drawn = null;
    this.spriteRadius = this.ringRadius = 0; // bitmaps are drawn for one device pixel ratio
  }

  private layoutFor(state: HiveState): HoneyLayout {
    const ids = state.workers.map((w) => w.id);
    if (this.layout === null || ids.length !== this.ids.length || ids.some((id, i) => id !== this.ids[i])) {
      this.layout = honeycomb(ids.length, this.w, this.h);
      this.ids = ids;
      this.index = new Map(ids.map((id, i) => [id, i]));
    }
    return this.layout;
  }

  render(state: HiveState, beats: Map<string, number>, nowMs: number): void {
    const L = this.layoutFor(state);
    if (state !== this.drawn || state.seq !== this.drawnSeq || L !== this.layoutDrawn) {
      this.drawLayer(state, L);
      this.drawn = state;
      this.drawnSeq = state.seq;
      this.layoutDrawn = L;
    }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.layer, 0, 0);
    // Heartbeat rings: one bitmap, stamped with the pulse's alpha.
    const r = L.radius;
    if (beats.size === 0) return;
    if (this.ringRadius !== r) this.drawRing(r);
    const half = this.ring.width / 2;
    for (const [id, at] of beats) {
      const p = pulse(at, nowMs);
      const i = this.index.get(id);
      if (p <= 0 || i === undefined) continue;
      const c = L.cells[i];
      ctx.globalAlpha = p;
      ctx.drawImage(this.ring, Math.round(c.x * this.dpr - half), Math.round(c.y * this.dpr - half));
    }
    ctx.globalAlpha = 1;
  }

  private layoutDrawn: HoneyLayout | null = null;
  private sprites: HTMLCanvasElement[][] = [];
  private spriteRadius = 0;

  private drawRing(r: number): void {
    const size = Math.ceil((r * 2 + 6) * this.dpr);
    this.ring.width = this.ring.height = size;
    const g = this.ring.getContext("2d")!;
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const p = new Path2D();
    addHex(p, size / 2 / this.dpr, size / 2 / this.dpr, r * 0.98);
    g.strokeStyle = this.pal.text;
    g.lineWidth = 2.5;
    g.stroke(p);
    this.ringRadius = r;
  }

  /**
   * sprites[row][level]: a cell's body and outline with its budget core at level/CORE_LEVELS; rows are
   * heartbeat, gpu and exited (retained by the hive, drawn dim).
   */
  private drawSprites(r: number): void {
    const size = Math.ceil((r * 2 + 4) * this.dpr);
    const mid = size / 2 / this.dpr;
    this.sprites = [this.pal.heartbeat, this.pal.gpu, this.pal.dim].map((color) => {
      const row: HTMLCanvasElement[] = [];
      for (let level = 0; level <= CORE_LEVELS; level++) {
        const c = document.createElement("canvas");
        c.width = c.height = size;
        const g = c.getContext("2d")!;
        g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
        const body = new Path2D();
        addHex(body, mid, mid, r * 0.92);
        g.fillStyle = color;
        g.globalAlpha = 0.18;
        g.fill(body);
        if (level > 0) {
          const core = new Path2D();
          addHex(core, mid, mid, r * 0.92 * Math.sqrt(level / CORE_LEVELS) * 0.85);
          g.globalAlpha = 0.85;
          g.fill(core);
        }
        g.globalAlpha = 1;
        g.strokeStyle = color;
        g.lineWidth = 1;
        g.stroke(body);
        row.push(c);
      }
      return row;
    });
    this.spriteRadius = r;
  }

  /** The state's picture: background, cells by kind (body, budget core, outline), ids, panels. */
  private drawLayer(state: HiveState, L: HoneyLayout): void {
    const ctx = this.lctx;
    const pal = this.pal;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = pal.bg;
    ctx.fillRect(0, 0, this.w, this.h);
    // Cells: one pre-drawn bitmap per kind and budget level, stamped per worker (bitmap copies are
    // far cheaper than filling and stroking 1,000 antialiased paths in a software rasteriser).
    const r = L.radius;
    if (this.spriteRadius !== r) this.drawSprites(r);
    const sprites = this.sprites;
    const half = sprites[0][0].width / 2;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    state.workers.forEach((w, i) => {
      const c = L.cells[i];
      const level = Math.ceil(budgetLeft(w) * CORE_LEVELS);
      ctx.drawImage(
        sprites[w.kind === "gpu" ? 1 : 0][level],
        Math.round(c.x * this.dpr - half),
        Math.round(c.y * this.dpr - half),
      );
    });
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    if (r >= LABEL_MIN_RADIUS) {
      ctx.fillStyle = pal.text;
      ctx.font = `${Math.round(r / 3)}px ui-monospace, monospace`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      state.workers.forEach((w, i) =>
        ctx.fillText(w.id.replace(/^worker-/, "w"), L.cells[i].x, L.cells[i].y)
      );
    }
    if (state.workers.length === 0) {
      ctx.fillStyle = pal.dim;
      ctx.font = "14px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(
        "no workers — spawn one from the terminal: spawn heartbeat ticks=100",
        L.area.x + L.area.w / 2,
        L.area.y + L.area.h / 2,
      );
    }
    this.drawTop(state, L);
    this.drawSide(state, L);
  }

  private drawTop(state: HiveState, L: HoneyLayout): void {
    const ctx = this.lctx;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.font = "12px ui-monospace, monospace";
    const banner = refusalBanner(state);
    if (banner !== "") {
      ctx.fillStyle = this.pal.err;
      ctx.fillRect(L.area.x, 4, Math.min(L.area.w, ctx.measureText(banner).width + 16), 20);
      ctx.fillStyle = this.pal.bg;
      ctx.fillText(banner, L.area.x + 8, 14);
    } else {
      ctx.fillStyle = this.pal.dim;
      ctx.fillText(`refresh #${state.seq}   ${state.workers.length} workers`, L.area.x, 14);
    }
  }

  private drawSide(state: HiveState, L: HoneyLayout): void {
    const ctx = this.lctx;
    const pal = this.pal;
    const s = L.side;
    ctx.fillStyle = pal.panel;
    ctx.fillRect(s.x, s.y, s.w, s.h);
    ctx.strokeStyle = pal.line;
    ctx.beginPath();
    ctx.moveTo(s.x + 0.5, 0);
    ctx.lineTo(s.x + 0.5, s.h);
    ctx.stroke();
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    const tones: Record<string, string> = {
      head: pal.text,
      text: pal.text,
      dim: pal.dim,
      ok: pal.ok,
      warn: pal.warn,
      err: pal.err,
      gpu: pal.gpu,
      session: pal.session,
    };
    let y = 10;
    for (const row of sideRows(state)) {
      if (y > s.h - 14) break;
      if (row.tone === "head") y += 6;
      ctx.font = row.tone === "head" ? "bold 11px system-ui, sans-serif" : "11px ui-monospace, monospace";
      ctx.fillStyle = tones[row.tone];
      ctx.fillText(row.text.length > 44 ? row.text.slice(0, 43) + "…" : row.text, s.x + 10, y);
      if (row.lease !== undefined) {
        const i = this.index.get(row.lease);
        if (i !== undefined) {
          const c = L.cells[i];
          ctx.strokeStyle = pal.gpu;
          ctx.globalAlpha = 0.6;
          ctx.beginPath();
          ctx.moveTo(s.x + 4, y + 6);
          ctx.bezierCurveTo(s.x - 60, y + 6, c.x + 60, c.y, c.x + L.radius * 0.8, c.y);
          ctx.stroke();
          ctx.globalAlpha = 1;
        }
      }
      y += 16;
    }
  }

  workerAt(id: string): { x: number; y: number; r: number } | null {
    const i = this.index.get(id);
    if (i === undefined || this.layout === null) return null;
    const c = this.layout.cells[i];
    return { x: c.x, y: c.y, r: this.layout.radius };
  }

  hit(x: number, y: number): string | null {
    if (this.layout === null) return null;
    const r = this.layout.radius;
    for (let i = 0; i < this.layout.cells.length; i++) {
      const c = this.layout.cells[i];
      if ((c.x - x) ** 2 + (c.y - y) ** 2 <= r * r * 0.8) return this.ids[i];
    }
    return null;
  }
}
