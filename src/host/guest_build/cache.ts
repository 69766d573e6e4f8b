/**
 * `cachedBuildGuest`: one native guest build per set of inputs, shared across processes.
 *
 * A guest build takes one to three minutes; the native tests, `cohesix image` (stage 1) and the
 * default-image test all need the same ELFs. The build lands in `ROOT/<key>/` where key is the
 * sha256 of everything that decides its bytes: the bundled entry script (all guest TypeScript it
 * reaches), build.ts (flags and stages), libsodium.ts (the verifier's file list and tarball hashes), every file under src/guest/native, the Porffor and wabt
 * packages (including the patched codegen.js), the gcc version, picolibc's libc.a and SIMDe (size and
 * mtime), lwip.ts (lwIP's pinned sha256 and file list), the arena size and the seL4 SDK path.
 * A process that finds `ROOT/<key>.lock` held by a live process waits for it instead of building
 * the same thing again; a lock whose owner died is taken over. Finished builds are renamed into
 * place whole, so a reader never sees half a build. The newest KEEP entries are kept.
 *
 * ROOT is `$COHESIX_GUEST_CACHE`, else `out/guest-cache` in the repository.
 */
import { join, resolve } from "node:path";
import {
  buildGuest,
  DEFAULT_ARENA_BYTES,
  DEFAULT_SEL4_SDK,
  type GuestBuildResult,
  NATIVE_DIR,
  PICOLIBC,
  SIMDE,
  type StageEvent,
} from "./build.ts";
import { bundleEntry } from "./bundle.ts";
import { REPO_ROOT, runTool, StageError, TOOLS } from "./tools.ts";

const KEEP = 6;
const RESULT = "result.json";

export function guestCacheDir(): string {
  return resolve(Deno.env.get("COHESIX_GUEST_CACHE") || join(REPO_ROOT, "out", "guest-cache"));
}

export interface CachedBuildOptions {
  entrySource: string;
  arenaBytes?: number;
  sel4Sdk?: string;
  /** Cache root (default guestCacheDir()). */
  root?: string;
  onProgress?: (event: StageEvent) => void;
}

export interface CachedBuild extends GuestBuildResult {
  /** The cache entry directory (holds guest.js, guest.wasm, both ELFs). */
  dir: string;
  /** True when this call found the build done (by an earlier run or another process). */
  hit: boolean;
  elf: string;
  linuxElf: string;
}

async function sha256(parts: (string | Uint8Array)[]): Promise<string> {
  const enc = new TextEncoder();
  const chunks = parts.flatMap((p) => [typeof p === "string" ? enc.encode(p) : p, new Uint8Array([0])]);
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...filesUnder(p));
    else if (e.isFile) out.push(p);
  }
  return out.sort();
}

/** The cache key of a build: see the module comment for what goes in. */
export async function guestBuildKey(opts: CachedBuildOptions): Promise<string> {
  const parts: (string | Uint8Array)[] = [
    "cohesix-guest-build-v1",
    await bundleEntry(opts.entrySource),
    String(opts.arenaBytes ?? DEFAULT_ARENA_BYTES),
    resolve(opts.sel4Sdk ?? DEFAULT_SEL4_SDK),
    await Deno.readFile(join(REPO_ROOT, "src", "host", "guest_build", "build.ts")),
    await Deno.readFile(join(REPO_ROOT, "src", "host", "guest_build", "tools.ts")),
    // The libsodium file list, defines and tarball hashes (the tarballs are checked against them).
    await Deno.readFile(join(REPO_ROOT, "src", "host", "guest_build", "libsodium.ts")),
    // lwIP: the pinned tarball sha256 and the source list (build checks the tarball against it).
    await Deno.readFile(join(REPO_ROOT, "src", "host", "guest_build", "lwip.ts")),
  ];
  // System libraries and headers (Debian packages): identified by size and mtime.
  for (const f of [join(PICOLIBC, "lib", "libc.a"), join(SIMDE, "simde-common.h")]) {
    const st = await Deno.stat(f).catch(() => null);
    parts.push(f, st ? `${st.size} ${st.mtime?.getTime()}` : "missing");
  }
  for (const f of filesUnder(NATIVE_DIR)) parts.push(f.slice(NATIVE_DIR.length), await Deno.readFile(f));
  for (const f of ["porffor/package.json", "porffor/compiler/codegen.js", "wabt/package.json", "binaryen/package.json"]) {
    parts.push(f, await Deno.readFile(join(REPO_ROOT, "node_modules", f)).catch(() => new Uint8Array()));
  }
  parts.push(new TextDecoder().decode((await runTool("compile", TOOLS.cc, ["--version"])).stdout));
  return (await sha256(parts)).slice(0, 32);
}

function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes ROOT/<key>.lock (a directory holding the owner's pid); false when the entry appeared meanwhile. */
export async function acquireLock(lockDir: string, done: string): Promise<boolean> {
  for (;;) {
    if (await Deno.stat(done).then(() => true, () => false)) return false;
    try {
      await Deno.mkdir(lockDir);
      await Deno.writeTextFile(join(lockDir, "pid"), String(Deno.pid));
      return true;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const pid = Number(await Deno.readTextFile(join(lockDir, "pid")).catch(() => ""));
    const age = await Deno.stat(lockDir).then((s) => Date.now() - (s.mtime?.getTime() ?? 0), () => 0);
    // No pid after 10 s, or a dead owner: the lock is stale.
    if ((pid > 0 && !pidAlive(pid)) || (!(pid > 0) && age > 10_000)) {
      await Deno.remove(lockDir, { recursive: true }).catch(() => {});
      continue;
    }
    await sleep(500);
  }
}

async function prune(root: string, keep: string) {
  const entries: { path: string; mtime: number }[] = [];
  for await (const e of Deno.readDir(root)) {
    if (!e.isDirectory || e.name.includes(".")) continue;
    const path = join(root, e.name);
    const st = await Deno.stat(join(path, RESULT)).catch(() => null);
    if (st) entries.push({ path, mtime: st.mtime?.getTime() ?? 0 });
  }
  entries.sort((a, b) => b.mtime - a.mtime);
  for (const e of entries.slice(KEEP)) {
    if (e.path !== keep) await Deno.remove(e.path, { recursive: true }).catch(() => {});
  }
}

function load(dir: string, hit: boolean): CachedBuild {
  const r = JSON.parse(Deno.readTextFileSync(join(dir, RESULT))) as Pick<
    GuestBuildResult,
    "stageMs" | "sizes" | "arenaPtrField"
  >;
  return {
    stageMs: r.stageMs,
    sizes: r.sizes,
    arenaPtrField: r.arenaPtrField,
    js: join(dir, "guest.js"),
    wasm: join(dir, "guest.wasm"),
    elf: join(dir, "rootserver.elf"),
    linuxElf: join(dir, "guest-linux.elf"),
    dir,
    hit,
  };
}

/** Builds both ELFs of `entrySource` once per key (see the module comment); later calls reuse them. */
export async function cachedBuildGuest(opts: CachedBuildOptions): Promise<CachedBuild> {
  const root = resolve(opts.root ?? guestCacheDir());
  await Deno.mkdir(root, { recursive: true });
  const key = await guestBuildKey(opts);
  const dir = join(root, key);
  const done = join(dir, RESULT);
  const lockDir = `${dir}.lock`;
  if (await Deno.stat(done).then(() => true, () => false)) return load(dir, true);
  opts.onProgress?.({
    stage: "cache",
    state: "progress",
    detail: `building ${key} (waits for another build of it)`,
  });
  if (!(await acquireLock(lockDir, done))) return load(dir, true);
  const tmp = `${dir}.tmp-${Deno.pid}`;
  try {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    const r = await buildGuest({
      outDir: tmp,
      entrySource: opts.entrySource,
      platforms: ["linux", "sel4"],
      arenaBytes: opts.arenaBytes,
      sel4Sdk: opts.sel4Sdk,
      onProgress: opts.onProgress,
    });
    // Keep the outputs, drop the objects and C (tens of MB).
    for await (const e of Deno.readDir(tmp)) {
      if (!["guest.js", "guest.wasm", "rootserver.elf", "guest-linux.elf"].includes(e.name)) {
        await Deno.remove(join(tmp, e.name), { recursive: true });
      }
    }
    await Deno.writeTextFile(
      join(tmp, RESULT),
      JSON.stringify({ key, stageMs: r.stageMs, sizes: r.sizes, arenaPtrField: r.arenaPtrField }, null, 1) +
        "\n",
    );
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, dir);
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    if (err instanceof StageError) throw err;
    throw new StageError(
      "cache",
      `guest build into ${tmp} failed: ${err instanceof Error ? err.message : err}`,
    );
  } finally {
    await Deno.remove(lockDir, { recursive: true }).catch(() => {});
  }
  await prune(root, dir);
  return load(dir, false);
}
