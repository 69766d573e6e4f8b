/**
 * `cohesix bundle`: a support bundle from a live hive, read over Secure9P with no side effects
 * (only walks, opens for reading, reads and clunks): every file under /proc, the queen's log, the
 * trace events, plus the manifest, doctor's report and local trace files. Every text is redacted
 * before it is written; the archive is a tar.gz with a fixed layout (sorted names, mtime 0,
 * owner 0) and bundle.json lists each file with its size, sha256 and redaction count.
 */
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { sha256Hex } from "../../../images/attest.ts";
import { O_RDONLY, QTDIR } from "../../secure9p/namespace.ts";
import { NineClient, NineError } from "../../secure9p/host/client.ts";
import { errnoName } from "../../secure9p/errors.ts";
import { COHESIX_VERSION } from "../../guest/version.ts";
import { DEFAULT_DOCTOR, formatDoctor, runDoctor } from "../doctor/checks.ts";
import { redact } from "./redact.ts";

/** The top directory inside the archive. */
export const BUNDLE_DIR = "cohesix-bundle";
/** Hive subtrees and files a bundle reads. */
export const HIVE_SOURCES = ["/proc", "/log/queen.log", "/trace/events"];
/** No single hive file beyond this many bytes goes in (rings are far smaller). */
const MAX_FILE_BYTES = 1 << 20;
const MAX_FILES = 4096;

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

export interface BundleOptions {
  host: string;
  ninepPort: number;
  consolePort: number;
  role: string;
  ticket: string;
  manifest: string;
  traces: string[];
  out: string;
  progress: (line: string) => void;
}

export interface BundleFile {
  path: string;
  size: number;
  sha256: string;
  redactions: number;
}

export interface BundleResult {
  out: string;
  sha256: string;
  bytes: number;
  files: BundleFile[];
  refused: Record<string, string>;
}

const dec = new TextDecoder();
const enc = new TextEncoder();

/** Reads every file under `path` (a file or a directory) into `files`, keyed by hive path. */
async function readTree(
  c: NineClient,
  root: number,
  path: string,
  files: Map<string, Uint8Array>,
  refused: Record<string, string>,
): Promise<void> {
  const names = path.split("/").filter((n) => n !== "");
  const fid = c.newFid();
  try {
    await c.walk(root, fid, names);
  } catch (err) {
    if (err instanceof NineError) refused[path] = errnoName(err.errno);
    else throw err;
    return;
  }
  try {
    const attr = await c.getattr(fid);
    await c.open(fid, O_RDONLY);
    if (attr.qid.type >= QTDIR) {
      const entries = (await c.readdirAll(fid)).map((e) => e.name).filter((n) => n !== "." && n !== "..")
        .sort();
      for (const name of entries) {
        if (files.size >= MAX_FILES) {
          throw new BundleError(
            `Cannot bundle: the hive holds more than ${MAX_FILES} files under ${HIVE_SOURCES.join(", ")}`,
          );
        }
        await readTree(c, root, `${path === "/" ? "" : path}/${name}`, files, refused);
      }
    } else {
      const data = await c.readAll(fid, 4);
      files.set(path, data.length > MAX_FILE_BYTES ? data.subarray(data.length - MAX_FILE_BYTES) : data);
    }
  } catch (err) {
    if (err instanceof NineError) refused[path] = errnoName(err.errno);
    else throw err;
  } finally {
    await c.clunk(fid).catch(() => {});
  }
}

async function readHive(
  o: BundleOptions,
): Promise<{ files: Map<string, Uint8Array>; refused: Record<string, string> }> {
  let c: NineClient;
  try {
    c = await NineClient.dial(o.host, o.ninepPort);
  } catch (err) {
    throw new BundleError(
      `Cannot reach the hive's 9P service at ${o.host}:${o.ninepPort} (${
        (err as Error).message
      }); check --hive, or start one with 'cohesix dev'`,
    );
  }
  try {
    const root = c.newFid();
    try {
      await c.attach(root, o.role, o.ticket);
    } catch (err) {
      if (err instanceof NineError) {
        throw new BundleError(
          `The hive refused to attach as ${o.role} (${
            errnoName(err.errno)
          }); pass --role with a ticket (--ticket) it accepts`,
        );
      }
      throw err;
    }
    const files = new Map<string, Uint8Array>();
    const refused: Record<string, string> = {};
    for (const src of HIVE_SOURCES) await readTree(c, root, src, files, refused);
    return { files, refused };
  } finally {
    c.close();
  }
}

/** A deterministic ustar archive of `dir`'s tree, by GNU tar (sorted names, mtime 0, owner 0). */
async function tarOf(staging: string): Promise<Uint8Array> {
  const out = await new Deno.Command("tar", {
    args: [
      "--sort=name",
      "--mtime=@0",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mode=u=rwX,go=rX",
      "--format=ustar",
      "-C",
      staging,
      "-cf",
      "-",
      BUNDLE_DIR,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { TZ: "UTC" },
  }).output();
  if (!out.success) {
    throw new BundleError(`Cannot write the archive: tar said ${dec.decode(out.stderr).trim()}`);
  }
  return out.stdout;
}

export async function writeBundle(o: BundleOptions): Promise<BundleResult> {
  o.progress(`[1/4] hive      reading ${HIVE_SOURCES.join(", ")} from ${o.host}:${o.ninepPort} as ${o.role}`);
  const { files: hive, refused } = await readHive(o);
  const entries = new Map<string, Uint8Array>();
  for (const [path, data] of hive) entries.set(`hive${path}`, data);

  o.progress(`[2/4] local     manifest ${o.manifest}, ${o.traces.length} trace file(s), doctor`);
  const manifestText = await Deno.readTextFile(o.manifest).catch(() => {
    throw new BundleError(`Cannot read the manifest ${o.manifest}; pass --manifest FILE`);
  });
  entries.set(`manifest/${basename(o.manifest)}`, enc.encode(manifestText));
  const { loadManifest } = await import("../../codegen/load.ts");
  const bootText = dec.decode(hive.get("/proc/boot") ?? new Uint8Array());
  const hiveFingerprint = bootText.match(/(?:^|\n)manifest=([0-9a-f]{64})/)?.[1] ?? null;
  let manifestNote: Record<string, unknown>;
  try {
    const m = await loadManifest(o.manifest);
    entries.set("manifest/resolved.json", enc.encode(m.resolvedJson));
    manifestNote = {
      file: basename(o.manifest),
      fingerprint: m.fingerprint,
      hive_fingerprint: hiveFingerprint,
      matches_hive: m.fingerprint === hiveFingerprint,
    };
  } catch (err) {
    manifestNote = {
      file: basename(o.manifest),
      error: (err as Error).message.split("\n")[0],
      hive_fingerprint: hiveFingerprint,
    };
  }
  for (const t of o.traces) {
    const data = await Deno.readFile(t).catch(() => {
      throw new BundleError(`Cannot read the trace file ${t}; check --trace`);
    });
    entries.set(`traces/${basename(t)}`, data);
  }
  const checks = await runDoctor({
    ...DEFAULT_DOCTOR,
    host: o.host,
    ninepPort: o.ninepPort,
    consolePort: o.consolePort,
    manifest: o.manifest,
  });
  entries.set("doctor.json", enc.encode(JSON.stringify({ version: 1, checks }, null, 2) + "\n"));
  entries.set("doctor.txt", enc.encode(formatDoctor(checks) + "\n"));

  o.progress(`[3/4] redact    ${entries.size} files`);
  const listed: BundleFile[] = [];
  const staged = new Map<string, Uint8Array>();
  for (const path of [...entries.keys()].sort()) {
    const r = redact(dec.decode(entries.get(path)!));
    const bytes = enc.encode(r.text);
    staged.set(path, bytes);
    listed.push({ path, size: bytes.length, sha256: sha256Hex(bytes), redactions: r.count });
  }
  const doc = {
    version: 1,
    schema: "cohesix-bundle/1",
    builder: `cohesix ${COHESIX_VERSION}`,
    hive: `${o.host}:${o.ninepPort}`,
    role: o.role,
    manifest: manifestNote,
    refused,
    redactions: listed.reduce((n, f) => n + f.redactions, 0),
    files: listed,
  };
  staged.set("bundle.json", enc.encode(redact(JSON.stringify(doc, null, 2) + "\n").text));

  o.progress(`[4/4] archive   ${o.out}`);
  const staging = await Deno.makeTempDir({ prefix: "cohesix-bundle-" });
  try {
    for (const [path, bytes] of staged) {
      const file = join(staging, BUNDLE_DIR, path);
      await Deno.mkdir(join(file, ".."), { recursive: true });
      await Deno.writeFile(file, bytes);
    }
    const archive = gzipSync(await tarOf(staging), { level: 9 });
    const tmp = `${o.out}.partial`;
    await Deno.writeFile(tmp, archive);
    await Deno.rename(tmp, o.out);
    return { out: o.out, sha256: sha256Hex(archive), bytes: archive.length, files: listed, refused };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}
