/**
 * What `cohesix image` uses when a flag is not given: the seL4 export (--sel4-build, else
 * $COHESIX_SEL4, else the Cohesix export built from the checkout's ../shared/sel4 sources — the
 * SDK's kernel with EL0 access to the generic timer, src/host/sel4/kernel_export.ts — else
 * ../shared/sel4/prebuilt when present) and the manifest (configs/root_task.toml of the checkout),
 * so `cohesix image` with no flags does the whole job.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../cli/command.ts";
import { canBuildSel4Export, SHARED_SEL4, sel4ExportDir } from "../sel4/kernel_export.ts";

/** Repository root (this file is src/host/image/defaults.ts). */
const REPO = fileURLToPath(new URL("../../../", import.meta.url));

export const SHARED_SEL4_PREBUILT = resolve(REPO, "..", "shared", "sel4", "prebuilt");
export const DEFAULT_MANIFEST = join(REPO, "configs", "root_task.toml");

export interface Sel4Choice {
  dir: string;
  /** Which source named it, for the progress line. */
  from: "--sel4-build" | "$COHESIX_SEL4" | "cohesix kernel from ../shared/sel4" | "../shared/sel4/prebuilt";
  /** The Cohesix export, built on first use (cohesixSel4Export). */
  build?: boolean;
}

/** Picks the seL4 export; throws a UsageError naming all three sources when none gives one. */
export function chooseSel4Export(
  flag: string | undefined,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  prebuilt = SHARED_SEL4_PREBUILT,
  sources = SHARED_SEL4,
): Sel4Choice {
  if (flag) return { dir: flag, from: "--sel4-build" };
  const fromEnv = env("COHESIX_SEL4");
  if (fromEnv) return { dir: fromEnv, from: "$COHESIX_SEL4" };
  if (canBuildSel4Export(sources)) {
    return { dir: sel4ExportDir(sources), from: "cohesix kernel from ../shared/sel4", build: true };
  }
  if (isDir(prebuilt)) {
    return { dir: prebuilt, from: "../shared/sel4/prebuilt" };
  }
  throw new UsageError(
    `image: no seL4 build export: pass --sel4-build DIR, set $COHESIX_SEL4, or provide the SDK sources ${sources} or ${prebuilt}`,
    "an export is the output of ../shared/sel4/build-sdk.sh OUTDIR",
  );
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
