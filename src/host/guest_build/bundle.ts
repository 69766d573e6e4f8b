/**
 * Stage "bundle": esbuild turns a guest entry (TypeScript, given as source text that imports
 * from src/guest) into one flat ES2022 script with types stripped. Flat ESM output (no IIFE
 * wrapper) keeps module constants at the top level, where Porffor allows inner functions to see them.
 */
import { join } from "node:path";
import { REPO_ROOT, runTool, StageError, TOOLS } from "./tools.ts";
import { compileCorpus, toHex } from "./corpus.ts";

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
  if (/^\s*export\s/m.test(js)) throw new StageError("bundle", "the entry must not export anything (Porffor runs a plain script)");
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
export function replayEntrySource(corpora: CorpusSource[]): string {
  const calls = corpora.map((c) => `replayMain(${JSON.stringify(toHex(compileCorpus(c.text, c.name)))});`);
  return `import { printBanner, replayMain } from "./src/guest/replay/main.ts";\nprintBanner();\n${calls.join("\n")}\n`;
}

/** Reads corpus files and bundles one replay entry that runs them in order. */
export async function bundleReplay(...corpusFiles: string[]): Promise<string> {
  const corpora: CorpusSource[] = [];
  for (const f of corpusFiles) corpora.push({ name: f, text: await Deno.readTextFile(f) });
  return await bundleEntry(replayEntrySource(corpora));
}

/** The boot self-check the default guest runs: the manifest's generated cohsh script. */
export const BOOT_SCRIPT = join(REPO_ROOT, "configs", "generated", "boot_v0.coh");

/**
 * Turns a cohsh script into a replay corpus for the serial console: each command line becomes
 * console input; comments and EXPECT lines (checked host-side by cohsh) are left out.
 */
export function cohScriptCorpus(script: string): string {
  const lines = ["target hive", "open s1 console serial"];
  for (const raw of script.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || /^EXPECT\b/.test(line)) continue;
    lines.push(`in s1 ${JSON.stringify(line + "\n")}`);
  }
  lines.push("close s1");
  return lines.join("\n") + "\n";
}

/** The default guest entry: banner, then the boot self-check through the serial console. */
export function bootEntrySource(script = Deno.readTextFileSync(BOOT_SCRIPT)): string {
  return replayEntrySource([{ name: BOOT_SCRIPT, text: cohScriptCorpus(script) }]);
}
