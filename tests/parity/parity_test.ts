/**
 * Parity: every corpus in tests/parity/corpus runs under Deno and under Porffor's own engine
 * (`porf`), and the two transcripts must be byte-identical. The native runs (qemu-aarch64 and
 * seL4 under qemu-system-aarch64) are in tests/native/.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { bundleReplay } from "../../src/host/guest_build/bundle.ts";
import { runUnderDeno, runUnderPorf } from "../../src/host/guest_build/run.ts";
import { extractTranscript, renderTranscript } from "../../src/host/guest_build/transcript.ts";
import { join } from "node:path";

const CORPUS_DIR = join(import.meta.dirname!, "corpus");

function corpusFiles(): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(CORPUS_DIR)) if (e.isFile && e.name.endsWith(".replay")) names.push(e.name);
  return names.sort();
}

for (const name of corpusFiles()) {
  Deno.test(`replayMain ${name} gives byte-identical transcripts under Deno and porf`, async () => {
    const js = await bundleReplay(join(CORPUS_DIR, name));
    const [deno, porf] = await Promise.all([runUnderDeno(js), runUnderPorf(js)]);
    const a = extractTranscript(deno);
    const b = extractTranscript(porf);
    assert(a !== null, `Deno run printed no complete transcript:\n${deno.slice(-400)}`);
    assert(b !== null, `porf run printed no complete transcript:\n${porf.slice(-400)}`);
    assert(!a.includes("@bad-corpus"), "the corpus did not decode");
    // Compare the rendered text first: a mismatch then shows as a readable diff.
    assertEquals(renderTranscript(b), renderTranscript(a));
    assertEquals(b, a);
  });
}

Deno.test("replayMain probe corpus answers every line and digests the bulk part", async () => {
  const js = await bundleReplay(join(CORPUS_DIR, "00-probe.replay"));
  const text = renderTranscript(extractTranscript(await runUnderDeno(js))!);
  // The probe's answers are computed by the byte helpers: 2v+1 for numbers, UTF-8 round trips.
  assert(text.includes("  | kw n=1 n=15 n=8589934591 s=9007199254740991 len=37"), text);
  assert(text.includes("  | s=split s=across s=inputs len=19"), "input split across two ops is one line");
  assert(text.includes("  | ERR too long"), "an over-long line is refused");
  assert(text.includes("@repeat\n  | 10000\n"), "the bulk op ran");
  assert(text.includes("@digest\n  | 210000\n"), "10,000 answers of 21 bytes went to the digest");
  assert(text.includes("@closed 0"), "quit closes the connection");
});
