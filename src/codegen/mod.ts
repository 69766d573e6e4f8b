/**
 * `coh-rtc`, the manifest compiler: the public surface other parts import.
 * - `loadManifest(path)` → `ResolvedManifest` (typed IR with defaults, `budget`, `fingerprint`, `resolvedJson`);
 *   throws `ManifestError` (`.diagnostics`: file, line, key, message) when the manifest is refused.
 * - `compileManifestText(text, file)`: the same from text.
 * - `bootConfigFromManifest(path)` → the guest `BootConfig` (for `cohesix dev --manifest`).
 * - `planRepo` / `writeArtifacts` / `checkRepo`: regenerate the committed outputs or report drift.
 */
export { compileManifestText, loadManifest, RESOLVED_FORMAT, type ResolvedManifest } from "./load.ts";
export { type Diagnostic, formatDiagnostic, ManifestError } from "./errors.ts";
export { type Budget, computeBudget } from "./budget.ts";
export { type ManifestIR, LIMITS, ROLES, SCHEMA_VERSION, SERVICES } from "./schema.ts";
export { PRIMARY_MANIFEST } from "./artifacts.ts";
export { checkRepo, type Drift, planFlat, planRepo, writeArtifacts } from "./build.ts";
export { SpliceError } from "./splice.ts";
export { bootConfigValue } from "./emit/bootstrap.ts";
export { keyId } from "./redlines.ts";

import type { BootConfig } from "../guest/boot.ts";
import { bootConfigValue } from "./emit/bootstrap.ts";
import { loadManifest } from "./load.ts";

/** Loads a manifest and returns the guest's `BootConfig` for it (what `bootstrap.ts` holds for root_task). */
export async function bootConfigFromManifest(path: string): Promise<BootConfig> {
  return bootConfigValue(await loadManifest(path));
}
