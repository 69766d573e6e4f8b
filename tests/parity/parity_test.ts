/**
 * Parity: the corpus suite (every tests/parity/corpus/*.replay, in one bundle) runs under Deno and
 * under Porffor's own engine (`porf`); the transcripts must be byte-identical. The native runs
 * (qemu-aarch64 and seL4 under qemu-system-aarch64) are in tests/native/.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bundleReplay } from "../../src/host/guest_build/bundle.ts";
import { runUnderDeno, runUnderPorf } from "../../src/host/guest_build/run.ts";
import { extractTranscript, renderTranscript } from "../../src/host/guest_build/transcript.ts";
import { blocks, corpusFiles, firstDifference } from "./suite.ts";

const files = corpusFiles();
const js = bundleReplay(...files);
const denoRun = js.then(runUnderDeno);

Deno.test("replayMain corpus suite gives byte-identical transcripts under Deno and porf", async () => {
  const [deno, porf] = await Promise.all([denoRun, runUnderPorf(await js)]);
  const a = extractTranscript(deno);
  const b = extractTranscript(porf);
  assert(a !== null, `Deno run printed no complete transcript:\n${deno.slice(-400)}`);
  assert(b !== null, `porf run printed no complete transcript:\n${porf.slice(-400)}`);
  assertEquals(blocks(a).length, files.length, "one transcript block per corpus");
  assert(!a.includes("@bad-corpus"), "a corpus did not decode");
  assertEquals(firstDifference(files, a, b), "");
  assertEquals(deno.split("\n")[0], porf.split("\n")[0], "the boot banners match");
});

Deno.test("replayMain probe corpus answers every line and digests the bulk part", async () => {
  const text = renderTranscript(blocks(extractTranscript(await denoRun)!)[0]);
  // The probe's answers are computed by the byte helpers: 2v+1 for numbers, UTF-8 round trips.
  assertStringIncludes(text, "  | kw n=1 n=15 n=8589934591 s=9007199254740991 len=37");
  assertStringIncludes(text, "  | s=split s=across s=inputs len=19");
  assertStringIncludes(text, "  | ERR too long");
  assertStringIncludes(text, "@repeat\n  | 10000\n");
  assertStringIncludes(text, "@digest\n  | 200000\n");
  assertStringIncludes(text, "@closed 0");
});

Deno.test("replayMain hive corpora reach the console, 9P and worker paths they were written for", async () => {
  const all = blocks(extractTranscript(await denoRun)!).map(renderTranscript);
  const block = (name: string) => all[files.findIndex((f) => f.endsWith(name))];
  const [consoleBlock, ninep, bulk] = [block("10-console.replay"), block("20-ninep.replay"), block("30-bulk.replay")];
  assertStringIncludes(consoleBlock, "  | OK ATTACH role=queen");
  assertStringIncludes(consoleBlock, "  | OK SPAWN");
  assertStringIncludes(consoleBlock, "  | OK KILL id=worker-1");
  assertStringIncludes(consoleBlock, "error=EROFS");
  assertStringIncludes(consoleBlock, "ERR FRAME reason=invalid-length");
  assertStringIncludes(ninep, "9P2000.L");
  assertStringIncludes(ninep, "Cohesix boot: root-task online");
  assertStringIncludes(bulk, "@mark\n  | warm\n");
  assertStringIncludes(bulk, "@mark\n  | after\n");
  // The help text once lost "file" to four NULs under porf (Porffor's page-0 string bin spill).
  const help = block("15-help.replay");
  assertStringIncludes(help, "  |   cat <path>                 print a file\n");
  assertStringIncludes(help, "  | OK HELP");
  assert(!help.includes("\u0000"), "no NUL in the help text");
});

Deno.test("bundleReplay embeds the manifest fingerprint banner", async () => {
  const { MANIFEST_FINGERPRINT } = await import("../../src/guest/generated/bootstrap.ts");
  assertEquals((await denoRun).split("\n")[0], `cohesix: guest up, manifest ${MANIFEST_FINGERPRINT}`);
});
