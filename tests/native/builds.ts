/**
 * The native guest builds the tests share: one build per set of inputs per machine, through the
 * guest build cache (src/host/guest_build/cache.ts, `$COHESIX_GUEST_CACHE` or out/guest-cache), so
 * test files running in parallel and `cohesix image` (stage 1, given the same cache) wait for one
 * build instead of each compiling the guest again.
 */
import { type CachedBuild, cachedBuildGuest, guestCacheDir } from "../../src/host/guest_build/cache.ts";
import { bootEntrySource, replayEntrySource } from "../../src/host/guest_build/bundle.ts";
import { runUnderDeno } from "../../src/host/guest_build/run.ts";
import { linkSel4Image } from "../../src/host/guest_build/native_run.ts";
import { cohesixSel4Export } from "../../src/host/sel4/kernel_export.ts";
import { corpusFiles } from "../parity/suite.ts";

export const GUEST_CACHE = guestCacheDir();

let sel4: Promise<string> | undefined;

/** The Cohesix seL4 export (kernel with the EL0 generic timer) the native guests compile and link against. */
export function sel4Export(): Promise<string> {
  sel4 ??= cohesixSel4Export();
  return sel4;
}

/** Links a native guest rootserver into a bootable image with the Cohesix export. */
export async function linkImage(rootserver: string, image: string): Promise<void> {
  await linkSel4Image(rootserver, image, await sel4Export());
}

let suite: Promise<{ r: CachedBuild; deno: string }> | undefined;
let boot: Promise<CachedBuild> | undefined;

/** The parity corpus suite (every tests/parity/corpus/*.replay), then the serial console; and its Deno run. */
export function suiteBuild(): Promise<{ r: CachedBuild; deno: string }> {
  suite ??= (async () => {
    const corpora = corpusFiles().map((f) => ({ name: f, text: Deno.readTextFileSync(f) }));
    const r = await cachedBuildGuest({
      entrySource: replayEntrySource(corpora, { pump: true }),
      sel4Sdk: await sel4Export(),
      root: GUEST_CACHE,
    });
    const deno = await runUnderDeno(await Deno.readTextFile(r.js));
    return { r, deno };
  })();
  return suite;
}

/** The default guest: what `cohesix image` without --rootserver puts into the image. */
export function bootBuild(): Promise<CachedBuild> {
  boot ??= sel4Export().then((sel4Sdk) => cachedBuildGuest({ entrySource: bootEntrySource(), sel4Sdk, root: GUEST_CACHE }));
  return boot;
}

/** A guest build of `entry()` through the shared cache, started on first use and shared after. */
export function lazyGuestBuild(entry: () => string): () => Promise<CachedBuild> {
  let build: Promise<CachedBuild> | undefined;
  return async () => (build ??= cachedBuildGuest({ entrySource: entry(), sel4Sdk: await sel4Export(), root: GUEST_CACHE }));
}

/** The lines a vector run printed between "vectors begin" and "vectors end" (it must have both). */
export function vectorLines(out: string): string {
  const begin = out.indexOf("vectors begin\n");
  const end = out.indexOf("vectors end\n");
  if (begin < 0 || end < begin) throw new Error(`no complete vector run in:\n${out.slice(-800)}`);
  return out.slice(begin + "vectors begin\n".length, end);
}
