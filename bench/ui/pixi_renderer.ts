/// <reference lib="dom" />
/**
 * The live view drawn with PixiJS (WebGL), for the renderer comparison only: the same layout and
 * the same picture as ui/src/hive_canvas.ts, written the way PixiJS is meant to be used for many
 * entities — one sprite per cell from a shared hexagon texture (tinted, scaled), batched by Pixi
 * into few draw calls, and text objects updated only when their text changes.
 */
import { Application, Container, Graphics, Sprite, Text, type Texture } from "pixi.js";
import type { HiveState } from "../../src/host/ui/state.ts";
import {
  budgetLeft,
  hexCorners,
  honeycomb,
  type HoneyLayout,
  pulse,
  refusalBanner,
  sideRows,
} from "../../ui/src/hive_layout.ts";
import type { HiveRenderer, Palette } from "../../ui/src/hive_canvas.ts";

const hex = (css: string) => parseInt(css.replace("#", ""), 16);

export class PixiHiveRenderer implements HiveRenderer {
  readonly name = "pixi";
  private app: Application;
  private cells = new Container();
  private side = new Container();
  private links = new Graphics();
  private texture!: Texture;
  private bodies: Sprite[] = [];
  private cores: Sprite[] = [];
  private rings: Sprite[] = [];
  private texts: Text[] = [];
  private layout: HoneyLayout | null = null;
  private ids: string[] = [];
  private index = new Map<string, number>();
  private w = 0;
  private h = 0;
  private sideKey = "";

  private constructor(private pal: Palette) {
    this.app = new Application();
  }

  /** Pixi's WebGL context is created asynchronously; null when the browser offers no WebGL. */
  static async create(canvas: HTMLCanvasElement, pal: Palette): Promise<PixiHiveRenderer> {
    const r = new PixiHiveRenderer(pal);
    await r.app.init({
      canvas,
      preference: "webgl",
      background: pal.bg,
      antialias: true,
      autoStart: false,
      width: 2,
      height: 2,
    });
    const g = new Graphics().poly(hexCorners(64, 64, 60)).fill({ color: 0xffffff });
    r.texture = r.app.renderer.generateTexture(g);
    r.app.stage.addChild(r.cells, r.links, r.side);
    return r;
  }

  resize(cssWidth: number, cssHeight: number, dpr: number): void {
    this.w = cssWidth;
    this.h = cssHeight;
    this.app.renderer.resolution = dpr;
    this.app.renderer.resize(cssWidth, cssHeight);
    this.layout = null;
  }

  private sprite(pool: Sprite[], i: number): Sprite {
    let s = pool[i];
    if (s === undefined) {
      s = new Sprite(this.texture);
      s.anchor.set(0.5);
      pool.push(s);
      this.cells.addChild(s);
    }
    s.visible = true;
    return s;
  }

  render(state: HiveState, beats: Map<string, number>, nowMs: number): void {
    const ids = state.workers.map((w) => w.id);
    if (this.layout === null || ids.length !== this.ids.length || ids.some((id, i) => id !== this.ids[i])) {
      this.layout = honeycomb(ids.length, this.w, this.h);
      this.ids = ids;
      this.index = new Map(ids.map((id, i) => [id, i]));
    }
    const L = this.layout;
    const scale = L.radius / 60;
    const colors = [hex(this.pal.heartbeat), hex(this.pal.gpu), hex(this.pal.dim)];
    let rings = 0;
    state.workers.forEach((w, i) => {
      const c = L.cells[i];
      const kind = w.exited !== undefined ? 2 : w.kind === "gpu" ? 1 : 0;
      const body = this.sprite(this.bodies, i);
      body.position.set(c.x, c.y);
      body.scale.set(scale * 0.92);
      body.tint = colors[kind];
      body.alpha = 0.18;
      const core = this.sprite(this.cores, i);
      core.position.set(c.x, c.y);
      core.scale.set(scale * 0.92 * Math.sqrt(budgetLeft(w)) * 0.85);
      core.tint = colors[kind];
      core.alpha = 0.85;
      const p = pulse(beats.get(w.id), nowMs);
      if (p > 0) {
        const ring = this.sprite(this.rings, rings++);
        ring.position.set(c.x, c.y);
        ring.scale.set(scale * 1.02);
        ring.tint = hex(this.pal.text);
        ring.alpha = p * 0.5;
      }
    });
    for (let i = state.workers.length; i < this.bodies.length; i++) {
      this.bodies[i].visible = this.cores[i].visible = false;
    }
    for (let i = rings; i < this.rings.length; i++) this.rings[i].visible = false;
    this.drawSide(state, L);
    this.app.renderer.render(this.app.stage);
  }

  private drawSide(state: HiveState, L: HoneyLayout): void {
    const rows = sideRows(state);
    const banner = refusalBanner(state);
    const key = JSON.stringify(rows) + banner;
    if (key === this.sideKey) return;
    this.sideKey = key;
    const tones: Record<string, string> = {
      head: this.pal.text,
      text: this.pal.text,
      dim: this.pal.dim,
      ok: this.pal.ok,
      warn: this.pal.warn,
      err: this.pal.err,
      gpu: this.pal.gpu,
      session: this.pal.session,
    };
    this.links.clear();
    this.links.rect(L.side.x, 0, L.side.w, L.side.h).fill({ color: hex(this.pal.panel) });
    let y = 10;
    let n = 0;
    const line = (text: string, color: string, x: number, yy: number, bold = false) => {
      let t = this.texts[n];
      if (t === undefined) {
        t = new Text({ text: "", style: { fontFamily: "monospace", fontSize: 11, fill: color } });
        this.texts.push(t);
        this.side.addChild(t);
      }
      n++;
      t.visible = true;
      if (t.text !== text) t.text = text;
      t.style.fill = color;
      t.style.fontWeight = bold ? "bold" : "normal";
      t.position.set(x, yy);
    };
    line(
      banner || `refresh #${state.seq}   ${state.workers.length} workers`,
      banner ? this.pal.err : this.pal.dim,
      L.area.x,
      8,
    );
    for (const row of sideRows(state)) {
      if (y > L.side.h - 14) break;
      if (row.tone === "head") y += 6;
      line(
        row.text.length > 44 ? row.text.slice(0, 43) + "…" : row.text,
        tones[row.tone],
        L.side.x + 10,
        y,
        row.tone === "head",
      );
      const i = row.lease === undefined ? undefined : this.index.get(row.lease);
      if (i !== undefined) {
        const c = L.cells[i];
        this.links.moveTo(L.side.x + 4, y + 6).bezierCurveTo(
          L.side.x - 60,
          y + 6,
          c.x + 60,
          c.y,
          c.x + L.radius * 0.8,
          c.y,
        )
          .stroke({ color: hex(this.pal.gpu), alpha: 0.6, width: 1 });
      }
      y += 16;
    }
    for (let i = n; i < this.texts.length; i++) this.texts[i].visible = false;
  }

  workerAt(id: string): { x: number; y: number; r: number } | null {
    const i = this.index.get(id);
    if (i === undefined || this.layout === null) return null;
    return { x: this.layout.cells[i].x, y: this.layout.cells[i].y, r: this.layout.radius };
  }

  /** The WebGL implementation Pixi got (SwiftShader when chromium runs without a GPU). */
  describe(): string {
    const gl = (this.app.renderer as unknown as { gl?: WebGLRenderingContext }).gl;
    if (!gl) return `pixi ${this.app.renderer.name}`;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    return `pixi webgl: ${
      info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)
    }`;
  }

  hit(): string | null {
    return null;
  }
}
