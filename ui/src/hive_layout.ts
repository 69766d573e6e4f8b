/**
 * Geometry of the live view, shared by every renderer (Canvas 2D here, PixiJS in bench/ui): the
 * worker honeycomb on the left, the side panel on the right, and what each worker cell shows.
 * Pure functions of the state and the canvas size, so two renderers draw the same picture.
 */
import type { HiveState, WorkerView } from "../../src/host/ui/state.ts";

export const SIDE_WIDTH = 300;
export const TOP_BAND = 28;
const PAD = 12;
const SQRT3 = Math.sqrt(3);
/** Below this cell radius ids are not drawn (level of detail). */
export const LABEL_MIN_RADIUS = 22;

export interface Cell {
  x: number;
  y: number;
}

export interface HoneyLayout {
  radius: number;
  cells: Cell[];
  /** The honeycomb's area. */
  area: { x: number; y: number; w: number; h: number };
  side: { x: number; y: number; w: number; h: number };
}

/** Places `n` pointy-top hexagons in rows that fill the area left of the side panel. */
export function honeycomb(n: number, width: number, height: number): HoneyLayout {
  const area = {
    x: PAD,
    y: TOP_BAND + PAD,
    w: Math.max(40, width - SIDE_WIDTH - 2 * PAD),
    h: Math.max(40, height - TOP_BAND - 2 * PAD),
  };
  const side = { x: width - SIDE_WIDTH, y: 0, w: SIDE_WIDTH, h: height };
  const count = Math.max(n, 1);
  let r = Math.min(52, Math.sqrt((area.w * area.h) / (count * SQRT3 * 1.5)));
  let cols = 1;
  for (; r > 2; r *= 0.95) {
    cols = Math.max(1, Math.floor((area.w - SQRT3 * r / 2) / (SQRT3 * r)));
    const rows = Math.ceil(count / cols);
    if (rows * 1.5 * r + 0.5 * r <= area.h) break;
  }
  const cells: Cell[] = [];
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / cols);
    const col = i % cols;
    cells.push({
      x: area.x + SQRT3 * r * (col + 0.5 + (row % 2) * 0.5),
      y: area.y + r + row * 1.5 * r,
    });
  }
  return { radius: r, cells, area, side };
}

/** The six corners of a pointy-top hexagon, as a flat [x0, y0, x1, y1, …] list. */
export function hexCorners(x: number, y: number, r: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < 6; k++) {
    const a = Math.PI / 180 * (60 * k - 30);
    out.push(x + r * Math.cos(a), y + r * Math.sin(a));
  }
  return out;
}

/** Fraction of the budget left, 0..1: the tighter of ticks and ops (1 when the worker has none). */
export function budgetLeft(w: WorkerView): number {
  if (w.exited !== undefined) return 0;
  let f = 1;
  if (w.ticks > 0) f = Math.min(f, Math.max(0, w.ticks - w.tick) / w.ticks);
  if (w.opsBudget > 0) f = Math.min(f, Math.max(0, w.opsBudget - w.opsUsed) / w.opsBudget);
  return f;
}

/** How bright a worker's heartbeat ring is: 1 right after a new heartbeat, fading to 0 in 1.2 s. */
export function pulse(beatAtMs: number | undefined, nowMs: number): number {
  if (beatAtMs === undefined) return 0;
  const age = nowMs - beatAtMs;
  return age < 0 || age > 1200 ? 0 : 1 - age / 1200;
}

/** The side panel's text rows: lifecycle, pressure, GPUs (with leases), sessions, log. */
export interface SideRow {
  text: string;
  tone: "head" | "text" | "dim" | "ok" | "warn" | "err" | "gpu" | "session";
  /** For a GPU row: the leasing worker (a lease line is drawn to its cell). */
  lease?: string;
}

export function sideRows(s: HiveState): SideRow[] {
  const rows: SideRow[] = [];
  rows.push({ text: "LIFECYCLE", tone: "head" });
  if (s.lifecycle === null) rows.push({ text: "not served by this hive", tone: "dim" });
  else {
    const tone = s.lifecycle.state === "ONLINE" ? "ok" : s.lifecycle.state === "OFFLINE" ? "err" : "warn";
    rows.push({ text: `${s.lifecycle.state}  (${s.lifecycle.reason})`, tone });
  }
  const exited = s.workers.filter((w) => w.exited !== undefined).length;
  rows.push({
    text: `WORKERS  ${s.workersActive} active, ${exited} exited, ${s.workersSpawned} spawned`,
    tone: "head",
  });
  rows.push({ text: "PRESSURE", tone: "head" });
  const keys = Object.keys(s.pressure);
  for (let i = 0; i < keys.length; i += 2) {
    const cell = (k: string | undefined) => (k === undefined ? "" : `${k}=${s.pressure[k]}`.padEnd(21));
    const hot = s.pressure[keys[i]] > 0 || (keys[i + 1] !== undefined && s.pressure[keys[i + 1]] > 0);
    rows.push({ text: cell(keys[i]) + cell(keys[i + 1]), tone: hot ? "warn" : "dim" });
  }
  rows.push({
    text: `GPUS  ${s.gpus.filter((g) => g.lease !== "").length}/${s.gpus.length} leased`,
    tone: "head",
  });
  for (const g of s.gpus) {
    rows.push({
      text: g.lease === ""
        ? `${g.id} ${g.model} free`
        : `${g.id} → ${g.lease} ${g.leaseMemMb}/${g.memMb} MB ${g.leaseStreams}/${g.streams} st`,
      tone: g.lease === "" ? "dim" : "gpu",
      ...(g.lease === "" ? {} : { lease: g.lease }),
    });
  }
  rows.push({ text: `SESSIONS  ${s.sessions.length}`, tone: "head" });
  for (const x of s.sessions.slice(0, 8)) {
    rows.push({
      text: `#${x.id} ${x.role}${x.subject !== "-" ? ` (${x.subject})` : ""} ops=${x.ops} open=${x.open}`,
      tone: "session",
    });
  }
  if (s.sessions.length > 8) rows.push({ text: `… ${s.sessions.length - 8} more`, tone: "dim" });
  rows.push({ text: "QUEEN LOG", tone: "head" });
  for (const l of s.log.slice(-6)) {
    rows.push({ text: l, tone: l.startsWith("deny") || l.startsWith("revoke") ? "warn" : "dim" });
  }
  return rows;
}

/** The refusal banner over the honeycomb (newest last), "" when there is none. */
export function refusalBanner(s: HiveState): string {
  const r = s.refusals[s.refusals.length - 1];
  return r === undefined ? "" : `refused: ${r.op} ${r.path}: ${r.error}`;
}
