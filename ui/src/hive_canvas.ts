/// <reference lib="dom" />
/**
 * The Canvas 2D renderer of the live view. Per frame it builds one Path2D per style (kind × pulse
 * level) and fills each once, so 1,000 workers cost a handful of fill calls, not 1,000; ids are
 * drawn only when cells are large enough to read (level of detail).
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

const PULSE_LEVELS = 4;

export class CanvasHiveRenderer implements HiveRenderer {
  readonly name = "canvas2d";
  private ctx: CanvasRenderingContext2D;
  private w = 0;
  private h = 0;
  private dpr = 1;
  private layout: HoneyLayout | null = null;
  private ids: string[] = [];
  private index = new Map<string, number>();

  constructor(private canvas: HTMLCanvasElement, private pal: Palette) {
    this.ctx = canvas.getContext("2d", { alpha: false })!;
  }

  resize(cssWidth: number, cssHeight: number, dpr: number): void {
    this.w = cssWidth;
    this.h = cssHeight;
    this.dpr = dpr;
    this.canvas.width = Math.max(1, Math.round(cssWidth * dpr));
    this.canvas.height = Math.max(1, Math.round(cssHeight * dpr));
    this.layout = null;
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
    const ctx = this.ctx;
    const pal = this.pal;
    const L = this.layoutFor(state);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = pal.bg;
    ctx.fillRect(0, 0, this.w, this.h);

    // Cells: outline + dim body per kind, budget core per kind, pulse rings per level.
    const r = L.radius;
    const body = [new Path2D(), new Path2D()];
    const core = [new Path2D(), new Path2D()];
    const rings: Path2D[] = [];
    for (let k = 0; k < PULSE_LEVELS * 2; k++) rings.push(new Path2D());
    const addHex = (p: Path2D, x: number, y: number, rr: number) => {
      const c = hexCorners(x, y, rr);
      p.moveTo(c[0], c[1]);
      for (let i = 2; i < 12; i += 2) p.lineTo(c[i], c[i + 1]);
      p.closePath();
    };
    state.workers.forEach((w, i) => {
      const c = L.cells[i];
      const kind = w.kind === "gpu" ? 1 : 0;
      addHex(body[kind], c.x, c.y, r * 0.92);
      const left = budgetLeft(w);
      if (left > 0) addHex(core[kind], c.x, c.y, r * 0.92 * Math.sqrt(left) * 0.85);
      const p = pulse(beats.get(w.id), nowMs);
      if (p > 0) {
        addHex(
          rings[kind * PULSE_LEVELS + Math.min(PULSE_LEVELS - 1, Math.floor(p * PULSE_LEVELS))],
          c.x,
          c.y,
          r * 0.98,
        );
      }
    });
    const kindColor = [pal.heartbeat, pal.gpu];
    for (let k = 0; k < 2; k++) {
      ctx.globalAlpha = 0.18;
      ctx.fillStyle = kindColor[k];
      ctx.fill(body[k]);
      ctx.globalAlpha = 0.85;
      ctx.fill(core[k]);
      ctx.globalAlpha = 1;
      ctx.strokeStyle = kindColor[k];
      ctx.lineWidth = 1;
      ctx.stroke(body[k]);
      for (let l = 0; l < PULSE_LEVELS; l++) {
        ctx.globalAlpha = (l + 1) / PULSE_LEVELS;
        ctx.lineWidth = 2.5;
        ctx.strokeStyle = pal.text;
        ctx.stroke(rings[k * PULSE_LEVELS + l]);
      }
    }
    ctx.globalAlpha = 1;
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
    const ctx = this.ctx;
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
    const ctx = this.ctx;
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
