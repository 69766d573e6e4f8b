/**
 * The page's files. The front end (ui/: TypeScript, CSS, index.html) and its npm dependencies
 * (@xterm/xterm) are bundled by esbuild into out/ui/<key>/ — a build artifact, never committed —
 * and the server holds those files in memory and serves them itself (no CDN, no other origin).
 *
 * From a checkout, `ensureBundle()` builds out/ui/<key>/ when there is none for the current sources
 * (the key is a sha256 of ui/, the shared view modules and package-lock.json). `deno task compile`
 * builds it first and embeds out/ui/ in the binary (`--include`); the binary has no ui/ sources, so
 * it serves the bundle out/ui/current names.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "../../../images/attest.ts";
import { acquireLock } from "../guest_build/cache.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const UI_SOURCES = join(ROOT, "ui");
export const BUNDLE_DIR = join(ROOT, "out", "ui");
/** Sources outside ui/ that the page imports (the shared view model and snapshot format). */
const SHARED = ["src/host/ui/state.ts", "src/host/ui/snapshot.ts", "package-lock.json"];

export interface Asset {
  body: Uint8Array;
  type: string;
  etag: string;
}

export interface BundleManifest {
  key: string;
  files: Record<string, { bytes: number; sha256: string }>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function* filesUnder(dir: string): AsyncGenerator<string> {
  const entries = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* filesUnder(p);
    else yield p;
  }
}

/** The sha256 of every input of the bundle (paths and bytes), so any change rebuilds it. */
export async function sourceKey(): Promise<string> {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const add = async (p: string) => {
    parts.push(enc.encode(p.slice(ROOT.length) + "\0"), await Deno.readFile(p));
  };
  for await (const p of filesUnder(UI_SOURCES)) await add(p);
  for (const p of SHARED) await add(join(ROOT, p));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return sha256Hex(all);
}

/** esbuild options for an entry of the page; bench/ui reuses them for its own page. */
export function esbuildOptions(entries: Record<string, string>, outdir: string) {
  return {
    entryPoints: entries,
    outdir,
    bundle: true,
    minify: true,
    format: "esm" as const,
    target: "es2022",
    platform: "browser" as const,
    charset: "utf8" as const,
    legalComments: "none" as const,
    metafile: true,
    logLevel: "warning" as const,
    absWorkingDir: ROOT,
  };
}

/** Bundles ui/ into `outDir`, which must not exist yet (app.js, app.css, index.html, bundle.json). */
export async function buildBundle(
  outDir: string,
  log: (line: string) => void = () => {},
): Promise<BundleManifest> {
  const key = await sourceKey();
  log(`ui: bundling the front end with esbuild into ${outDir}`);
  // A computed specifier keeps esbuild (and its native binary) out of `deno compile`'s module graph:
  // the compiled binary carries the finished bundle and never builds one.
  const esbuildModule = "esbuild";
  const esbuild: typeof import("esbuild") = await import(esbuildModule);
  try {
    await esbuild.build(esbuildOptions({ app: join(UI_SOURCES, "src", "main.ts") }, outDir));
  } finally {
    await esbuild.stop();
  }
  await Deno.copyFile(join(UI_SOURCES, "index.html"), join(outDir, "index.html"));
  const files: BundleManifest["files"] = {};
  for (const name of ["index.html", "app.js", "app.css"]) {
    const data = await Deno.readFile(join(outDir, name));
    files[name] = { bytes: data.length, sha256: sha256Hex(data) };
  }
  const manifest = { key, files };
  await Deno.writeTextFile(join(outDir, "bundle.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

/** Bundles kept in out/ui/ (older ones are removed after a new build). */
const KEEP = 3;

/**
 * The bundle to serve and its directory. From a checkout: out/ui/<key>/, built once per source key
 * (processes wanting the same key wait on a lock instead of building twice, and a finished
 * directory is never rewritten, so a parallel reader cannot see it change). In a compiled binary
 * (no ui/ sources): the one out/ui/current names, embedded by `deno task compile`.
 */
export async function ensureBundle(
  log: (line: string) => void = () => {},
): Promise<{ manifest: BundleManifest; dir: string }> {
  const current = join(BUNDLE_DIR, "current");
  let key: string;
  if (await exists(join(UI_SOURCES, "src", "main.ts"))) {
    key = await sourceKey();
    const dir = join(BUNDLE_DIR, key);
    const done = join(dir, "bundle.json");
    await Deno.mkdir(BUNDLE_DIR, { recursive: true });
    const lock = `${dir}.lock`;
    if (await acquireLock(lock, done)) {
      try {
        const staging = `${dir}.tmp-${Deno.pid}`;
        await Deno.remove(staging, { recursive: true }).catch(() => {});
        await buildBundle(staging, log);
        await Deno.rename(staging, dir);
        await Deno.writeTextFile(`${current}.tmp-${Deno.pid}`, key + "\n");
        await Deno.rename(`${current}.tmp-${Deno.pid}`, current);
        await prune(key);
      } finally {
        await Deno.remove(lock, { recursive: true }).catch(() => {});
      }
    }
  } else {
    key = (await Deno.readTextFile(current).catch(() => "")).trim();
  }
  const dir = join(BUNDLE_DIR, key);
  try {
    return { manifest: JSON.parse(await Deno.readTextFile(join(dir, "bundle.json"))), dir };
  } catch {
    throw new Error(
      `no UI bundle in ${BUNDLE_DIR} and no ui/ sources to build one; rebuild the binary with 'deno task compile'`,
    );
  }
}

/** Removes all but the newest KEEP bundles (never `keep`). */
async function prune(keep: string): Promise<void> {
  const found: { name: string; mtime: number }[] = [];
  for await (const e of Deno.readDir(BUNDLE_DIR)) {
    if (!e.isDirectory || e.name.includes(".")) continue;
    const st = await Deno.stat(join(BUNDLE_DIR, e.name, "bundle.json")).catch(() => null);
    if (st) found.push({ name: e.name, mtime: st.mtime?.getTime() ?? 0 });
  }
  found.sort((a, b) => b.mtime - a.mtime);
  for (const e of found.slice(KEEP)) {
    if (e.name !== keep) await Deno.remove(join(BUNDLE_DIR, e.name), { recursive: true }).catch(() => {});
  }
}

/** Loads the bundle's files into memory, checking each against bundle.json. */
export async function loadAssets(manifest: BundleManifest, dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const [name, want] of Object.entries(manifest.files)) {
    const body = await Deno.readFile(join(dir, name));
    const sha = sha256Hex(body);
    if (sha !== want.sha256) {
      throw new Error(`UI bundle file ${name} does not match bundle.json; delete ${dir} to rebuild it`);
    }
    const ext = name.slice(name.lastIndexOf("."));
    assets.set(`/${name}`, {
      body,
      type: TYPES[ext] ?? "application/octet-stream",
      etag: `"${sha.slice(0, 32)}"`,
    });
  }
  return assets;
}
