/**
 * Stage "bundle": esbuild turns a guest entry (TypeScript, given as source text that imports
 * from src/guest) into one flat ES2022 script with types stripped. Flat ESM output (no IIFE
 * wrapper) keeps module constants at the top level, where Porffor allows inner functions to see them.
 */
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

/** The entry source of a replay build: the compiled corpus embedded as a hex literal. */
export function replayEntrySource(corpusText: string, corpusName: string): string {
  const hex = toHex(compileCorpus(corpusText, corpusName));
  return `import { replayMain } from "./src/guest/replay/main.ts";\nreplayMain(${JSON.stringify(hex)});\n`;
}

/** Reads a corpus file and bundles the replay entry for it. */
export async function bundleReplay(corpusFile: string): Promise<string> {
  const text = await Deno.readTextFile(corpusFile);
  return await bundleEntry(replayEntrySource(text, corpusFile));
}
