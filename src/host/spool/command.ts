/** `cohesix spool`: create, append to, list and drain a spool store on an ESP image or in a directory. */
import { Buffer } from "node:buffer";
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { FatError } from "../../../images/fat.ts";
import { ESP_SPOOL_DIR } from "../image/artifacts.ts";
import type { SpoolBackend } from "./backend.ts";
import { DirBackend } from "./dir_backend.ts";
import { EspBackend, EspToolError } from "./esp_backend.ts";
import { isSpoolKind, SPOOL_KINDS } from "./layout.ts";
import { createSpool, inspectSpool, SpoolError, type SpoolLimits, SpoolStore } from "./store.ts";

const HELP = `cohesix spool: the bounded, crash-safe record stores for settings and pending telemetry

Usage: cohesix spool init   WHERE --kind settings|telemetry [--max-records N] [--max-bytes N]
                            [--max-record-bytes N] [--json]
       cohesix spool append WHERE [--kind K] [--text TEXT | --bytes N] [--json]
       cohesix spool list   WHERE [--kind K] [--json]
       cohesix spool drop   WHERE [--kind K] --through SEQ [--json]
WHERE: --esp IMG[:/path]    a store on a FAT ESP image (default path cohesix/SPOOL/<KIND>, where
                            'cohesix image' lays out an empty store of each kind)
       --dir DIR            a store in a host directory (hosted hives: 'cohesix dev --spool DIR')

One store per kind (settings, telemetry), each with its own bounds, so telemetry filling up never
crowds out settings; --kind names the store (with --dir or IMG:/path it must match the store's name).
Each record is "CSR1" | seq | length | payload | sha256, written under a pending name, made durable,
then renamed (on the ESP with mtools: mcopy NNNNNNNN.NEW, mren to NNNNNNNN.REC; 8.3 names). Opening a
store for append or drop drops and counts torn records a crash left; list only reports them.
One writer per store at a time (the sequence counter lives in the writing process).

Subcommands:
  init     create an empty store (bounds default to the kind's: settings 64 records / 16 KiB /
           4 KiB each, telemetry 256 records / 256 KiB / 16 KiB each)
  append   add one record: the payload is --text, or stdin (read whole, up to the record bound);
           with --bytes N stdin streams N bytes: bounds are checked first, the record's pending file
           is put down at once (a line on stderr says so), then stdin is read
  list     the records (seq, bytes, text preview; base64 payloads with --json), bytes against the
           bounds, and torn records; changes nothing
  drop     remove the records up to and including --through SEQ (after they were delivered)

A write the bounds refuse fails with the reason and changes nothing. Exit 0 on success, 1 on a
store error (refused, damaged, tool failed), 2 on bad usage.

Examples:
  cohesix spool append --esp out/img/esp.img --kind telemetry --text 'cpu=41'
  journalctl -o json | head -c 9000 | cohesix spool append --esp esp.img --kind telemetry
  cohesix spool list --esp esp.img:/cohesix/SPOOL/SETTINGS --json
  cohesix spool init --dir out/spool/telemetry --kind telemetry
  cohesix spool drop --dir out/spool/telemetry --through 12`;

const SUBS = ["init", "append", "list", "drop"] as const;
type Sub = typeof SUBS[number];

const usage = (message: string) =>
  new UsageError(`spool: ${message}`, "run 'cohesix spool --help' for usage");

function count(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw usage(`--${flag} must be a whole number, got '${v}'`);
  }
  return Number(v);
}

/** The store's backend from --esp / --dir and --kind. */
function locate(esp: string | undefined, dir: string | undefined, kind: string | undefined): SpoolBackend {
  if ((esp === undefined) === (dir === undefined)) {
    throw usage("give exactly one of --esp IMG[:/path] or --dir DIR");
  }
  if (kind !== undefined && !isSpoolKind(kind)) {
    throw usage(`--kind must be settings or telemetry, got '${kind}'`);
  }
  if (dir !== undefined) return new DirBackend(dir);
  const at = esp!.lastIndexOf(":/");
  if (at > 0) return new EspBackend(esp!.slice(0, at), esp!.slice(at + 1));
  if (kind === undefined) {
    throw usage("--esp IMG needs --kind settings|telemetry (or name the store: --esp IMG:/path)");
  }
  return new EspBackend(esp!, `${ESP_SPOOL_DIR}/${SPOOL_KINDS[kind as keyof typeof SPOOL_KINDS].dir}`);
}

function checkKind(b: SpoolBackend, name: string, kind: string | undefined): void {
  if (kind !== undefined && kind !== name) {
    throw new SpoolError(`${b.where} holds the '${name}' store, not '${kind}': pick the store of that kind`);
  }
}

async function readStdin(limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of Deno.stdin.readable) {
    n += chunk.length;
    if (n > limit) throw new SpoolError(`record from stdin exceeds maxRecordBytes ${limit}; nothing stored`);
    parts.push(chunk);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** stdin as chunks; `first` runs when the store asks for the first one (the pending file is down). */
async function* stdinChunks(first: () => void): AsyncGenerator<Uint8Array> {
  first();
  for await (const chunk of Deno.stdin.readable) yield chunk;
}

function preview(p: Uint8Array): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(p.subarray(0, 48));
  // deno-lint-ignore no-control-regex -- a listing shows control bytes as dots
  const shown = text.replace(/[\x00-\x1f\x7f\ufffd]/g, ".");
  return JSON.stringify(p.length > 48 ? shown + "…" : shown);
}

type Values = Record<string, string | boolean | undefined>;

async function run(sub: Sub, v: Values): Promise<number> {
  const json = v.json === true;
  const kind = v.kind as string | undefined;
  const b = locate(v.esp as string | undefined, v.dir as string | undefined, kind);
  const print = (doc: object, text: string) =>
    console.log(json ? JSON.stringify({ version: 1, ...doc }, null, 2) : text);
  if (sub === "init") {
    if (kind === undefined) throw usage("init needs --kind settings|telemetry (the store's name)");
    const d = SPOOL_KINDS[kind as keyof typeof SPOOL_KINDS].limits;
    const limits: SpoolLimits = {
      maxRecords: count("max-records", v["max-records"] as string) ?? d.maxRecords,
      maxBytes: count("max-bytes", v["max-bytes"] as string) ?? d.maxBytes,
      maxRecordBytes: count("max-record-bytes", v["max-record-bytes"] as string) ?? d.maxRecordBytes,
    };
    await createSpool(b, kind, limits);
    print(
      { store: b.where, name: kind, limits },
      `spool ${kind} created at ${b.where}: ${limits.maxRecords} records, ${limits.maxBytes} bytes, ${limits.maxRecordBytes} per record`,
    );
    return 0;
  }
  if (sub === "list") {
    const s = await inspectSpool(b);
    checkKind(b, s.name, kind);
    print(
      {
        store: b.where,
        name: s.name,
        limits: s.limits,
        bytes: s.bytes,
        torn: s.torn,
        records: s.records.map((r) => ({
          seq: r.seq,
          bytes: r.payload.length,
          payload: Buffer.from(r.payload).toString("base64"),
        })),
      },
      [
        `spool ${s.name} at ${b.where}: ${s.records.length}/${s.limits.maxRecords} records, ${s.bytes}/${s.limits.maxBytes} bytes, torn ${s.torn}` +
        (s.torn ? " (dropped at the next append or drop)" : ""),
        ...s.records.map((r) =>
          `  ${String(r.seq).padStart(6)}  ${String(r.payload.length).padStart(7)} B  ${preview(r.payload)}`
        ),
      ].join("\n"),
    );
    return 0;
  }
  if (sub === "append" && v.text !== undefined && v.bytes !== undefined) {
    throw usage("give --text or --bytes, not both");
  }
  const declared = count("bytes", v.bytes as string | undefined);
  const through = count("through", v.through as string | undefined);
  if (sub === "drop" && through === undefined) throw usage("drop needs --through SEQ");
  const { store, scan } = await SpoolStore.open(b);
  checkKind(b, store.name, kind);
  const torn = scan.torn
    ? ` (dropped ${scan.torn} torn record${scan.torn === 1 ? "" : "s"} a crash left)`
    : "";
  if (sub === "drop") {
    const d = await store.dropThrough(through!);
    print(
      { store: b.where, name: store.name, ...d, records: store.records, bytes: store.bytes, torn: scan.torn },
      `dropped ${d.dropped} record(s), ${d.bytes} bytes, through seq ${through} from ${b.where}; ` +
        `${store.records}/${store.limits.maxRecords} records left${torn}`,
    );
    return 0;
  }
  let seq: number;
  if (v.text !== undefined) seq = await store.append(new TextEncoder().encode(v.text as string));
  else if (declared !== undefined) {
    seq = await store.appendStream({
      length: declared,
      chunks: stdinChunks(() =>
        console.error(
          `spool: record ${store.nextSeq} pending as ${
            b.naming.pending(store.nextSeq)
          }; reading ${declared} bytes from stdin`,
        )
      ),
    });
  } else seq = await store.append(await readStdin(store.limits.maxRecordBytes));
  print(
    { store: b.where, name: store.name, seq, records: store.records, bytes: store.bytes, torn: scan.torn },
    `appended seq ${seq} to ${store.name} at ${b.where}: ${store.records}/${store.limits.maxRecords} records, ` +
      `${store.bytes}/${store.limits.maxBytes} bytes${torn}`,
  );
  return 0;
}

export const spoolCommand: Subcommand = {
  name: "spool",
  summary:
    "append, list and drop records of a spool store (settings, pending telemetry) on an ESP or in a directory",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv;
    if (!SUBS.includes(sub as Sub)) {
      throw usage(
        sub === undefined
          ? "name a subcommand: init, append, list or drop"
          : `unknown subcommand '${sub}' (init, append, list, drop)`,
      );
    }
    const { values } = parseFlags(`spool ${sub}`, rest, {
      esp: { type: "string" },
      dir: { type: "string" },
      kind: { type: "string" },
      text: { type: "string" },
      bytes: { type: "string" },
      through: { type: "string" },
      "max-records": { type: "string" },
      "max-bytes": { type: "string" },
      "max-record-bytes": { type: "string" },
      json: { type: "boolean", default: false },
    });
    const allowed: Record<Sub, string[]> = {
      init: ["max-records", "max-bytes", "max-record-bytes"],
      append: ["text", "bytes"],
      list: [],
      drop: ["through"],
    };
    const common = ["esp", "dir", "kind", "json", "help"];
    const stray = Object.keys(values).find((k) => !common.includes(k) && !allowed[sub as Sub].includes(k));
    if (stray) throw usage(`--${stray} does not apply to '${sub}'`);
    try {
      return await run(sub as Sub, values as Values);
    } catch (err) {
      if (err instanceof SpoolError || err instanceof EspToolError || err instanceof FatError) {
        console.error(`cohesix spool ${sub}: ${err.message}`);
        return 1;
      }
      if (err instanceof Deno.errors.NotFound) {
        console.error(`cohesix spool ${sub}: ${err.message} (check the --dir / --esp path)`);
        return 1;
      }
      throw err;
    }
  },
};
