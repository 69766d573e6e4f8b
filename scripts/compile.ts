/**
 * `deno task compile`: builds the single `cohesix` binary with `deno compile`.
 * deno compile downloads a `denort` runtime for the target; where that download is not reachable
 * (offline CI, air-gapped build hosts) this fails with a message that says so and what to do.
 */
import { BUNDLE_DIR, ensureBundle } from "../src/host/ui/assets.ts";

const out = new URL("../out/cohesix", import.meta.url).pathname;
const main = new URL("../src/main.ts", import.meta.url).pathname;
// The UI's front end is bundled first (unless out/ui/ is current) and embedded (--include): the
// binary serves it from itself.
await ensureBundle((l) => console.error(`compile: ${l}`));
console.error(`compile: deno compile -> ${out}`);
const result = await new Deno.Command(Deno.execPath(), {
  args: [
    "compile",
    "-A",
    "--quiet",
    "--include",
    new URL("../package.json", import.meta.url).pathname,
    "--include",
    BUNDLE_DIR,
    "--output",
    out,
    main,
  ],
  stdout: "inherit",
  stderr: "piped",
}).output();
const stderr = new TextDecoder().decode(result.stderr);
if (!result.success) {
  const offline = /denort|download|dl\.deno\.land|network|dns|connect/i.test(stderr);
  console.error(stderr.trim());
  console.error(
    offline
      ? "compile: Cannot build the binary: deno compile needs to download the denort runtime, which is not reachable from here. Run 'deno task compile' on a machine with access to dl.deno.land, or set DENORT_BIN to a local denort binary"
      : "compile: deno compile failed (see above)",
  );
  Deno.exit(1);
}
console.error(`compile: wrote ${out}`);
