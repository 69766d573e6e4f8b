/** `cohesix update`: make update signing keys and pack signed content-addressed updates. */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { basename } from "node:path";
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { keyPair } from "../ticket/codec.ts";
import { devUpdateSeed } from "./manifest.ts";
import { packUpdate, writeUpdateDir } from "./pack.ts";
import { parseStatus, PushError, type PushResult, pushUpdate } from "./push.ts";
import { HiveLink, parseHive } from "../cli/hive_link.ts";
import { NineError } from "../../secure9p/host/client.ts";
import { ENOENT } from "../../secure9p/errors.ts";

/** unlinkat(2)'s flag for a directory, as Linux v9fs sends it in Tunlinkat. */
const AT_REMOVEDIR = 0x200;

const HELP = `cohesix update: signed, content-addressed updates

Usage:
  cohesix update keygen [--seed HEX | --dev] [--out FILE] [--json]
  cohesix update pack --key FILE --epoch N --out DIR [--chunk-bytes N] [--base DIR] FILE...
  cohesix update push DIR [--hive H:P] [--role R] [--ticket T] [--window N] [--json]
  cohesix update status [--epoch N] [--hive H:P] [--role R] [--ticket T] [--json]
  cohesix update drop --epoch N [--hive H:P] [--role R] [--ticket T]

An update is a directory: chunks/<sha256> (the files, concatenated and cut into --chunk-bytes
pieces, each named by its sha256) and manifest.cbor (epoch, chunk list, total size, file list,
optional delta base epoch), signed with Ed25519. The hive accepts it only under a key listed in
its manifest's trusted update keys. pack is deterministic: same inputs, byte-identical output.

Flags (keygen):
  --seed HEX         32-byte seed as 64 lowercase hex digits (default: random)
  --dev              the development update key, seed sha256("cohesix-dev-update-key");
                     every checkout knows it, so replace it before deploying
  --out FILE         write the key file (JSON with the secret key, mode 600) instead of stdout

Flags (pack):
  --key FILE         key file written by 'update keygen --out' (or 'ticket keygen')
  --epoch N          update epoch, 1..2^31-1; the hive serves it at /updates/<N>/
  --out DIR          new directory to create (refused if it exists; written all-or-nothing)
  --chunk-bytes N    chunk size in bytes, must equal the hive's cas.store.chunk_bytes (default 4096)
  --base DIR         an earlier packed update: a delta that reuses its chunks (only new ones written)

Flags (push, status):
  --hive H:P         the hive's Secure9P address (default 127.0.0.1:5640)
  --role R           role to attach as (default queen: only the queen may write /updates)
  --ticket T         ticket for that role, when the hive requires one
  --window N         requests in flight at once while pushing (default 16)
  --epoch N          status of one epoch, with its missing chunks (default: every epoch)
  --json             one JSON object on stdout

drop removes /updates/<N> (rmdir): the epoch and the chunks no other epoch lists; the hive keeps
at most cas.store.max_epochs epochs, so drop old ones before pushing new ones.

push reads the hive's /updates/<epoch>/status first and sends only what it lacks: the manifest
if it has none, then the chunks it lists as missing. A push killed or cut off resumes on the
next run (or reconnects by itself, up to 5 attempts). Exit 0 only when status is ready; 1 with
the hive's reason otherwise (untrusted-key, bad-signature, too-big, sha256-mismatch, ...).

Examples:
  cohesix update keygen --out update-key.json
  cohesix update pack --key update-key.json --epoch 2 --out out/update-2 build/app.bin
  cohesix update pack --key update-key.json --epoch 3 --base out/update-2 --out out/update-3 build/app.bin
  cohesix update push out/update-2 --hive 10.0.0.7:5640
  cohesix update status --epoch 2 --json`;

function usage(message: string): never {
  throw new UsageError(`update: ${message}`, "run 'cohesix update --help' for usage");
}

function intFlag(name: string, value: string | undefined, min: number, max: number, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) usage(`--${name} is required`);
    return fallback;
  }
  const n = Number(value);
  if (!/^\d{1,10}$/.test(value) || n < min || n > max) usage(`--${name} must be an integer ${min}..${max}, got '${value}'`);
  return n;
}

async function keygen(argv: string[]): Promise<number> {
  const { values } = parseFlags("update keygen", argv, {
    seed: { type: "string" },
    dev: { type: "boolean", default: false },
    out: { type: "string" },
    json: { type: "boolean", default: false },
  });
  if (values.seed !== undefined && values.dev) usage("--seed and --dev are exclusive");
  if (values.seed !== undefined && !/^[0-9a-f]{64}$/.test(values.seed)) usage("--seed must be 64 lowercase hex digits");
  const seed = values.dev ? devUpdateSeed() : values.seed ? hexToBytes(values.seed) : undefined;
  const pair = keyPair(seed);
  const file = JSON.stringify({ version: 1, ...pair }, null, 2) + "\n";
  if (values.out) {
    try {
      await Deno.writeTextFile(values.out, file, { createNew: true, mode: 0o600 });
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) usage(`Cannot write ${values.out}: it already exists`);
      throw err;
    }
  }
  if (values.json) console.log(JSON.stringify({ kid: pair.kid, publicKey: pair.publicKey, ...(values.out ? {} : { secretKey: pair.secretKey }) }));
  else if (values.out) console.log(`kid=${pair.kid} publicKey=${pair.publicKey} written=${values.out}`);
  else console.log(file.trimEnd());
  return 0;
}

async function readSecretKey(path: string): Promise<Uint8Array> {
  let k: { version?: number; secretKey?: string };
  try {
    k = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    usage(`Cannot read key file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (k.version !== 1 || !/^[0-9a-f]{64}$/.test(k.secretKey ?? "")) {
    usage(`Cannot read key file ${path}: expected {"version":1,"kid","publicKey","secretKey"} from 'update keygen --out'`);
  }
  return hexToBytes(k.secretKey!);
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    usage(`Cannot read ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function pack(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags("update pack", argv, {
    key: { type: "string" },
    epoch: { type: "string" },
    out: { type: "string" },
    "chunk-bytes": { type: "string" },
    base: { type: "string" },
  }, true);
  if (!values.key) usage("pack needs --key FILE");
  if (!values.out) usage("pack needs --out DIR");
  const epoch = intFlag("epoch", values.epoch, 1, 0x7fff_ffff);
  const chunkBytes = intFlag("chunk-bytes", values["chunk-bytes"], 64, 65536, 4096);
  if (positionals.length === 0) usage("pack needs at least one FILE");
  const names = positionals.map((p) => basename(p));
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) usage(`two inputs share the file name '${dup}'`);
  const secretKey = await readSecretKey(values.key);
  const files = [];
  for (const p of positionals) files.push({ name: basename(p), bytes: await readInput(p, "input") });
  const baseManifest = values.base ? await readInput(`${values.base}/manifest.cbor`, "base manifest") : undefined;
  let packed;
  try {
    packed = packUpdate({ epoch, chunkBytes, secretKey, files, baseManifest });
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  try {
    await writeUpdateDir(values.out, packed);
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  const b = packed.body;
  console.log(
    `packed epoch=${b.epoch} bytes=${b.totalBytes} chunks=${b.chunks.length} new=${packed.newChunks.size} ` +
      `reused=${packed.reusedChunks} base=${b.baseEpoch} manifest=${bytesToHex(packed.manifest).length / 2}B out=${values.out}`,
  );
  return 0;
}

async function push(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags("update push", argv, {
    hive: { type: "string" },
    role: { type: "string" },
    ticket: { type: "string" },
    window: { type: "string" },
    json: { type: "boolean", default: false },
  }, true);
  if (positionals.length !== 1) usage("push needs exactly one DIR (written by 'update pack')");
  const dir = positionals[0];
  try {
    await Deno.stat(`${dir}/manifest.cbor`);
  } catch {
    usage(`push: ${dir}/manifest.cbor does not exist (pack the update first: 'cohesix update pack')`);
  }
  const addr = parseHive("update push", values.hive);
  const window = intFlag("window", values.window, 1, 64, 16);
  const json = values.json;
  const progress = (line: string) => console.error(line);
  let result: PushResult;
  let failure = "";
  try {
    result = await pushUpdate(dir, addr, { role: values.role, ticket: values.ticket, window, progress });
  } catch (e) {
    if (!(e instanceof PushError)) throw e;
    result = e.result;
    failure = e.message;
  }
  const r = result;
  const mbps = r.ms > 0 ? (r.sentChunkBytes + r.sentManifestBytes) / 1e6 / (r.ms / 1000) : 0;
  if (json) console.log(JSON.stringify({ ok: failure === "", ...(failure ? { error: failure } : {}), ...r, mbps: Number(mbps.toFixed(2)) }));
  else if (failure) console.error(`update push: ${failure}`);
  else {
    console.log(
      `pushed epoch=${r.epoch} state=${r.state} chunks=${r.chunks} sent=${r.sentChunks} skipped=${r.skippedChunks} ` +
        `bytes=${r.sentChunkBytes + r.sentManifestBytes} rounds=${r.rounds} reconnects=${r.reconnects} ms=${r.ms.toFixed(0)} MB/s=${mbps.toFixed(2)}`,
    );
  }
  return failure ? 1 : 0;
}

async function status(argv: string[]): Promise<number> {
  const { values } = parseFlags("update status", argv, {
    hive: { type: "string" },
    role: { type: "string" },
    ticket: { type: "string" },
    epoch: { type: "string" },
    json: { type: "boolean", default: false },
  });
  const addr = parseHive("update status", values.hive);
  const epoch = values.epoch === undefined ? undefined : intFlag("epoch", values.epoch, 1, 0xffff_ffff);
  const link = await HiveLink.open(addr, values.role ?? "queen", values.ticket ?? "");
  let text: string;
  try {
    text = await link.read(epoch === undefined ? "/updates/status" : `/updates/${epoch}/status`);
  } catch (e) {
    if (e instanceof NineError && e.errno === ENOENT) {
      console.error(
        epoch === undefined
          ? "update status: the hive serves no /updates (its manifest leaves [cas] off)"
          : `update status: the hive has no epoch ${epoch} (push it first: 'cohesix update push DIR')`,
      );
      return 1;
    }
    throw e;
  } finally {
    link.close();
  }
  if (!values.json) {
    console.log(text.trimEnd());
    return 0;
  }
  if (epoch !== undefined) {
    console.log(JSON.stringify({ epoch, ...parseStatus(text) }));
    return 0;
  }
  const [head, ...lines] = text.trimEnd().split("\n");
  const store = Object.fromEntries(head.split(" ").map((p) => p.split("=")));
  const epochs = lines.map((l) => {
    const [e, ...rest] = l.split(" ");
    return { epoch: Number(e.slice("epoch=".length)), ...parseStatus(rest.join(" ")) };
  });
  console.log(JSON.stringify({ store, epochs }));
  return 0;
}

async function drop(argv: string[]): Promise<number> {
  const { values } = parseFlags("update drop", argv, {
    hive: { type: "string" },
    role: { type: "string" },
    ticket: { type: "string" },
    epoch: { type: "string" },
  });
  const addr = parseHive("update drop", values.hive);
  const epoch = intFlag("epoch", values.epoch, 1, 0xffff_ffff);
  const link = await HiveLink.open(addr, values.role ?? "queen", values.ticket ?? "");
  const c = link.client;
  const dir = c.newFid();
  try {
    await c.walk(link.root, dir, ["updates"]);
    await c.unlinkat(dir, String(epoch), AT_REMOVEDIR);
  } catch (e) {
    if (e instanceof NineError && e.errno === ENOENT) {
      console.error(`update drop: the hive has no epoch ${epoch} (or serves no /updates)`);
      return 1;
    }
    throw e;
  } finally {
    await c.clunk(dir).catch(() => {});
    link.close();
  }
  console.log(`dropped epoch=${epoch}`);
  return 0;
}

export const updateCommand: Subcommand = {
  name: "update",
  summary: "Signed content-addressed updates: keygen, pack, push, status, drop",
  help: HELP,
  run(argv) {
    const [sub, ...rest] = argv;
    if (sub === "keygen") return keygen(rest);
    if (sub === "pack") return pack(rest);
    if (sub === "push") return push(rest);
    if (sub === "status") return status(rest);
    if (sub === "drop") return drop(rest);
    const subs = "keygen, pack, push, status or drop";
    usage(sub === undefined ? `missing subcommand (${subs})` : `unknown subcommand '${sub}' (${subs})`);
  },
};
