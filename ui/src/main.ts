/// <reference lib="dom" />
/**
 * The page: connects to the bridge (/ws), logs in, draws the live view, runs the terminal,
 * records frames and terminal lines for snapshots, and plays snapshots back with a scrubber.
 * Rendering only: every hive fact comes from the bridge or from a snapshot.
 */
import "@xterm/xterm/css/xterm.css";
import "../style.css";
import {
  type BootView,
  emptyState,
  type HiveState,
  LIMITS,
  type ServerMessage,
  type TermEvent,
} from "../../src/host/ui/state.ts";
import { decodeSnapshot, encodeSnapshot, type Snapshot } from "../../src/host/ui/snapshot.ts";
import { CanvasHiveRenderer, type HiveRenderer, paletteFromCss } from "./hive_canvas.ts";
import { CohTerminal } from "./terminal.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const canvas = $<HTMLCanvasElement>("hive");
const renderer: HiveRenderer = new CanvasHiveRenderer(canvas, paletteFromCss(document.documentElement));
const status = $("status");
let socket: WebSocket | null = null;
let mode: "connecting" | "live" | "replay" = "connecting";
let hive = "";
let boot: BootView | null = null;
let current: HiveState = emptyState();
let dirty = true;
/** Worker id → page time its heartbeat last changed, and the line it changed to. */
const beats = new Map<string, number>();
const lastLines = new Map<string, string>();
/** Recording for snapshots: frames (deduplicated) and terminal lines, times since login. */
let t0 = performance.now();
const frames: HiveState[] = [];
const termLog: TermEvent[] = [];
let replay: Snapshot | null = null;
let replayIndex = 0;

const term = new CohTerminal(
  $("terminal"),
  (line) => {
    record(`coh> ${line}`);
    socket?.send(JSON.stringify({ t: "line", text: line }));
  },
  () => socket?.send(JSON.stringify({ t: "cancel" })),
  (line) => socket?.send(JSON.stringify({ t: "complete", line })),
);

function record(line: string): void {
  if (mode !== "live") return;
  termLog.push({ atMs: Math.round(performance.now() - t0), line });
  if (termLog.length > LIMITS.termLines) termLog.shift();
}

function setMode(m: typeof mode, label: string = m): void {
  mode = m;
  const badge = $("mode");
  badge.textContent = label;
  badge.className = `badge ${m}`;
}

function showBoot(b: BootView): void {
  boot = b;
  $("version").textContent = b.version;
  $("fingerprint").textContent = b.manifest;
}

/** Marks heartbeats that changed since the last frame (for the pulse rings). */
function noteBeats(state: HiveState, now: number): void {
  const live = new Set<string>();
  for (const w of state.workers) {
    live.add(w.id);
    if (w.lastHeartbeat !== "" && lastLines.get(w.id) !== w.lastHeartbeat) beats.set(w.id, now);
    lastLines.set(w.id, w.lastHeartbeat);
  }
  for (const id of [...lastLines.keys()]) {
    if (!live.has(id)) {
      lastLines.delete(id);
      beats.delete(id);
    }
  }
}

function sameView(a: HiveState, b: HiveState): boolean {
  return JSON.stringify({ ...a, atMs: 0, seq: 0 }) === JSON.stringify({ ...b, atMs: 0, seq: 0 });
}

function onState(state: HiveState): void {
  const now = performance.now();
  noteBeats(state, now);
  current = state;
  dirty = true;
  const frame = { ...state, atMs: Math.round(now - t0) };
  if (frames.length === 0 || !sameView(frames[frames.length - 1], frame)) {
    frames.push(frame);
    if (frames.length > LIMITS.frames) frames.shift();
  }
}

function onMessage(msg: ServerMessage): void {
  switch (msg.t) {
    case "hello":
      hive = msg.hive;
      if (msg.mode === "replay") {
        setMode("replay");
        fetch("/snapshot").then((r) => r.text()).then(openSnapshotText).catch((
          e,
        ) => (status.textContent = String(e)));
        return;
      }
      setMode("live", "not logged in");
      $("hive-addr").textContent = `hive ${msg.hive} (9P), console ${msg.console}`;
      $<HTMLSelectElement>("role").replaceChildren(...msg.roles.map((r) => new Option(r, r)));
      $("login").classList.remove("hidden");
      return;
    case "login":
      $<HTMLButtonElement>("login-button").disabled = false;
      if (!msg.ok) {
        $("login-error").textContent = msg.error;
        return;
      }
      $("login-error").textContent = "";
      $("login").classList.add("hidden");
      $("save").classList.remove("hidden");
      setMode("live", "live");
      $("whoami").textContent = msg.role;
      $("whoami").classList.remove("hidden");
      showBoot(msg.boot);
      t0 = performance.now();
      frames.length = 0;
      termLog.length = 0;
      term.enabled = true;
      term.refit();
      term.focus();
      return;
    case "out":
      record(msg.line);
      term.writeLine(msg.line);
      return;
    case "done":
      term.ready();
      return;
    case "completions":
      term.completions(msg.line, msg.token, msg.options);
      return;
    case "state":
      if (mode === "live") onState(msg.state);
      return;
    case "error":
      status.textContent = `bridge: ${msg.error}`;
      return;
    case "notice":
      status.textContent = msg.text;
      return;
  }
}

function connect(): void {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  socket = ws;
  ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  ws.onclose = () => {
    if (mode !== "replay") {
      setMode("connecting", "disconnected");
      status.textContent =
        "disconnected from cohesix ui (stopped, or this page was opened without its one-time URL)";
    }
    term.enabled = false;
  };
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  $<HTMLButtonElement>("login-button").disabled = true;
  socket?.send(
    JSON.stringify({
      t: "login",
      role: $<HTMLSelectElement>("role").value,
      ticket: $<HTMLTextAreaElement>("ticket").value,
    }),
  );
});

// ---- snapshots ------------------------------------------------------------------------------

$("save").addEventListener("click", async () => {
  if (boot === null || frames.length === 0) {
    status.textContent = "nothing recorded yet";
    return;
  }
  const { text } = await encodeSnapshot(hive, boot, frames.slice(), termLog.slice());
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = `cohesix-${boot.manifest.slice(0, 8)}-${frames.length}f.cohui.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  status.textContent = `saved ${frames.length} frames, ${termLog.length} terminal lines`;
});

$<HTMLInputElement>("open").addEventListener("change", async (ev) => {
  const file = (ev.target as HTMLInputElement).files?.[0];
  if (file) await openSnapshotText(await file.text());
});

async function openSnapshotText(text: string): Promise<void> {
  let s: Snapshot;
  try {
    s = await decodeSnapshot(text);
  } catch (e) {
    status.textContent = `cannot open the snapshot: ${(e as Error).message}`;
    return;
  }
  socket?.send(JSON.stringify({ t: "logout" }));
  replay = s;
  setMode("replay");
  term.enabled = false;
  $("login").classList.add("hidden");
  $("save").classList.add("hidden");
  $("whoami").classList.add("hidden");
  showBoot(s.boot);
  const scrub = $<HTMLInputElement>("scrub");
  scrub.max = String(s.frames.length - 1);
  $("replay-bar").classList.remove("hidden");
  status.textContent = `replaying ${s.frames.length} frames from ${s.hive} (sha256 ${
    s.sha256.slice(0, 12)
  }…)`;
  scrubTo(0);
  renderer.resize(canvas.clientWidth, canvas.clientHeight, devicePixelRatio);
  dirty = true;
}

/** Shows frame i and the terminal as it was at that moment. */
function scrubTo(i: number): void {
  if (replay === null) return;
  replayIndex = Math.max(0, Math.min(replay.frames.length - 1, i));
  const frame = replay.frames[replayIndex];
  current = frame;
  beats.clear();
  $<HTMLInputElement>("scrub").value = String(replayIndex);
  $("frame-label").textContent = `frame ${replayIndex + 1}/${replay.frames.length}  t=${
    (frame.atMs / 1000).toFixed(1)
  } s`;
  term.reset();
  for (const e of replay.terminal) if (e.atMs <= frame.atMs) term.writeLine(e.line);
  dirty = true;
}

$<HTMLInputElement>("scrub").addEventListener(
  "input",
  (ev) => scrubTo(Number((ev.target as HTMLInputElement).value)),
);
let playing: ReturnType<typeof setTimeout> | undefined;
$("play").addEventListener("click", () => {
  if (playing !== undefined) {
    clearTimeout(playing);
    playing = undefined;
    $("play").textContent = "▶";
    return;
  }
  $("play").textContent = "❚❚";
  const step = () => {
    if (replay === null || replayIndex >= replay.frames.length - 1) {
      playing = undefined;
      $("play").textContent = "▶";
      return;
    }
    const gap = replay.frames[replayIndex + 1].atMs - replay.frames[replayIndex].atMs;
    playing = setTimeout(() => {
      scrubTo(replayIndex + 1);
      noteBeats(current, performance.now());
      step();
    }, Math.min(1000, Math.max(16, gap)));
  };
  step();
});

// ---- drawing ----------------------------------------------------------------------------------

const tooltip = $("tooltip");
canvas.addEventListener("mousemove", (ev) => {
  const id = renderer.hit(ev.offsetX, ev.offsetY);
  const w = current.workers.find((x) => x.id === id);
  if (!w) {
    tooltip.classList.add("hidden");
    return;
  }
  const status = w.exited !== undefined
    ? `exited (${w.exited}), files kept ${((w.retainMsLeft ?? 0) / 1000).toFixed(0)} s more`
    : `ticks ${w.tick}/${w.ticks || "∞"}  ops ${w.opsUsed}/${w.opsBudget || "∞"}  ttl left ${
      (w.ttlMsLeft / 1000).toFixed(0)
    } s`;
  const last = w.lastHeartbeat || "–";
  tooltip.textContent = `${w.id}  ${w.kind}${w.gpu ? ` on ${w.gpu}` : ""}\n${status}\n` +
    `telemetry cursor ${w.cursor}  dropped ${w.dropped}\nlast: ${last}`;
  tooltip.style.left = `${ev.offsetX + 14}px`;
  tooltip.style.top = `${ev.offsetY + 14}px`;
  tooltip.classList.remove("hidden");
});
canvas.addEventListener("mouseleave", () => tooltip.classList.add("hidden"));

new ResizeObserver(() => {
  renderer.resize(canvas.clientWidth, canvas.clientHeight, devicePixelRatio);
  dirty = true;
}).observe(canvas);

function frame(now: number): void {
  let pulsing = false;
  for (const t of beats.values()) if (now - t < 1200) pulsing = true;
  if (dirty || pulsing) {
    renderer.render(current, beats, now);
    dirty = false;
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

/** For tests and operators' devtools: read-only views of the page's state. */
Object.assign(globalThis, {
  cohesixUi: {
    mode: () => mode,
    state: () => current,
    frames: () => frames.length,
    terminalText: () => term.text(),
    terminalIdle: () => term.enabled && !term.running,
    workerAt: (id: string) => renderer.workerAt(id),
    /** The canvas colour at a CSS-pixel point, [r, g, b] (2D renderer). */
    pixelAt: (x: number, y: number) => {
      const d = canvas.getContext("2d")!.getImageData(
        Math.round(x * devicePixelRatio),
        Math.round(y * devicePixelRatio),
        1,
        1,
      ).data;
      return [d[0], d[1], d[2]];
    },
    scrubTo,
    replayFrames: () => replay?.frames.length ?? 0,
  },
});

connect();
