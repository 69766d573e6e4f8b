/** The parity corpus files, and helpers shared by the parity and native tests. */
import { join } from "node:path";
import { BEGIN, END, renderTranscript } from "../../src/host/guest_build/transcript.ts";

export const CORPUS_DIR = join(import.meta.dirname!, "corpus");

/** Every tests/parity/corpus/*.replay, sorted (the order they run in one suite bundle). */
export function corpusFiles(): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(CORPUS_DIR)) if (e.isFile && e.name.endsWith(".replay")) names.push(e.name);
  return names.sort().map((n) => join(CORPUS_DIR, n));
}

/** Splits a suite transcript into its per-corpus blocks (BEGIN..END each). */
export function blocks(transcript: string): string[] {
  const out: string[] = [];
  let at = transcript.indexOf(BEGIN);
  while (at >= 0) {
    const end = transcript.indexOf(END + "\n", at);
    if (end < 0) break;
    out.push(transcript.slice(at, end + END.length + 1));
    at = transcript.indexOf(BEGIN, end);
  }
  return out;
}

/**
 * Describes where two suite transcripts first differ: which corpus, and the rendered lines around
 * the first differing line. Returns "" when they are byte-identical.
 */
export function firstDifference(files: string[], expected: string, actual: string): string {
  if (expected === actual) return "";
  const a = blocks(expected);
  const b = blocks(actual);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    const ra = renderTranscript(a[i] ?? "").split("\n");
    const rb = renderTranscript(b[i] ?? "").split("\n");
    let k = 0;
    while (k < ra.length && ra[k] === rb[k]) k++;
    const ctx = (r: string[]) => r.slice(Math.max(0, k - 3), k + 3).join("\n");
    return `corpus ${files[i] ?? `#${i}`} differs at rendered line ${k + 1}\n--- expected\n${ctx(ra)}\n--- actual\n${ctx(rb)}`;
  }
  return "the transcripts differ outside the corpus blocks";
}
