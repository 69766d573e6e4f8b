/**
 * `deno task ui:bundle`: bundles ui/ into out/ui/ (what `cohesix ui` serves and `deno task compile`
 * embeds) and prints the files with their sizes. `cohesix ui` does the same on its own when the
 * sources changed; this is the explicit build step.
 */
import { buildBundle, BUNDLE_DIR } from "./assets.ts";

if (import.meta.main) {
  const manifest = await buildBundle(BUNDLE_DIR, (l) => console.error(l));
  for (const [name, f] of Object.entries(manifest.files)) {
    console.log(`${name.padEnd(10)} ${String(f.bytes).padStart(8)} B  ${f.sha256}`);
  }
}
