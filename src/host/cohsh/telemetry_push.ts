/**
 * `cohesix cohsh telemetry push FILE --device D`: pushes a file into the hive's telemetry ingest
 * (`/queen/telemetry/<device>/`, seeds 21a) over Secure9P. The file becomes envelope records
 * (`cohsh-telemetry-push/v1`: `{"schema","seq","mime","payload"}`, one JSON line each, at most the
 * hive's record limit), then: the hive's limits are read (`/queen/telemetry/limits`), a file whose
 * records exceed `max_bytes_per_segment` is refused here before anything is sent, a segment is
 * requested through `ctl` (the hive names it), `latest` says which, and the records are appended
 * at its end, one write each.
 */
import { NineClient, NineError } from "../../secure9p/host/client.ts";
import { errnoName } from "../../secure9p/errors.ts";
import { O_RDONLY, O_WRONLY } from "../../secure9p/namespace.ts";

export const PUSH_SCHEMA = "cohsh-telemetry-push/v1";

/** File extensions cohsh pushes, and the media type each becomes. Anything else is refused. */
export const PUSH_MIMES: Record<string, string> = {
  ".txt": "text/plain",
  ".log": "text/plain",
  ".json": "application/json",
  ".ndjson": "application/x-ndjson",
  ".jsonl": "application/x-ndjson",
  ".csv": "text/csv",
};

export interface IngestLimitsView {
  maxSegmentsPerDevice: number;
  maxBytesPerSegment: number;
  maxTotalBytesPerDevice: number;
  maxRecordBytes: number;
  evictionPolicy: string;
}

/** A push refused before or by the hive; `message` says what and what to do. */
export class PushError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PushError";
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

export function mimeFor(path: string): string {
  const dot = path.lastIndexOf(".");
  const mime = dot >= 0 ? PUSH_MIMES[path.slice(dot).toLowerCase()] : undefined;
  if (!mime) {
    throw new PushError(`cannot push ${path}: only ${Object.keys(PUSH_MIMES).join(", ")} files are telemetry (the extension picks the mime)`);
  }
  return mime;
}

function envelope(seq: number, mime: string, payload: string): string {
  return JSON.stringify({ schema: PUSH_SCHEMA, seq, mime, payload }) + "\n";
}

/**
 * Splits `text` into envelope lines of at most `maxRecordBytes` bytes each (JSON escaping counted),
 * never splitting a UTF-16 surrogate pair. Deterministic: the same file gives the same records.
 */
export function encodeRecords(text: string, mime: string, maxRecordBytes: number): Uint8Array[] {
  const overhead = enc.encode(envelope(1_000_000_000, mime, "")).length;
  if (overhead >= maxRecordBytes) throw new PushError(`record limit ${maxRecordBytes} bytes leaves no room for a payload`);
  const out: Uint8Array[] = [];
  let pos = 0;
  let seq = 1;
  while (pos < text.length || (text.length === 0 && seq === 1)) {
    // Grow the chunk while its escaped JSON fits; an upper bound first, then shrink.
    let end = Math.min(text.length, pos + (maxRecordBytes - overhead));
    let line = envelope(seq, mime, text.slice(pos, end));
    while (enc.encode(line).length > maxRecordBytes) {
      const bytes = enc.encode(line).length;
      const cut = Math.max(1, Math.ceil(((bytes - maxRecordBytes) * (end - pos)) / bytes));
      end = Math.max(pos + 1, end - cut);
      const c = text.charCodeAt(end - 1);
      if (c >= 0xd800 && c <= 0xdbff && end - pos > 1) end--; // keep a surrogate pair together
      line = envelope(seq, mime, text.slice(pos, end));
    }
    out.push(enc.encode(line));
    pos = end;
    seq++;
    if (text.length === 0) break;
  }
  return out;
}

/** Parses `/queen/telemetry/limits` (`key=value` tokens). */
export function parseLimits(text: string): IngestLimitsView {
  const kv = new Map<string, string>();
  for (const tok of text.trim().split(/\s+/)) {
    const eq = tok.indexOf("=");
    if (eq > 0) kv.set(tok.slice(0, eq), tok.slice(eq + 1));
  }
  const n = (k: string) => Number(kv.get(k) ?? "0");
  return {
    maxSegmentsPerDevice: n("max_segments_per_device"),
    maxBytesPerSegment: n("max_bytes_per_segment"),
    maxTotalBytesPerDevice: n("max_total_bytes_per_device"),
    maxRecordBytes: n("max_record_bytes"),
    evictionPolicy: kv.get("eviction_policy") ?? "",
  };
}

export interface PushResult {
  device: string;
  segment: string;
  records: number;
  bytes: number;
}

/** Pushes `data` (the file's bytes) as a new segment of `device` through an attached session. */
export async function pushTelemetry(
  client: NineClient,
  root: number,
  device: string,
  fileName: string,
  data: Uint8Array,
): Promise<PushResult> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(device)) {
    throw new PushError(`--device '${device}' must be 1-64 letters, digits, '_' or '-'`);
  }
  const mime = mimeFor(fileName);
  let text: string;
  try {
    text = dec.decode(data);
  } catch {
    throw new PushError(`cannot push ${fileName}: it is not UTF-8 text`);
  }
  const io = new Session(client, root);
  let limitsText: string;
  try {
    limitsText = await io.readText(["queen", "telemetry", "limits"]);
  } catch (e) {
    if (e instanceof NineError && e.errno === 2) {
      throw new PushError("this hive has no telemetry ingest (/queen/telemetry): enable [telemetry_ingest] in its manifest");
    }
    throw e;
  }
  const limits = parseLimits(limitsText);
  const records = encodeRecords(text, mime, limits.maxRecordBytes);
  const total = records.reduce((a, r) => a + r.length, 0);
  if (total > limits.maxBytesPerSegment) {
    throw new PushError(
      `${fileName} needs ${total} bytes as ${records.length} ${PUSH_SCHEMA} records, over the hive's ` +
        `max_bytes_per_segment ${limits.maxBytesPerSegment}; nothing was sent (split the file)`,
    );
  }
  await io.write(["queen", "telemetry", device, "ctl"], 0, enc.encode(JSON.stringify({ new: "segment", mime }) + "\n"), "ctl");
  const segment = (await io.readText(["queen", "telemetry", device, "latest"])).trim();
  if (!/^seg-\d{6,}$/.test(segment)) throw new PushError(`the hive's latest names '${segment}', not a segment`);
  const fid = await io.open(["queen", "telemetry", device, "seg", segment], O_WRONLY);
  let offset = 0;
  try {
    for (const r of records) {
      try {
        offset += await client.write(fid, offset, r);
      } catch (e) {
        if (e instanceof NineError) {
          throw new PushError(`the hive refused record at offset ${offset} of ${segment}: ${errnoName(e.errno)} (see /log/queen.log)`);
        }
        throw e;
      }
    }
  } finally {
    await client.clunk(fid).catch(() => {});
  }
  return { device, segment, records: records.length, bytes: offset };
}

/** Walk/open/read/write helpers over one attached root fid. */
class Session {
  constructor(private readonly c: NineClient, private readonly root: number) {}

  async open(names: string[], mode: number): Promise<number> {
    const fid = this.c.newFid();
    await this.c.walk(this.root, fid, names);
    try {
      await this.c.open(fid, mode);
    } catch (e) {
      await this.c.clunk(fid).catch(() => {});
      throw e;
    }
    return fid;
  }

  async readText(names: string[]): Promise<string> {
    const fid = await this.open(names, O_RDONLY);
    try {
      return new TextDecoder().decode(await this.c.readAll(fid));
    } finally {
      await this.c.clunk(fid).catch(() => {});
    }
  }

  async write(names: string[], offset: number, data: Uint8Array, what: string): Promise<void> {
    const fid = await this.open(names, O_WRONLY);
    try {
      await this.c.write(fid, offset, data);
    } catch (e) {
      if (e instanceof NineError) throw new PushError(`the hive refused the ${what} write: ${errnoName(e.errno)} (see /log/queen.log)`);
      throw e;
    } finally {
      await this.c.clunk(fid).catch(() => {});
    }
  }
}
