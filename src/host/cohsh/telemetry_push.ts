/**
 * `cohesix cohsh telemetry push FILE --device D`: pushes a file into the hive's telemetry ingest
 * (`/queen/telemetry/<device>/`, seeds 21a) over Secure9P. The file becomes envelope records
 * (`cohsh-telemetry-push/v1`: `{"schema","seq","mime","payload"}`, one JSON line each, at most the
 * hive's record limit), then: the hive's limits are read (`/queen/telemetry/limits`), a file whose
 * records exceed `max_bytes_per_segment` is refused here before anything is sent, a segment is
 * requested through `ctl` (the hive names it), `latest` says which, and the records are appended
 * at its end, one write each.
 */
import { parseFlags, parsePort, UsageError } from "../cli/command.ts";
import { NineClient, NineError } from "../../secure9p/host/client.ts";
import { EEXIST, errnoName } from "../../secure9p/errors.ts";
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
    throw new PushError(
      `cannot push ${path}: only ${
        Object.keys(PUSH_MIMES).join(", ")
      } files are telemetry (the extension picks the mime)`,
    );
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
  if (overhead >= maxRecordBytes) {
    throw new PushError(`record limit ${maxRecordBytes} bytes leaves no room for a payload`);
  }
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
      throw new PushError(
        "this hive has no telemetry ingest (/queen/telemetry): enable [telemetry_ingest] in its manifest",
      );
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
  try {
    await io.write(
      ["queen", "telemetry", "ctl"],
      0,
      enc.encode(JSON.stringify({ new: "device", device }) + "\n"),
      "device ctl",
    );
  } catch (e) {
    if (!(e instanceof NineError && e.errno === EEXIST)) throw e; // the device is there already
  }
  await io.write(
    ["queen", "telemetry", device, "ctl"],
    0,
    enc.encode(JSON.stringify({ new: "segment", mime }) + "\n"),
    "segment ctl",
  );
  const segment = (await io.readText(["queen", "telemetry", device, "latest"])).trim();
  if (!/^seg-\d{6,}$/.test(segment)) {
    throw new PushError(`the hive's latest names '${segment}', not a segment`);
  }
  const fid = await io.open(["queen", "telemetry", device, "seg", segment], O_WRONLY);
  let offset = 0;
  try {
    for (const r of records) {
      try {
        offset += await client.write(fid, offset, r);
      } catch (e) {
        if (e instanceof NineError) {
          throw new PushError(
            `the hive refused record at offset ${offset} of ${segment}: ${
              errnoName(e.errno)
            } (see /log/queen.log)`,
          );
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
      if (e instanceof NineError && e.errno !== EEXIST) {
        throw new PushError(`the hive refused the ${what} write: ${errnoName(e.errno)} (see /log/queen.log)`);
      }
      throw e;
    } finally {
      await this.c.clunk(fid).catch(() => {});
    }
  }
}

export const PUSH_HELP = `cohesix cohsh telemetry push: push a file into a hive's telemetry ingest

Usage: cohesix cohsh [--host H] [--port P] [--role R] [--ticket T] telemetry push FILE --device D [--json]

Over Secure9P (port P, default 5640; role default queen): adds device D under /queen/telemetry if it
is new, asks D's ctl for a new segment (the hive names it seg-NNNNNN), then appends FILE as
${PUSH_SCHEMA} records ({"schema","seq","mime","payload"}, one JSON line of at most the hive's
max_record_bytes each). FILE must be .txt, .log, .json, .ndjson, .jsonl or .csv (UTF-8); its records
must fit the hive's max_bytes_per_segment, else nothing is sent.

Examples:
  cohesix cohsh telemetry push readings.csv --device sensor-1
  cohesix cohsh --port 5641 telemetry push boot.log --device edge-7 --json
`;

/** `cohesix cohsh [conn flags] telemetry push FILE --device D`; `conn` are the flags before `telemetry`. */
export async function runTelemetryPush(conn: string[], args: string[]): Promise<number> {
  const c = parseFlags("cohsh", conn, {
    host: { type: "string" },
    port: { type: "string" },
    role: { type: "string" },
    ticket: { type: "string" },
    transport: { type: "string" },
  }).values;
  const { values, positionals } = parseFlags("cohsh telemetry push", args, {
    device: { type: "string" },
    json: { type: "boolean" },
  }, true);
  if (c.help || values.help) {
    console.log(PUSH_HELP);
    return 0;
  }
  if (c.transport !== undefined && c.transport !== "9p") {
    throw new UsageError(
      "cohsh telemetry push: runs over Secure9P only (--transport 9p, the default for push)",
    );
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      "cohsh telemetry push: give exactly one FILE",
      "cohesix cohsh telemetry push FILE --device D",
    );
  }
  if (values.device === undefined) throw new UsageError("cohsh telemetry push: --device D is required");
  const file = positionals[0];
  let data: Uint8Array;
  try {
    data = await Deno.readFile(file);
  } catch (e) {
    console.error(`cohsh telemetry push: cannot read ${file}: ${(e as Error).message}`);
    return 1;
  }
  const host = c.host ?? "127.0.0.1";
  const port = c.port !== undefined ? parsePort("cohsh", "port", c.port) : 5640;
  let client: NineClient;
  try {
    client = await NineClient.dial(host, port);
  } catch (e) {
    console.error(
      `cohsh telemetry push: cannot reach the hive's 9P port ${host}:${port}: ${
        (e as Error).message
      }; is 'cohesix dev' running?`,
    );
    return 1;
  }
  try {
    const root = client.newFid();
    await client.attach(root, c.role ?? "queen", c.ticket ?? "");
    const r = await pushTelemetry(client, root, values.device, file, data);
    if (values.json) {
      console.log(
        JSON.stringify({ version: 1, ok: true, ...r, path: `/queen/telemetry/${r.device}/seg/${r.segment}` }),
      );
    } else {console.log(
        `OK TELEMETRY device=${r.device} segment=${r.segment} records=${r.records} bytes=${r.bytes}`,
      );}
    return 0;
  } catch (e) {
    const msg = e instanceof PushError || e instanceof NineError ? e.message : String(e);
    if (values.json) console.log(JSON.stringify({ version: 1, ok: false, error: msg }));
    console.error(`cohsh telemetry push: ${msg}`);
    return 1;
  } finally {
    client.close();
  }
}
