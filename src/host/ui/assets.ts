/**
 * The page's files. The front end (ui/: TypeScript, CSS, index.html) and its npm dependencies
 * (@xterm/xterm) are bundled by esbuild into out/ui/ — a build artifact, never committed — and the
 * server holds those files in memory and serves them itself (no CDN, no other origin).
 *
 * From a checkout, `ensureBundle()` rebuilds out/ui/ when a source changed (the key is a sha256 of
 * ui/, the shared view modules and package-lock.json). `deno task compile` builds it first and
 * embeds out/ui/ in the binary (`--include`); the binary has no ui/ sources, so it serves what it
 * carries.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "../../../images/attest.ts";

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

/** Bundles ui/ into `outDir` (app.js, app.css, index.html, bundle.json). */
export async function buildBundle(
  outDir = BUNDLE_DIR,
  log: (line: string) => void = () => {},
): Promise<BundleManifest> {
  const key = await sourceKey();
  log(`ui: bundling the front end with esbuild into ${outDir}`);
  const esbuild = await import("esbuild");
  const staging = `${outDir}.tmp-${Deno.pid}`;
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  try {
    await esbuild.build(esbuildOptions({ app: join(UI_SOURCES, "src", "main.ts") }, staging));
  } finally {
    await esbuild.stop();
  }
  await Deno.copyFile(join(UI_SOURCES, "index.html"), join(staging, "index.html"));
  const files: BundleManifest["files"] = {};
  for (const name of ["index.html", "app.js", "app.css"]) {
    const data = await Deno.readFile(join(staging, name));
    files[name] = { bytes: data.length, sha256: sha256Hex(data) };
  }
  const manifest = { key, files };
  await Deno.writeTextFile(join(staging, "bundle.json"), JSON.stringify(manifest, null, 2) + "\n");
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  try {
    await Deno.rename(staging, outDir);
  } catch (e) {
    // Another process (a parallel test) put its bundle there first: keep it if it is the same build.
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    const theirs = JSON.parse(await Deno.readTextFile(join(outDir, "bundle.json")).catch(() => "{}"));
    if (theirs.key !== key) throw e;
  }
  return manifest;
}

/**
 * The bundle to serve: rebuilt when the sources (present in a checkout) changed, else the one in
 * out/ui/ (the one `deno compile` embedded). Throws with the fix when there is none.
 */
export async function ensureBundle(log: (line: string) => void = () => {}): Promise<BundleManifest> {
  const manifestPath = join(BUNDLE_DIR, "bundle.json");
  let manifest: BundleManifest | null = null;
  try {
    manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  } catch { /* none yet */ }
  if (await exists(join(UI_SOURCES, "src", "main.ts"))) {
    if (manifest === null || manifest.key !== await sourceKey()) {
      manifest = await buildBundle(BUNDLE_DIR, log);
    }
  }
  if (manifest === null) {
    throw new Error(
      `no UI bundle at ${BUNDLE_DIR} and no ui/ sources to build one; rebuild the binary with 'deno task compile'`,
    );
  }
  return manifest;
}

/** Loads the bundle's files into memory, checking each against bundle.json. */
export async function loadAssets(manifest: BundleManifest, dir = BUNDLE_DIR): Promise<Map<string, Asset>> {
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
