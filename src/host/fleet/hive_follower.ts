/**
 * One hive in the fleet: a 9P session (re-made with exponential back-off and jitter when it drops),
 * polled every `pollMs`: `/proc/workers` finds the workers and their ring offsets, each worker's
 * telemetry file is read from the fleet's cursor with a fid kept open across polls, `/proc/pressure`
 * and `/proc/lifecycle/state` (when the hive has them) feed the metrics.
 *
 * Delivery: the lines of one poll become one batch with consecutive hive sequence numbers. A batch
 * JetStream does not acknowledge is re-sent verbatim (same ids, so the stream drops what it already
 * stored) before anything new is read. Cursors start from what JetStream last stored for the worker
 * in the same hive boot, so neither a fleet restart nor a lost ack duplicates or skips a line.
 *
 * Hive boots: a hive that prints `boot_id=` in `/proc/boot` is keyed on it. Otherwise a reconnect is
 * a new boot when the hive's spawn count went down or a known worker's ring ends before the fleet's
 * cursor (a rebooted hive restarts both at 0); boots are then numbered `e1`, `e2`, … per hive.
 */
import { concat, NineClient, NineError } from "../../secure9p/host/client.ts";
import { EBADF, EINVAL, ENOENT } from "../../secure9p/errors.ts";
import {
  parseBoot,
  parseLifecycleState,
  parsePressure,
  parseWorkers,
  type WorkerRow,
  type WorkersFile,
} from "./hive_files.ts";
import type { FleetSink, OutMsg } from "./jetstream_sink.ts";
import { HiveSnapshot } from "./metrics.ts";

export interface HiveTarget {
  name: string;
  host: string;
  port: number;
}

export interface FollowerOptions {
  /** Role to attach as (default observer: read-only). */
  role: string;
  /** Ticket for the attach (aname); "" for a ticketless role. */
  ticket: string;
  pollMs: number;
  backoffMs: number;
  backoffMaxMs: number;
  /** A poll that takes longer than this drops the session (a hung hive), ms. */
  pollTimeoutMs: number;
  sink: FleetSink | null;
  log: (line: string) => void;
}

const O_RDONLY = 0;
const QTDIR = 0x80;
const dec = new TextDecoder();

class WorkerCursor {
  fid = -1;
  exited = false;
  constructor(public offset: number, public path: string) {}
}

class PollTimeout extends Error {}

/** JetStream did not store a batch: the 9P session is fine, the batch is re-sent after a pause. */
export class PublishError extends Error {}

export class HiveFollower {
  readonly snapshot: HiveSnapshot;
  private client: NineClient | null = null;
  private root = -1;
  /** Current boot key ("" before the first connect). */
  private boot = "";
  /** Last hive sequence number assigned. */
  private seq = 0;
  private spawned = 0;
  private recovered = false;
  private cursors = new Map<string, WorkerCursor>();
  /** A batch read but not yet acknowledged: re-sent verbatim before anything else. */
  private pending: OutMsg[] | null = null;
  private pressureIsDir: boolean | null = null;
  /** Status files kept open across polls (path → fid): one Tread per poll instead of walk/open/read/clunk. */
  private statusFids = new Map<string, number>();
  private lifecycleAbsent = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private backoff: number;

  constructor(readonly target: HiveTarget, private readonly opts: FollowerOptions) {
    this.snapshot = new HiveSnapshot(target.name);
    this.backoff = opts.backoffMs;
  }

  /** Runs until `stop()`: connect, poll, and on any failure wait and reconnect. */
  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.connect();
        this.backoff = this.opts.backoffMs;
        while (!this.stopped) {
          const started = performance.now();
          try {
            await this.withTimeout(this.pollOnce());
          } catch (e) {
            if (!(e instanceof PublishError)) throw e;
            this.opts.log(`fleet: hive ${this.target.name}: ${e.message}; retrying in ${this.backoff} ms`);
            await this.sleep(this.backoff);
            this.backoff = Math.min(this.backoff * 2, this.opts.backoffMaxMs);
            continue;
          }
          this.backoff = this.opts.backoffMs;
          // A period, not a pause: a slow round (a big batch, a loaded machine) is not followed by a full wait.
          await this.sleep(Math.max(0, this.opts.pollMs - (performance.now() - started)));
        }
      } catch (e) {
        if (this.stopped) break;
        const wasUp = this.snapshot.up;
        this.disconnect();
        const why = e instanceof Error ? e.message : String(e);
        if (wasUp) {
          this.opts.log(`fleet: hive ${this.target.name} lost: ${why}`);
          this.queueEvent({ event: "hive_down", reason: why.slice(0, 200) });
        }
        const delay = Math.round(this.backoff * (0.8 + 0.4 * Math.random()));
        if (!wasUp) {
          this.opts.log(
            `fleet: hive ${this.target.name} (${this.target.host}:${this.target.port}) unreachable: ${why}; retrying in ${delay} ms`,
          );
        }
        this.backoff = Math.min(this.backoff * 2, this.opts.backoffMaxMs);
        await this.sleep(delay);
        await this.flushPending().catch(() => {});
      }
    }
    this.disconnect();
  }

  stop(): void {
    this.stopped = true;
    this.disconnect();
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => (this.wake = null, resolve()), ms);
      this.wake = () => (clearTimeout(t), this.wake = null, resolve());
    });
  }

  private async withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PollTimeout(`no answer within ${this.opts.pollTimeoutMs} ms`)),
        this.opts.pollTimeoutMs,
      );
    });
    try {
      return await Promise.race([p, limit]);
    } finally {
      clearTimeout(timer);
    }
  }

  private disconnect(): void {
    this.snapshot.up = false;
    this.client?.close();
    this.client = null;
    this.root = -1;
    for (const c of this.cursors.values()) c.fid = -1;
    this.statusFids.clear();
    this.pressureIsDir = null;
    this.lifecycleAbsent = false;
  }

  private async connect(): Promise<void> {
    const { host, port } = this.target;
    const client = await this.withTimeout(NineClient.dial(host, port));
    this.client = client;
    this.root = client.newFid();
    await this.withTimeout(client.attach(this.root, this.opts.role, this.opts.ticket));
    await this.withTimeout(this.startBoot());
    this.snapshot.up = true;
    this.snapshot.connects++;
    this.opts.log(`fleet: hive ${this.target.name} connected (${host}:${port}, boot ${this.boot})`);
  }

  /** Works out which boot of the hive this session sees, recovering the fleet's state from the sink once. */
  private async startBoot(): Promise<void> {
    await this.flushPending();
    const sink = this.opts.sink;
    if (!this.recovered && sink) {
      const head = await sink.hiveHead(this.target.name);
      if (head) {
        this.seq = head.seq;
        this.boot = head.boot;
        this.spawned = head.spawned;
      }
    }
    this.recovered = true;
    const facts = parseBoot(await this.readText("/proc/boot"));
    const workers = parseWorkers(await this.readText("/proc/workers"));
    let next: string;
    if (facts.bootId !== "") next = `b${facts.bootId}`;
    else if (this.boot === "") next = "e1";
    else next = (await this.rebooted(workers)) ? nextEpoch(this.boot) : this.boot;
    if (next !== this.boot || this.snapshot.boots === 0) {
      const isNew = next !== this.boot;
      if (isNew) this.cursors.clear();
      this.boot = next;
      this.snapshot.boots++;
      if (isNew) this.queueEvent({ event: "hive_boot", boot: next, manifest: facts.manifest });
    }
    this.spawned = workers.spawned;
    this.queueEvent({ event: "hive_up", boot: this.boot });
    await this.flushPending();
  }

  /** Without a boot id: did the hive restart since the fleet last saw it? */
  private async rebooted(workers: WorkersFile): Promise<boolean> {
    if (workers.spawned < this.spawned) return true;
    for (const w of workers.workers) {
      const known = this.cursors.get(w.id)?.offset ?? (await this.storedOffset(w.id));
      if (known !== null && w.telemetryEnd < known) return true;
    }
    return false;
  }

  private async storedOffset(worker: string): Promise<number | null> {
    const head = await this.opts.sink?.workerHead(this.target.name, worker);
    return head && head.boot === this.boot ? head.offsetEnd : null;
  }

  private async pollOnce(): Promise<void> {
    const t0 = performance.now();
    await this.flushPending();
    const workers = parseWorkers(await this.readStatus("/proc/workers"));
    if (workers.spawned < this.spawned) {
      throw new Error("the hive's spawn count went down (rebooted under the session)");
    }
    this.spawned = workers.spawned;
    const batch: OutMsg[] = [];
    const live = new Set<string>();
    const due: [WorkerRow, WorkerCursor][] = [];
    for (const w of workers.workers) {
      live.add(w.id);
      let c = this.cursors.get(w.id);
      if (!c) {
        const stored = await this.storedOffset(w.id);
        c = new WorkerCursor(stored ?? 0, w.telemetryPath);
        this.cursors.set(w.id, c);
        if (stored === null) this.queueEvent({ event: "worker_up", worker: w.id, kind: w.kind }, batch);
      }
      if (w.state === "exited" && !c.exited) {
        c.exited = true;
        this.queueEvent({ event: "worker_exit", worker: w.id, reason: w.exitReason }, batch);
      }
      if (w.telemetryEnd > c.offset) due.push([w, c]);
    }
    // All rings read at once (pipelined up to the session's tag window), lines numbered in worker order.
    const rings = await Promise.all(due.map(([w, c]) => this.fetchRing(w, c)));
    due.forEach(([w, c], i) => this.takeLines(w, c, rings[i], batch));
    for (const [id, c] of this.cursors) {
      if (live.has(id)) continue;
      if (c.fid >= 0) await this.client!.clunk(c.fid).catch(() => {});
      this.cursors.delete(id);
      this.queueEvent({ event: "worker_down", worker: id }, batch);
    }
    this.snapshot.workers = workers;
    await this.readPressure();
    await this.readLifecycle(batch);
    if (batch.length > 0) {
      this.pending = batch;
      this.snapshot.pending = batch.length;
      await this.flushPending();
    }
    this.snapshot.pollSeconds = (performance.now() - t0) / 1000;
  }

  /** Reads a worker's ring from its cursor up to the offset /proc/workers gave. */
  private async fetchRing(w: WorkerRow, c: WorkerCursor): Promise<Uint8Array> {
    const client = this.client!;
    if (c.fid < 0 || c.path !== w.telemetryPath) {
      c.path = w.telemetryPath;
      try {
        c.fid = await this.walkOpen(c.path);
      } catch (e) {
        if (e instanceof NineError && e.errno === ENOENT) return new Uint8Array(0); // revoked since /proc/workers was read
        throw e;
      }
    }
    if (c.offset < w.telemetryStart) {
      this.snapshot.lostBytes += w.telemetryStart - c.offset;
      c.offset = w.telemetryStart;
    }
    const parts: Uint8Array[] = [];
    let off = c.offset;
    while (off < w.telemetryEnd) {
      let data: Uint8Array;
      try {
        data = await client.read(c.fid, off, Math.min(client.ioChunk, w.telemetryEnd - off));
      } catch (e) {
        // The ring moved past the cursor since /proc/workers was read (EINVAL), or the worker was
        // revoked (EBADF): the next poll resyncs from a fresh /proc/workers.
        if (e instanceof NineError && (e.errno === EINVAL || e.errno === EBADF)) break;
        throw e;
      }
      if (data.length === 0) break;
      parts.push(data);
      off += data.length;
    }
    return parts.length === 1 ? parts[0] : concat(parts);
  }

  /** Turns the complete lines of `data` (read at the cursor) into messages; the cursor moves past them. */
  private takeLines(w: WorkerRow, c: WorkerCursor, data: Uint8Array, batch: OutMsg[]): void {
    let from = 0;
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== 10) continue;
      const line = dec.decode(data.subarray(from, i));
      from = i + 1;
      batch.push(this.message(w.id, c.offset + from, line));
    }
    // A partial last line stays in the ring: the cursor stops after the last newline.
    c.offset += from;
  }

  private message(worker: string, offsetEnd: number, data: string): OutMsg {
    return {
      hive: this.target.name,
      seq: ++this.seq,
      boot: this.boot,
      spawned: this.spawned,
      worker,
      offsetEnd,
      data,
    };
  }

  /** Adds an event to `batch`, or (outside a poll) queues it on its own. */
  private queueEvent(fields: Record<string, unknown>, batch?: OutMsg[]): void {
    if (!this.opts.sink) return;
    const m = this.message("", 0, JSON.stringify({ hive: this.target.name, ...fields }));
    if (batch) batch.push(m);
    else this.pending = [...(this.pending ?? []), m];
  }

  private async flushPending(): Promise<void> {
    const batch = this.pending;
    if (!batch) return;
    if (this.opts.sink) {
      try {
        await this.opts.sink.publish(batch);
      } catch (e) {
        this.snapshot.publishErrors++;
        throw new PublishError(
          `JetStream did not store ${batch.length} messages: ${e instanceof Error ? e.message : e}`,
        );
      }
    }
    this.pending = null;
    this.snapshot.pending = 0;
    for (const m of batch) {
      if (m.worker !== "") this.snapshot.linesPublished++;
      else this.snapshot.eventsPublished++;
    }
  }

  private async readPressure(): Promise<void> {
    if (this.pressureIsDir === null) {
      const fid = await this.walk("/proc/pressure");
      try {
        this.pressureIsDir = ((await this.client!.getattr(fid)).qid.type & QTDIR) !== 0;
      } finally {
        await this.client!.clunk(fid);
      }
    }
    if (!this.pressureIsDir) {
      this.snapshot.pressure = parsePressure([await this.readStatus("/proc/pressure")]);
      return;
    }
    const dir = await this.walk("/proc/pressure");
    let names: string[];
    try {
      await this.client!.open(dir, O_RDONLY);
      names = (await this.client!.readdirAll(dir)).map((e) => e.name).filter((n) => n !== "." && n !== "..");
    } finally {
      await this.client!.clunk(dir);
    }
    const texts = await Promise.all(names.map((n) => this.readStatus(`/proc/pressure/${n}`)));
    this.snapshot.pressure = parsePressure(texts);
  }

  private async readLifecycle(batch: OutMsg[]): Promise<void> {
    if (this.lifecycleAbsent) return;
    let state: string;
    try {
      state = parseLifecycleState(await this.readStatus("/proc/lifecycle/state"));
    } catch (e) {
      if (e instanceof NineError && e.errno === ENOENT) {
        this.lifecycleAbsent = true;
        return;
      }
      throw e;
    }
    if (this.snapshot.lifecycle !== null && this.snapshot.lifecycle !== state) {
      this.queueEvent({ event: "lifecycle", from: this.snapshot.lifecycle, state }, batch);
    }
    this.snapshot.lifecycle = state;
  }

  private async walk(path: string): Promise<number> {
    const fid = this.client!.newFid();
    await this.client!.walk(this.root, fid, path.split("/").filter((p) => p.length > 0));
    return fid;
  }

  private async walkOpen(path: string): Promise<number> {
    const fid = await this.walk(path);
    try {
      await this.client!.open(fid, O_RDONLY);
    } catch (e) {
      await this.client!.clunk(fid).catch(() => {});
      throw e;
    }
    return fid;
  }

  /**
   * A status file the hive renders afresh on every read from offset 0 (as NineDoor's /proc files
   * are): the fid stays open across polls; reads continue only while they come back full.
   */
  private async readStatus(path: string): Promise<string> {
    const client = this.client!;
    let fid = this.statusFids.get(path);
    if (fid === undefined) {
      fid = await this.walkOpen(path);
      this.statusFids.set(path, fid);
    }
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const data = await client.read(fid, offset, client.ioChunk);
      parts.push(data);
      offset += data.length;
      if (data.length < client.ioChunk) break;
    }
    return dec.decode(parts.length === 1 ? parts[0] : concat(parts));
  }

  private async readText(path: string): Promise<string> {
    const fid = await this.walkOpen(path);
    try {
      return dec.decode(await this.client!.readAll(fid));
    } finally {
      await this.client!.clunk(fid);
    }
  }
}

/** `e3` → `e4`; any other key (a boot id the hive stopped printing) → `e1`. */
export function nextEpoch(boot: string): string {
  const m = /^e(\d+)$/.exec(boot);
  return m ? `e${Number(m[1]) + 1}` : "e1";
}
