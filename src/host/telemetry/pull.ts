/**
 * `cohesix telemetry pull`: one pass that copies every live worker's telemetry ring into
 * `<out>/<worker>.telemetry`, from saved cursors, complete lines only. Run it from cron and each
 * line lands exactly once:
 * - the cursor file records, per worker, the hive offset pulled up to and the output file's length
 *   at that point; lines are appended and fsynced first, then the cursor file is replaced
 *   atomically (write + rename), so a pull killed in between left only bytes past the recorded
 *   length, which the next pull cuts off before it appends them again;
 * - a ring that moved past a cursor (the hive keeps `telemetry.ring_bytes_per_worker`) is reported
 *   as lost bytes, never papered over;
 * - a hive restart (spawn count or a ring end below the cursor) starts the cursors over and says so.
 */
import { dirname, join } from "node:path";
import { concat, NineClient, NineError } from "../../secure9p/host/client.ts";
import { EBADF, EINVAL, ENOENT } from "../../secure9p/errors.ts";
import { parseWorkers, type WorkerRow } from "../fleet/hive_files.ts";

export interface WorkerCursor {
  /** Hive ring offset just after the last line pulled. */
  offset: number;
  /** Length of the output file once those lines were written. */
  outBytes: number;
}

export interface CursorFile {
  version: 1;
  hive: string;
  /** The hive's spawn count when the cursors were saved (a restarted hive counts from 0 again). */
  spawned: number;
  workers: Record<string, WorkerCursor>;
}

export interface PullOptions {
  host: string;
  port: number;
  role: string;
  ticket: string;
  out: string;
  cursorFile: string;
}

export interface WorkerReport {
  worker: string;
  lines: number;
  bytes: number;
  /** Ring bytes that were overwritten before this pull could read them. */
  lostBytes: number;
  /** Bytes past the recorded length cut from the output (a pull that died before saving its cursor). */
  trimmedBytes: number;
  file: string;
  offset: number;
}

export interface PullReport {
  version: 1;
  hive: string;
  restarted: boolean;
  workers: WorkerReport[];
}

const dec = new TextDecoder();
const O_RDONLY = 0;

export async function loadCursors(path: string): Promise<CursorFile | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const doc = JSON.parse(text) as CursorFile;
  if (doc?.version !== 1 || typeof doc.workers !== "object") {
    throw new Error(`${path} is not a cohesix telemetry cursor file (version 1)`);
  }
  return doc;
}

async function saveCursors(path: string, doc: CursorFile): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.mkdir(dirname(path), { recursive: true });
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    await f.write(new TextEncoder().encode(JSON.stringify(doc, null, 2) + "\n"));
    await f.sync();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
}

export async function pullTelemetry(
  opts: PullOptions,
  log: (line: string) => void = () => {},
): Promise<PullReport> {
  const hive = `${opts.host}:${opts.port}`;
  const saved = await loadCursors(opts.cursorFile);
  if (saved && saved.hive !== hive) {
    throw new Error(
      `${opts.cursorFile} holds cursors of hive ${saved.hive}, not ${hive}; use another --since-cursor file`,
    );
  }
  await Deno.mkdir(opts.out, { recursive: true });
  const client = await NineClient.dial(opts.host, opts.port);
  try {
    const root = client.newFid();
    await client.attach(root, opts.role, opts.ticket);
    const workers = parseWorkers(await readText(client, root, ["proc", "workers"]));
    const restarted = saved !== null && (workers.spawned < saved.spawned ||
      workers.workers.some((w) => (saved.workers[w.id]?.offset ?? 0) > w.telemetryEnd));
    if (restarted) {
      log(`the hive restarted since the last pull (spawn count or a ring went back); cursors start over`);
    }
    const doc: CursorFile = { version: 1, hive, spawned: workers.spawned, workers: {} };
    const reports: WorkerReport[] = [];
    for (const w of workers.workers) {
      const prev = restarted ? undefined : saved?.workers[w.id];
      const file = join(opts.out, `${w.id}.telemetry`);
      const r = await pullWorker(client, root, w, prev, file);
      reports.push(r);
      doc.workers[w.id] = { offset: r.offset, outBytes: await fileSize(file) };
    }
    // Workers gone from the hive keep their cursors (an output file still names them) until a restart.
    if (saved && !restarted) {
      for (const [id, c] of Object.entries(saved.workers)) doc.workers[id] ??= c;
    }
    await saveCursors(opts.cursorFile, doc);
    return { version: 1, hive, restarted, workers: reports };
  } finally {
    client.close();
  }
}

async function pullWorker(
  client: NineClient,
  root: number,
  w: WorkerRow,
  prev: WorkerCursor | undefined,
  file: string,
): Promise<WorkerReport> {
  const report: WorkerReport = {
    worker: w.id,
    lines: 0,
    bytes: 0,
    lostBytes: 0,
    trimmedBytes: 0,
    file,
    offset: prev?.offset ?? 0,
  };
  // Cut what a pull that died before saving its cursor left past the recorded length.
  const have = await fileSize(file);
  const keep = prev?.outBytes ?? 0;
  if (have > keep) {
    await Deno.truncate(file, keep);
    report.trimmedBytes = have - keep;
  }
  let offset = prev?.offset ?? 0;
  if (offset < w.telemetryStart) {
    report.lostBytes = w.telemetryStart - offset;
    offset = w.telemetryStart;
  }
  const fid = client.newFid();
  try {
    await client.walk(root, fid, w.telemetryPath.split("/").filter((s) => s !== ""));
  } catch (e) {
    if (e instanceof NineError && e.errno === ENOENT) return { ...report, offset }; // revoked since /proc/workers
    throw e;
  }
  const parts: Uint8Array[] = [];
  let at = offset;
  try {
    await client.open(fid, O_RDONLY);
    for (;;) {
      let data: Uint8Array;
      try {
        data = await client.read(fid, at, client.ioChunk);
      } catch (e) {
        // The ring moved on under the read (EINVAL) or the worker was revoked (EBADF): keep what we have.
        if (e instanceof NineError && (e.errno === EINVAL || e.errno === EBADF)) break;
        throw e;
      }
      if (data.length === 0) break;
      parts.push(data);
      at += data.length;
    }
  } finally {
    await client.clunk(fid).catch(() => {});
  }
  const all = concat(parts);
  // Complete lines only: a partial last line stays in the ring for the next pull.
  const end = all.lastIndexOf(10) + 1;
  const f = await Deno.open(file, { write: true, create: true, append: true });
  try {
    for (let done = 0; done < end;) done += await f.write(all.subarray(done, end));
    await f.sync();
  } finally {
    f.close();
  }
  report.bytes = end;
  report.lines = end === 0 ? 0 : dec.decode(all.subarray(0, end)).split("\n").length - 1;
  report.offset = offset + end;
  return report;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
}

async function readText(client: NineClient, root: number, names: string[]): Promise<string> {
  const fid = client.newFid();
  await client.walk(root, fid, names);
  try {
    await client.open(fid, O_RDONLY);
    return dec.decode(await client.readAll(fid));
  } finally {
    await client.clunk(fid).catch(() => {});
  }
}
