/**
 * `deno task ui:bundle`: bundles ui/ into out/ui/<key>/ unless it is current (what `cohesix ui`
 * serves and `deno task compile` embeds) and prints the directory and the files with their sizes.
 * `cohesix ui` does the same on its own; this is the explicit build step.
 */
import { ensureBundle } from "./assets.ts";

if (import.meta.main) {
  const { manifest, dir } = await ensureBundle((l) => console.error(l));
  console.log(dir);
  for (const [name, f] of Object.entries(manifest.files)) {
    console.log(`${name.padEnd(10)} ${String(f.bytes).padStart(8)} B  ${f.sha256}`);
  }
}
