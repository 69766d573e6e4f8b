/**
 * `HiveWatcher`: the live view's 9P session. It attaches with the role and ticket the user logged
 * in with, so every read it makes is charged to that ticket and refused by the hive when the
 * ticket's scope or quota says so; refusals become part of the view instead of errors.
 *
 * Append-only streams are read at cursors: each worker's telemetry from the offset after the last
 * byte read (taking /proc/workers' telemetry_end as the hint that there is more), and the queen
 * log from its own cursor, so no refresh re-reads a stream. The small status files
 * (/proc/workers, /proc/sessions, /proc/pressure, /proc/lifecycle/*, /gpu/<id>/info) are
 * re-rendered by the hive on each read and are read once per refresh through fids kept open.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, NineClient, NineError } from "../../secure9p/host/client.ts";
import { EBADF, EINVAL, EISDIR, EMSGSIZE, ENOENT, EPERM, errnoName } from "../../secure9p/errors.ts";
import { O_RDONLY } from "../../secure9p/namespace.ts";
import {
  parseBoot,
  parseGpuInfo,
  parseLifecycle,
  parsePressure,
  parseSessions,
  parseWorkers,
} from "./parse.ts";
import {
  type BootView,
  emptyState,
  type HiveState,
  LIMITS,
  type RefusalView,
  type WorkerView,
} from "./state.ts";

const dec = new TextDecoder();
/** Telemetry fids kept open at once; older ones are clunked (the observer role has 32 fids; the status
 * files, three of them /proc/lifecycle/*, keep about 12 open). */
const MAX_TELEMETRY_FIDS = 12;
/** Telemetry reads in flight at once (the client pipelines them within its tag window). */
const TELEMETRY_BATCH = 8;

/** The hive refused the attach; `message` says why and what to do. */
export class LoginError extends Error {
  constructor(message: string, readonly errno = 0) {
    super(message);
    this.name = "LoginError";
  }
}

/** What an errno means for a read the bridge made on the user's behalf. */
export function refusalText(errno: number): string {
  switch (errno) {
    case EMSGSIZE:
      return "EMSGSIZE: the ticket's quota is used up";
    case EPERM:
      return "EPERM: the role or ticket scope does not allow it";
    case EBADF:
      return "EBADF: the file was revoked";
    case EINVAL:
      return "EINVAL: refused";
    default:
      return errnoName(errno);
  }
}

interface OpenFile {
  fid: number;
  path: string;
}

export class HiveWatcher {
  boot!: BootView;
  /** Reads made per path (a whole-file read counts once): what tests hold the cursors to. */
  readonly reads = new Map<string, number>();
  private files = new Map<string, OpenFile>();
  /** Paths that do not exist on this hive (ENOENT once): never asked again. */
  private absent = new Set<string>();
  /** Paths that turned out to be directories where a file was expected (EISDIR once). */
  private directories = new Set<string>();
  private telemetry = new Map<string, OpenFile>();
  private cursors = new Map<string, number>();
  private heartbeats = new Map<string, string>();
  private shards = new Map<string, string>();
  /** Workers whose telemetry fid a read in flight is using (never evicted then). */
  private pinned = new Set<string>();
  private logCursor = 0;
  private logLines: string[] = [];
  private refusals: RefusalView[] = [];
  private seq = 0;
  private t0 = performance.now();
  private quotaSpent = false;
  private pressureDir: string[] | null = null;
  private state: HiveState = emptyState();

  private constructor(private client: NineClient, private root: number) {}

  /** Dials the hive's 9P port and attaches as `role` with `ticket` ("" for none). */
  static async attach(hostname: string, port: number, role: string, ticket: string): Promise<HiveWatcher> {
    let client: NineClient;
    try {
      client = await NineClient.dial(hostname, port);
    } catch (e) {
      throw new LoginError(
        `Cannot reach the hive's 9P service at ${hostname}:${port} (${
          (e as Error).message
        }); is 'cohesix dev' running?`,
      );
    }
    const root = client.newFid();
    try {
      await client.attach(root, role, ticket);
    } catch (e) {
      client.close();
      if (e instanceof NineError) {
        throw new LoginError(
          `The hive refused to attach as '${role}': ${errnoName(e.errno)}${attachHint(e.errno)}`,
          e.errno,
        );
      }
      throw new LoginError(`The hive closed the 9P session during attach (${(e as Error).message})`);
    }
    const w = new HiveWatcher(client, root);
    try {
      const text = await w.readFile("/proc/boot");
      w.boot = parseBoot(text ?? "");
    } catch (e) {
      w.close();
      throw e;
    }
    w.t0 = performance.now();
    return w;
  }

  /** One refresh: every status file once, and every stream from its cursor. */
  async refresh(): Promise<HiveState> {
    const s = this.state;
    const workersText = await this.readFile("/proc/workers");
    if (workersText !== null) {
      const parsed = parseWorkers(workersText);
      s.workersActive = parsed.active;
      s.workersSpawned = parsed.spawned;
      await this.followTelemetry(parsed.workers);
      s.workers = parsed.workers;
    }
    const sessions = await this.readFile("/proc/sessions");
    if (sessions !== null) s.sessions = parseSessions(sessions);
    const pressure = await this.readPressure();
    if (pressure !== null) s.pressure = pressure;
    const lc = await this.readFile("/proc/lifecycle/state");
    if (lc !== null) {
      s.lifecycle = parseLifecycle(
        lc,
        await this.readFile("/proc/lifecycle/reason") ?? "",
        await this.readFile("/proc/lifecycle/since") ?? "",
      );
    }
    // A GPU whose info cannot be read this time keeps its last known state.
    const gpus = [];
    for (const id of this.boot.gpus) {
      const info = await this.readFile(`/gpu/${id}/info`);
      const known = s.gpus.find((g) => g.id === id);
      if (info !== null) gpus.push(parseGpuInfo(id, info));
      else if (known !== undefined) gpus.push(known);
    }
    s.gpus = gpus;
    await this.followLog();
    s.log = this.logLines.slice();
    s.refusals = this.refusals.slice();
    s.seq = ++this.seq;
    s.atMs = Math.round(performance.now() - this.t0);
    return structuredClone(s);
  }

  close(): void {
    this.client.close();
  }

  // ---- streams at cursors ----------------------------------------------------------------------

  private async followTelemetry(workers: WorkerView[]): Promise<void> {
    const live = new Set(workers.map((w) => w.id));
    for (const [id, f] of this.telemetry) {
      if (!live.has(id)) await this.drop(this.telemetry, id, f);
    }
    for (const id of [...this.cursors.keys()]) {
      if (!live.has(id)) {
        this.cursors.delete(id);
        this.heartbeats.delete(id);
      }
    }
    // Workers with new telemetry are read a batch at a time, pipelined on the one 9P session.
    const behind = workers.filter((w) => w.cursor > (this.cursors.get(w.id) ?? 0));
    for (let i = 0; i < behind.length && !this.quotaSpent; i += TELEMETRY_BATCH) {
      await Promise.all(behind.slice(i, i + TELEMETRY_BATCH).map((w) => this.followWorker(w)));
    }
    for (const w of workers) {
      w.cursor = this.cursors.get(w.id) ?? 0;
      w.lastHeartbeat = this.heartbeats.get(w.id) ?? "";
      if (this.shards.has(w.id)) w.shard = this.shards.get(w.id);
    }
  }

  /** Reads one worker's new telemetry lines, from its shard when the hive has no /worker alias. */
  private async followWorker(w: WorkerView): Promise<void> {
    const at = this.cursors.get(w.id) ?? 0;
    const shard = w.shard ?? this.shards.get(w.id);
    this.pinned.add(w.id);
    try {
      let got = await this.readStream(this.telemetry, telemetryPath({ id: w.id, shard }), at, w.cursor, w.id);
      if (got === "missing" && shard === undefined) {
        this.shards.set(w.id, shardLabel(w.id));
        got = await this.readStream(
          this.telemetry,
          telemetryPath({ id: w.id, shard: shardLabel(w.id) }),
          at,
          w.cursor,
          w.id,
        );
      }
      if (got === null || got === "missing") return;
      this.cursors.set(w.id, got.next);
      if (got.lines.length > 0) this.heartbeats.set(w.id, got.lines[got.lines.length - 1]);
    } finally {
      this.pinned.delete(w.id);
    }
  }

  /** One read at the log cursor when nothing is new; more only while the log has more. */
  private async followLog(): Promise<void> {
    if (this.quotaSpent) return;
    const got = await this.readStream(
      this.files,
      "/log/queen.log",
      this.logCursor,
      Infinity,
      "/log/queen.log",
    );
    if (got === null || got === "missing") return;
    this.logCursor = got.next;
    this.logLines.push(...got.lines);
    if (this.logLines.length > LIMITS.logLines) {
      this.logLines.splice(0, this.logLines.length - LIMITS.logLines);
    }
  }

  /** Size of a stream (its absolute end offset) from getattr, 0 when it cannot be read. */
  private async streamEnd(path: string): Promise<number> {
    const f = await this.open(this.files, path, path);
    if (f === null || f === "missing") return 0;
    try {
      return (await this.client.getattr(f.fid)).size;
    } catch (e) {
      this.refused("getattr", path, e);
      return 0;
    }
  }

  /**
   * Reads [at, end) of a ring file (to its current end when `end` is Infinity) and returns its
   * complete lines and the cursor after them. A cursor below the ring's retained window (EINVAL: the
   * hive dropped those bytes) skips to the stream's end instead of re-reading anything.
   */
  private async readStream(
    table: Map<string, OpenFile>,
    path: string,
    at: number,
    end: number,
    key: string,
  ): Promise<{ lines: string[]; next: number } | null | "missing"> {
    const f = await this.open(table, path, key);
    if (f === null || f === "missing") return f;
    const parts: Uint8Array[] = [];
    let off = at;
    try {
      while (off < end) {
        const want = Math.min(this.client.ioChunk, end - off);
        this.reads.set(path, (this.reads.get(path) ?? 0) + 1);
        const data = await this.client.read(f.fid, off, want);
        parts.push(data);
        off += data.length;
        if (data.length < want) break;
      }
    } catch (e) {
      if (e instanceof NineError && e.errno === EINVAL) {
        return { lines: [], next: end === Infinity ? await this.streamEnd(path) : end };
      }
      if (e instanceof NineError && e.errno === EBADF) {
        await this.drop(table, key, f);
        return null;
      }
      this.refused("read", path, e);
      return null;
    }
    const bytes = concat(parts);
    const lastNl = bytes.lastIndexOf(10);
    if (lastNl < 0) return { lines: [], next: at };
    return { lines: dec.decode(bytes.subarray(0, lastNl)).split("\n"), next: at + lastNl + 1 };
  }

  // ---- status files ----------------------------------------------------------------------------

  /** /proc/pressure: one key=value file today; a directory of files (busy, quota, cut, …) on newer hives. */
  private async readPressure(): Promise<Record<string, number> | null> {
    if (this.pressureDir === null) {
      const text = await this.readFile("/proc/pressure");
      if (text !== null || this.absent.has("/proc/pressure")) {
        return text === null ? null : parsePressure(text);
      }
      const names = await this.list("/proc/pressure") ?? [];
      // `counters` carries every counter in one line: one kept-open fid instead of five.
      this.pressureDir = names.includes("counters") ? ["counters"] : names;
    }
    const out: Record<string, number> = {};
    for (const name of this.pressureDir) {
      const text = await this.readFile(`/proc/pressure/${name}`);
      if (text === null) continue;
      const kv = parsePressure(text);
      const keys = Object.keys(kv);
      if (keys.length === 0 && /^\d+$/.test(text.trim())) out[name] = Number(text.trim());
      for (const k of keys) out[name === "counters" ? k : keys.length === 1 ? name : `${name}.${k}`] = kv[k];
    }
    return out;
  }

  /** Reads a whole file through a kept-open fid; null when it is absent or the read was refused. */
  private async readFile(path: string): Promise<string | null> {
    if (this.absent.has(path) || this.directories.has(path) || this.quotaSpent) return null;
    const f = await this.open(this.files, path, path);
    if (f === null || f === "missing") return null;
    try {
      this.reads.set(path, (this.reads.get(path) ?? 0) + 1);
      return dec.decode(await this.client.readAll(f.fid));
    } catch (e) {
      // A directory where a file was expected (EISDIR): the caller may list it instead.
      if (e instanceof NineError && e.errno === EISDIR) {
        this.directories.add(path);
        await this.drop(this.files, path, f);
        return null;
      }
      this.refused("read", path, e);
      return null;
    }
  }

  /** A directory's entry names, sorted; null when it cannot be listed (`quiet`: not shown as a refusal). */
  async list(path: string, quiet = false): Promise<string[] | null> {
    const fid = this.client.newFid();
    try {
      await this.client.walk(this.root, fid, split(path));
      await this.client.open(fid, O_RDONLY);
      return (await this.client.readdirAll(fid)).map((e) => e.name).filter((n) => n !== "." && n !== "..")
        .sort();
    } catch (e) {
      if (!quiet) this.refused("readdir", path, e);
      else if (!(e instanceof NineError)) throw e;
      return null;
    } finally {
      await this.client.clunk(fid).catch(() => {});
    }
  }

  /** Opens (or reuses) a fid for `path`; "missing" on ENOENT, null on any other refusal. */
  private async open(
    table: Map<string, OpenFile>,
    path: string,
    key: string,
  ): Promise<OpenFile | null | "missing"> {
    const have = table.get(key);
    if (have !== undefined && have.path === path) return have;
    if (have !== undefined) await this.drop(table, key, have);
    if (this.absent.has(path)) return null;
    if (table === this.telemetry && table.size >= MAX_TELEMETRY_FIDS) {
      // The oldest fid no read of this batch is using.
      const [oldest, f] = [...table.entries()].find(([k]) => !this.pinned.has(k))!;
      await this.drop(table, oldest, f);
    }
    const fid = this.client.newFid();
    try {
      await this.client.walk(this.root, fid, split(path));
      await this.client.open(fid, O_RDONLY);
    } catch (e) {
      await this.client.clunk(fid).catch(() => {});
      if (e instanceof NineError && e.errno === ENOENT) {
        if (table !== this.telemetry) this.absent.add(path);
        return "missing";
      }
      this.refused("open", path, e);
      return null;
    }
    const f = { fid, path };
    table.set(key, f);
    return f;
  }

  private async drop(table: Map<string, OpenFile>, key: string, f: OpenFile): Promise<void> {
    table.delete(key);
    await this.client.clunk(f.fid).catch(() => {});
  }

  /** Records a refusal (once per path and errno in a row); a transport failure is rethrown. */
  private refused(op: string, path: string, e: unknown): void {
    if (!(e instanceof NineError)) throw e;
    if (e.errno === EMSGSIZE) this.quotaSpent = true;
    const last = this.refusals[this.refusals.length - 1];
    if (last && last.path === path && last.errno === e.errno) return;
    this.refusals.push({
      op,
      path,
      errno: e.errno,
      error: refusalText(e.errno),
      atMs: Math.round(performance.now() - this.t0),
    });
    if (this.refusals.length > LIMITS.refusals) this.refusals.shift();
  }
}

function attachHint(errno: number): string {
  if (errno === EPERM) {
    return " (the role needs a valid ticket for this hive: mint one with 'cohesix ticket mint')";
  }
  if (errno === EINVAL) return " (the ticket is malformed or the role is unknown)";
  return "";
}

/** Where a worker's telemetry lives: the legacy /worker path, or its shard when the hive shards. */
export function telemetryPath(w: Pick<WorkerView, "id" | "shard">): string {
  if (w.shard !== undefined) return `/shard/${w.shard}/worker/${w.id}/telemetry`;
  return `/worker/${w.id}/telemetry`;
}

/** The shard label of a worker id: the first byte of sha256(id) as two hex digits (shard_bits 8). */
export function shardLabel(id: string): string {
  return sha256(new TextEncoder().encode(id))[0].toString(16).padStart(2, "0");
}

function split(path: string): string[] {
  return path.split("/").filter((n) => n !== "");
}
