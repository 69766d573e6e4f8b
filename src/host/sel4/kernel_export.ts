/**
 * The Cohesix seL4 export: the SDK's own build (`../shared/sel4/build-sdk.sh`, from its source
 * tarballs) with the kernel options Cohesix needs appended to its settings.cmake
 * (images/sel4/kernel-settings.cmake: EL0 access to the generic timer's counter and physical timer,
 * which the root task's millisecond clock and tick interrupt use). The prebuilt export in
 * ../shared/sel4/prebuilt denies EL0 those registers: a root task reading CNTVCT_EL0 there faults.
 *
 * The build takes about 10-60 s and lands in `ROOT/<key>/` (ROOT: $COHESIX_SEL4_CACHE, else
 * out/sel4-export), key = sha256 of everything the SDK build reads (its script, cmake project,
 * source tarballs, patches, example) and of our settings. Concurrent processes wait on a lock
 * instead of building twice; a finished export is renamed into place whole.
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { acquireLock } from "../guest_build/cache.ts";
import { REPO_ROOT, runTool, StageError } from "../guest_build/tools.ts";

/** The SDK whose sources are built (read only). */
export const SHARED_SEL4 = resolve(REPO_ROOT, "..", "shared", "sel4");
export const KERNEL_SETTINGS = join(REPO_ROOT, "images", "sel4", "kernel-settings.cmake");
/** What build-sdk.sh reads from its own directory. */
const SDK_INPUTS = ["build-sdk.sh", "cmake", "src", "patches", "examples/hello-roottask"];

export function sel4ExportCacheDir(): string {
  return resolve(Deno.env.get("COHESIX_SEL4_CACHE") || join(REPO_ROOT, "out", "sel4-export"));
}

function filesUnder(path: string): string[] {
  const st = Deno.statSync(path);
  if (st.isFile) return [path];
  const out: string[] = [];
  for (const e of Deno.readDirSync(path)) out.push(...filesUnder(join(path, e.name)));
  return out.sort();
}

/** True when `sdk` holds the sources build-sdk.sh needs. */
export function canBuildSel4Export(sdk = SHARED_SEL4): boolean {
  try {
    return SDK_INPUTS.every((p) => Deno.statSync(join(sdk, p)) !== null);
  } catch {
    return false;
  }
}

/** The directory the Cohesix export of `sdk` lives in (built or not). */
export function sel4ExportDir(sdk = SHARED_SEL4, root = sel4ExportCacheDir()): string {
  const h = createHash("sha256");
  h.update("cohesix-sel4-export-v1\0");
  h.update(Deno.readFileSync(KERNEL_SETTINGS));
  for (const input of SDK_INPUTS) {
    for (const f of filesUnder(join(sdk, input))) {
      h.update(`\0${f.slice(sdk.length)}\0`);
      h.update(Deno.readFileSync(f));
    }
  }
  return join(root, h.digest("hex").slice(0, 32));
}

/**
 * Returns the Cohesix export of `sdk`, building it on first use. Throws StageError("sel4-export")
 * with build-sdk.sh's own output when the build fails (usually a missing Debian package: see
 * ../shared/sel4/deps.txt, installed by scripts/install-deps.sh).
 */
export async function cohesixSel4Export(
  opts: { sdk?: string; root?: string; progress?: (line: string) => void } = {},
): Promise<string> {
  const sdk = resolve(opts.sdk ?? SHARED_SEL4);
  if (!canBuildSel4Export(sdk)) {
    throw new StageError("sel4-export", `no seL4 SDK sources at ${sdk} (expected ${SDK_INPUTS.join(", ")})`);
  }
  const dir = sel4ExportDir(sdk, opts.root);
  const done = join(dir, "sdk.json");
  if (await exists(done)) return dir;
  await Deno.mkdir(resolve(dir, ".."), { recursive: true });
  opts.progress?.(`seL4 export: building the Cohesix kernel config from ${sdk} into ${dir}`);
  if (!(await acquireLock(`${dir}.lock`, done))) return dir;
  const work = await Deno.makeTempDir({ prefix: "cohesix-sel4-sdk-" });
  const tmpOut = `${dir}.tmp-${Deno.pid}`;
  try {
    for (const input of SDK_INPUTS) {
      await Deno.mkdir(join(work, input, ".."), { recursive: true });
      await runTool("sel4-export", "cp", ["-r", join(sdk, input), join(work, input)]);
    }
    await runTool("sel4-export", "chmod", ["-R", "u+w", work]);
    const settings = join(work, "cmake", "settings.cmake");
    await Deno.writeTextFile(settings, `\n${await Deno.readTextFile(KERNEL_SETTINGS)}`, { append: true });
    await Deno.remove(tmpOut, { recursive: true }).catch(() => {});
    const t0 = performance.now();
    await runTool("sel4-export", "bash", [join(work, "build-sdk.sh"), tmpOut], { timeoutMs: 900_000 });
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.rename(tmpOut, dir);
    opts.progress?.(`seL4 export: built in ${Math.round(performance.now() - t0)} ms`);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await Deno.remove(tmpOut, { recursive: true }).catch(() => {});
    await Deno.remove(`${dir}.lock`, { recursive: true }).catch(() => {});
  }
  return dir;
}

function exists(path: string): Promise<boolean> {
  return Deno.stat(path).then(() => true, () => false);
}
