/**
 * Stage "bundle": esbuild turns a guest entry (TypeScript, given as source text that imports
 * from src/guest) into one flat ES2022 script with types stripped. Flat ESM output (no IIFE
 * wrapper) keeps module constants at the top level, where Porffor allows inner functions to see them.
 */
import { REPO_ROOT, runTool, StageError, TOOLS } from "./tools.ts";
import { compileCorpus, toHex } from "./corpus.ts";
import type { BootConfig } from "../../guest/boot.ts";
import { extensionImports, extensionSource } from "../../codegen/emit/bootstrap.ts";

/** Bundles `entrySource` (resolved from the repository root) and returns the script text. */
export async function bundleEntry(entrySource: string): Promise<string> {
  const r = await runTool("bundle", TOOLS.esbuild, [
    "--bundle",
    "--format=esm",
    "--platform=neutral",
    "--target=es2022",
    "--loader=ts",
    "--sourcefile=guest-entry.ts",
    "--charset=utf8",
    "--legal-comments=none",
    "--log-level=warning",
  ], { cwd: REPO_ROOT, stdin: new TextEncoder().encode(entrySource) });
  const js = new TextDecoder().decode(r.stdout);
  if (/^\s*export\s/m.test(js)) {
    throw new StageError("bundle", "the entry must not export anything (Porffor runs a plain script)");
  }
  return js;
}

export interface CorpusSource {
  /** Names the corpus in errors (usually its file path). */
  name: string;
  text: string;
}

/**
 * The entry source of a replay build: the boot banner, then each compiled corpus (embedded as a
 * hex literal) replayed in order, each between its own begin/end lines.
 */
export function replayEntrySource(corpora: CorpusSource[], opts: { pump?: boolean } = {}): string {
  const calls = corpora.map((c) => `replayMain(${JSON.stringify(toHex(compileCorpus(c.text, c.name)))});`);
  // With `pump`, the serial console of a fresh hive follows the replays natively (so a session sees
  // what it would see on a hosted hive); it returns at once under Deno and porf.
  const pump = opts.pump ? `import { pumpMain } from "./src/guest/native/pump.ts";\n` : "";
  const tail = opts.pump ? "pumpMain(newHive());\n" : "";
  return `import { newHive, printBanner, replayMain } from "./src/guest/replay/main.ts";\n${pump}printBanner();\n${
    calls.join("\n")
  }\n${tail}`;
}

/** Reads corpus files and bundles one replay entry that runs them in order. */
export async function bundleReplay(...corpusFiles: string[]): Promise<string> {
  const corpora: CorpusSource[] = [];
  for (const f of corpusFiles) corpora.push({ name: f, text: await Deno.readTextFile(f) });
  return await bundleEntry(replayEntrySource(corpora));
}

/**
 * The default guest entry (the rootserver): the banner, then the hive's serial console driven by
 * the native event pump (src/guest/native/pump.ts) until the input ends.
 */
export function bootEntrySource(): string {
  return `import { newHive, printBanner } from "./src/guest/replay/main.ts";
import { pumpMain } from "./src/guest/native/pump.ts";
printBanner();
pumpMain(newHive());
`;
}

/**
 * The boot entry for another manifest's tables (`bootConfigValue` of a compiled manifest, e.g. a
 * 250 ms tick_ms): the same banner format and serial console, the hive booted from `boot`.
 */
export function manifestEntrySource(boot: BootConfig): string {
  // Like the generated bootstrap: the [ecosystem] providers (or [cas] alone) are linked only when enabled.
  return [
    `import { Hive } from "./src/guest/hive.ts";`,
    `import { pumpMain } from "./src/guest/native/pump.ts";`,
    `import { PlatformTicketVerifier } from "./src/guest/tickets/platform_verifier.ts";`,
    ...extensionImports(boot, "./src/guest/ninedoor/", "./src/guest/updates/"),
    `const BOOT = ${JSON.stringify(boot)};`,
    `console.log("cohesix: guest up, manifest", BOOT.manifestFingerprint);`,
    `const extension = ${extensionSource(boot, "BOOT")};`,
    `pumpMain(new Hive(BOOT, { verifier: new PlatformTicketVerifier(BOOT.ticketKeys), extension }));`,
    "",
  ].join("\n");
}
