/**
 * Spool store (Milestone 25b): a bounded record store for settings and pending telemetry, written
 * crash-safely. On the device it sits on the ESP (FAT, esp_backend.ts); hosted, in a directory
 * (dir_backend.ts). The record format and every rule below are the same for both:
 *   bounds file           {"version":1,"name","maxRecords","maxBytes","maxRecordBytes"}
 *   one file per record   "CSR1" | seq u32le | length u32le | payload | sha256(all before)
 * A record is written under its pending name, made durable, then renamed: a crash leaves either the
 * old state or the whole record. A pending file left behind (killed mid-write), or a record whose
 * checksum fails (FAT has no atomic rename; a torn sector), is dropped on open and counted, never
 * returned. File names per backend: DIR_NAMING (dir_backend.ts), ESP_NAMING (esp_backend.ts).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { SpoolBackend } from "./backend.ts";
import { DirBackend } from "./dir_backend.ts";

const MAGIC = [0x43, 0x53, 0x52, 0x31]; // "CSR1"
const HEADER_BYTES = 12;
const SUM_BYTES = 32;
const MAX_SEQ = 0xffffffff; // u32 in the record header (and 8 hex digits in an ESP short name)

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

/** A directory path means the hosted directory backend. */
export type SpoolLocation = string | SpoolBackend;

function backendOf(at: SpoolLocation): SpoolBackend {
  return typeof at === "string" ? new DirBackend(at) : at;
}

function header(seq: number, length: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  out.set(MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, seq, true);
  dv.setUint32(8, length, true);
  return out;
}

export function encodeRecord(seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length + SUM_BYTES);
  out.set(header(seq, payload.length), 0);
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

function checkLimits(l: SpoolLimits): void {
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new SpoolError(`spool ${k} must be an integer >= 1, got ${v}`);
    }
  }
  if (l.maxRecordBytes > l.maxBytes) throw new SpoolError("spool maxRecordBytes must not exceed maxBytes");
}

/** The bounds file's bytes (also what `cohesix image` lays out on a fresh ESP). */
export function configBytes(name: string, limits: SpoolLimits): Uint8Array {
  checkLimits(limits);
  return new TextEncoder().encode(JSON.stringify({ version: 1, name, ...limits }) + "\n");
}

async function readConfig(b: SpoolBackend): Promise<{ name: string; limits: SpoolLimits }> {
  let c: { version?: number; name?: string } & Partial<SpoolLimits>;
  try {
    const bytes = await b.read(b.naming.config);
    if (!bytes) throw new Error("unreadable");
    c = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new SpoolError(
      `${b.where} is not a spool store (${b.naming.config}: ${
        err instanceof Error ? err.message : String(err)
      }): pass a directory that holds a spool store (${b.naming.config})`,
    );
  }
  if (c.version !== 1 || typeof c.name !== "string") {
    throw new SpoolError(`${b.where}/${b.naming.config}: expected version 1 and a name`);
  }
  const limits = { maxRecords: c.maxRecords!, maxBytes: c.maxBytes!, maxRecordBytes: c.maxRecordBytes! };
  checkLimits(limits);
  return { name: c.name, limits };
}

/** Reads every record; with `repair`, removes torn files (what a boot does). Never throws on a torn record. */
async function scan(b: SpoolBackend, repair: boolean): Promise<SpoolScan> {
  const { name, limits } = await readConfig(b);
  const recs: number[] = [];
  const torn: string[] = [];
  for (const file of await b.list()) {
    const p = b.naming.parse(file);
    if (!p) continue;
    if (p.pending) torn.push(file);
    else recs.push(p.seq);
  }
  recs.sort((x, y) => x - y);
  const records: SpoolRecord[] = [];
  let bytes = 0;
  for (const seq of recs) {
    const raw = await b.read(b.naming.record(seq));
    const payload = raw && decodeRecord(seq, raw);
    if (payload) {
      records.push({ seq, payload });
      bytes += payload.length;
    } else torn.push(b.naming.record(seq));
  }
  if (repair && torn.length) await b.remove(torn);
  return { name, limits, records, bytes, torn: torn.length };
}

/** Creates an empty spool store (which must not exist already). */
export async function createSpool(at: SpoolLocation, name: string, limits: SpoolLimits): Promise<void> {
  const b = backendOf(at);
  const bytes = configBytes(name, limits);
  await b.makeDir();
  if (await b.exists()) throw new SpoolError(`${b.where} already holds a spool store`);
  const w = await b.create(b.naming.configPending);
  try {
    await w.write(bytes);
    await w.close();
    await b.rename(b.naming.configPending, b.naming.config);
  } catch (err) {
    await w.discard();
    throw err;
  }
}

/** Lists a spool without changing it: what `cohesix status --offline` shows. */
export function inspectSpool(at: SpoolLocation): Promise<SpoolScan> {
  return scan(backendOf(at), false);
}

/** A payload arriving in pieces whose total length is declared up front. */
export interface PayloadStream {
  length: number;
  chunks: AsyncIterable<Uint8Array>;
}

export class SpoolStore {
  private constructor(
    readonly backend: SpoolBackend,
    readonly name: string,
    readonly limits: SpoolLimits,
    private next: number,
    private seqs: number[],
    private sizes: Map<number, number>,
    private used: number,
    /** Test seam: runs after half a record is on the medium, before the rest and the rename. */
    private readonly midWrite?: () => Promise<void>,
  ) {}

  /** Opens a spool as a boot does: drops and counts torn records, returns the completed ones. */
  static async open(
    at: SpoolLocation,
    opts: { midWrite?: () => Promise<void> } = {},
  ): Promise<{ store: SpoolStore; scan: SpoolScan }> {
    const b = backendOf(at);
    const s = await scan(b, true);
    const last = s.records.length ? s.records[s.records.length - 1].seq : 0;
    const sizes = new Map(s.records.map((r) => [r.seq, r.payload.length]));
    const store = new SpoolStore(
      b,
      s.name,
      s.limits,
      last + 1,
      s.records.map((r) => r.seq),
      sizes,
      s.bytes,
      opts.midWrite,
    );
    return { store, scan: s };
  }

  /** The sequence number the next append takes. */
  get nextSeq(): number {
    return this.next;
  }

  get records(): number {
    return this.seqs.length;
  }

  get bytes(): number {
    return this.used;
  }

  /** Throws, changing nothing, when a record of `length` bytes would exceed a bound. */
  checkRoom(length: number): void {
    const l = this.limits;
    if (length > l.maxRecordBytes) {
      throw new SpoolError(
        `spool ${this.name}: record of ${length} bytes exceeds maxRecordBytes ${l.maxRecordBytes}`,
      );
    }
    if (this.seqs.length + 1 > l.maxRecords || this.used + length > l.maxBytes) {
      throw new SpoolError(
        `spool ${this.name} full (${this.seqs.length}/${l.maxRecords} records, ${this.used}/${l.maxBytes} bytes): ` +
          "drain it before writing more ('cohesix spool drop --through SEQ')",
      );
    }
    if (this.next > MAX_SEQ) {
      throw new SpoolError(`spool ${this.name}: sequence numbers exhausted; drain it fully`);
    }
  }

  /** Appends one record crash-safely; refuses (storing nothing) when it would exceed the bounds. */
  append(payload: Uint8Array): Promise<number> {
    return this.write(payload.length, [payload], false);
  }

  /**
   * Appends a record whose payload streams in: the bounds are checked against the declared length
   * before anything is written, then the pending file is put on the medium with the header alone
   * (the sequence number is taken and a crash from here on leaves a torn record, dropped on open),
   * then the payload is read, and the record completed and renamed.
   */
  appendStream(p: PayloadStream): Promise<number> {
    return this.write(p.length, p.chunks, true);
  }

  private async write(
    length: number,
    chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    claim: boolean,
  ): Promise<number> {
    this.checkRoom(length);
    const seq = this.next;
    const b = this.backend;
    const pending = b.naming.pending(seq);
    const w = await b.create(pending);
    let ok = false;
    try {
      const hash = sha256.create();
      const head = header(seq, length);
      hash.update(head);
      await w.write(head);
      if (claim) await w.flush();
      let got = 0;
      const half = length >> 1;
      for await (const chunk of chunks) {
        if (got + chunk.length > length) {
          throw new SpoolError(
            `spool ${this.name}: payload is longer than the declared ${length} bytes; nothing stored`,
          );
        }
        let part = chunk;
        if (this.midWrite && got < half && got + chunk.length >= half) {
          // Half the record on the medium, then the seam (the crash test kills the process here).
          await w.write(part.subarray(0, half - got));
          hash.update(part.subarray(0, half - got));
          await w.flush();
          await this.midWrite();
          part = part.subarray(half - got);
          got = half;
        }
        hash.update(part);
        await w.write(part);
        got += part.length;
      }
      if (got !== length) {
        throw new SpoolError(
          `spool ${this.name}: payload ended after ${got} of ${length} bytes; nothing stored`,
        );
      }
      await w.write(hash.digest());
      await w.close();
      await b.rename(pending, b.naming.record(seq));
      ok = true;
    } finally {
      if (!ok) await w.discard();
    }
    this.next++;
    this.seqs.push(seq);
    this.sizes.set(seq, length);
    this.used += length;
    return seq;
  }

  /** Removes the records with seq <= `through`, oldest first (a crash midway leaves a valid suffix). */
  async dropThrough(through: number): Promise<{ dropped: number; bytes: number }> {
    const gone = this.seqs.filter((s) => s <= through);
    if (!gone.length) return { dropped: 0, bytes: 0 };
    await this.backend.remove(gone.map((s) => this.backend.naming.record(s)));
    let bytes = 0;
    for (const s of gone) {
      bytes += this.sizes.get(s)!;
      this.sizes.delete(s);
    }
    this.seqs = this.seqs.filter((s) => s > through);
    this.used -= bytes;
    return { dropped: gone.length, bytes };
  }
}
