/**
 * Spool store (Milestone 25b): a bounded record store for settings and pending telemetry, written
 * crash-safely. On the device it sits on the ESP (FAT); hosted, in a directory. Layout:
 *   spool.json            {"version":1,"name","maxRecords","maxBytes","maxRecordBytes"}
 *   <seq:10 digits>.rec   one record: "CSR1" | seq u32le | length u32le | payload | sha256(all before)
 * A record is written to `<seq>.rec.new`, synced, then renamed: a crash leaves either the old state
 * or the whole record. A `.new` left behind (killed mid-write), or a `.rec` whose checksum fails
 * (FAT has no atomic rename; a torn sector), is dropped on open and counted, never returned.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { join } from "node:path";

const MAGIC = [0x43, 0x53, 0x52, 0x31]; // "CSR1"
const HEADER_BYTES = 12;
const SUM_BYTES = 32;
const CONFIG = "spool.json";
const REC = /^(\d{10})\.rec$/;
const NEW = /^(\d{10})\.rec\.new$/;

export interface SpoolLimits {
  maxRecords: number;
  maxBytes: number;
  maxRecordBytes: number;
}

export interface SpoolRecord {
  seq: number;
  payload: Uint8Array;
}

export interface SpoolScan {
  name: string;
  limits: SpoolLimits;
  records: SpoolRecord[];
  bytes: number;
  /** Records found incomplete or failing their checksum (dropped on open; only counted by `inspectSpool`). */
  torn: number;
}

export class SpoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpoolError";
  }
}

export function encodeRecord(seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length + SUM_BYTES);
  out.set(MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, seq, true);
  dv.setUint32(8, payload.length, true);
  out.set(payload, HEADER_BYTES);
  out.set(sha256(out.subarray(0, HEADER_BYTES + payload.length)), HEADER_BYTES + payload.length);
  return out;
}

/** The payload when `bytes` is a whole, unaltered record with sequence `seq`; undefined otherwise. */
export function decodeRecord(seq: number, bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < HEADER_BYTES + SUM_BYTES || MAGIC.some((m, i) => bytes[i] !== m)) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const len = dv.getUint32(8, true);
  if (dv.getUint32(4, true) !== seq || bytes.length !== HEADER_BYTES + len + SUM_BYTES) return undefined;
  const sum = sha256(bytes.subarray(0, HEADER_BYTES + len));
  const stored = bytes.subarray(HEADER_BYTES + len);
  for (let i = 0; i < SUM_BYTES; i++) if (sum[i] !== stored[i]) return undefined;
  return bytes.slice(HEADER_BYTES, HEADER_BYTES + len);
}

function recName(seq: number): string {
  return `${String(seq).padStart(10, "0")}.rec`;
}

async function writeSynced(path: string, bytes: Uint8Array, midWrite?: () => Promise<void>): Promise<void> {
  const f = await Deno.open(path, { write: true, createNew: true });
  try {
    const half = midWrite ? bytes.length >> 1 : bytes.length;
    for (let at = 0; at < half;) at += await f.write(bytes.subarray(at, half));
    if (midWrite) {
      await f.syncData();
      await midWrite();
      for (let at = half; at < bytes.length;) at += await f.write(bytes.subarray(at));
    }
    await f.syncData();
  } finally {
    f.close();
  }
}

function checkLimits(l: SpoolLimits): void {
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new SpoolError(`spool ${k} must be an integer >= 1, got ${v}`);
  }
  if (l.maxRecordBytes > l.maxBytes) throw new SpoolError("spool maxRecordBytes must not exceed maxBytes");
}

async function readConfig(dir: string): Promise<{ name: string; limits: SpoolLimits }> {
  let c: { version?: number; name?: string } & Partial<SpoolLimits>;
  try {
    c = JSON.parse(await Deno.readTextFile(join(dir, CONFIG)));
  } catch (err) {
    throw new SpoolError(
      `${dir} is not a spool store (${CONFIG}: ${err instanceof Error ? err.message : String(err)}): pass a directory that holds a spool store (spool.json)`,
    );
  }
  if (c.version !== 1 || typeof c.name !== "string") throw new SpoolError(`${join(dir, CONFIG)}: expected version 1 and a name`);
  const limits = { maxRecords: c.maxRecords!, maxBytes: c.maxBytes!, maxRecordBytes: c.maxRecordBytes! };
  checkLimits(limits);
  return { name: c.name, limits };
}

/** Reads every record; with `repair`, deletes torn files (what a boot does). Never throws on a torn record. */
async function scan(dir: string, repair: boolean): Promise<SpoolScan> {
  const { name, limits } = await readConfig(dir);
  const recs: number[] = [];
  const torn: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    const r = REC.exec(e.name);
    if (r) recs.push(Number(r[1]));
    else if (NEW.test(e.name)) torn.push(e.name);
  }
  recs.sort((a, b) => a - b);
  const records: SpoolRecord[] = [];
  let bytes = 0;
  for (const seq of recs) {
    const payload = decodeRecord(seq, await Deno.readFile(join(dir, recName(seq))));
    if (payload) {
      records.push({ seq, payload });
      bytes += payload.length;
    } else torn.push(recName(seq));
  }
  if (repair) for (const t of torn) await Deno.remove(join(dir, t));
  return { name, limits, records, bytes, torn: torn.length };
}

/** Creates an empty spool store in `dir` (which must not hold one already). */
export async function createSpool(dir: string, name: string, limits: SpoolLimits): Promise<void> {
  checkLimits(limits);
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, CONFIG);
  if (await Deno.lstat(path).then(() => true, () => false)) throw new SpoolError(`${dir} already holds a spool store`);
  await writeSynced(`${path}.new`, new TextEncoder().encode(JSON.stringify({ version: 1, name, ...limits }) + "\n"));
  await Deno.rename(`${path}.new`, path);
}

/** Lists a spool without changing it: what `cohesix status --offline` shows. */
export function inspectSpool(dir: string): Promise<SpoolScan> {
  return scan(dir, false);
}

export class SpoolStore {
  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly limits: SpoolLimits,
    private next: number,
    private count: number,
    private used: number,
    /** Test seam: runs after half a record is on disk, before the rest and the rename. */
    private readonly midWrite?: () => Promise<void>,
  ) {}

  /** Opens a spool as a boot does: drops and counts torn records, returns the completed ones. */
  static async open(dir: string, opts: { midWrite?: () => Promise<void> } = {}): Promise<{ store: SpoolStore; scan: SpoolScan }> {
    const s = await scan(dir, true);
    const last = s.records.length ? s.records[s.records.length - 1].seq : 0;
    const store = new SpoolStore(dir, s.name, s.limits, last + 1, s.records.length, s.bytes, opts.midWrite);
    return { store, scan: s };
  }

  /** Appends one record crash-safely; refuses (storing nothing) when it would exceed the bounds. */
  async append(payload: Uint8Array): Promise<number> {
    const l = this.limits;
    if (payload.length > l.maxRecordBytes) {
      throw new SpoolError(`spool ${this.name}: record of ${payload.length} bytes exceeds maxRecordBytes ${l.maxRecordBytes}`);
    }
    if (this.count + 1 > l.maxRecords || this.used + payload.length > l.maxBytes) {
      throw new SpoolError(
        `spool ${this.name} full (${this.count}/${l.maxRecords} records, ${this.used}/${l.maxBytes} bytes): drain it before writing more`,
      );
    }
    const seq = this.next;
    const path = join(this.dir, recName(seq));
    await writeSynced(`${path}.new`, encodeRecord(seq, payload), this.midWrite);
    await Deno.rename(`${path}.new`, path);
    this.next++;
    this.count++;
    this.used += payload.length;
    return seq;
  }
}
