/**
 * Parity runs 3 and 4: the corpus suite compiled by `buildGuest` runs as a Linux user-mode ELF
 * under qemu-aarch64 and as the seL4 root task under qemu-system-aarch64; both transcripts must be
 * byte-identical to the Deno run of the same bundle (run 2, porf, is tests/parity/parity_test.ts).
 * The native runtime samples the Wasm arena at each corpus `mark`: warm-up and after the bulk
 * commands must match. One build serves every test in this file.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { buildGuest, type GuestBuildResult } from "../../src/host/guest_build/build.ts";
import { replayEntrySource } from "../../src/host/guest_build/bundle.ts";
import { runUnderDeno } from "../../src/host/guest_build/run.ts";
import { arenaMarks, bootSel4, linkSel4Image, runUnderQemuUser } from "../../src/host/guest_build/native_run.ts";
import { extractTranscript } from "../../src/host/guest_build/transcript.ts";
import { corpusFiles, firstDifference } from "../parity/suite.ts";
import { MANIFEST_FINGERPRINT } from "../../src/guest/generated/bootstrap.ts";
import { join } from "node:path";

const files = corpusFiles();
const work = Deno.makeTempDirSync({ prefix: "cohesix-native-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
let build: Promise<{ r: GuestBuildResult; deno: string }> | undefined;

function built() {
  build ??= (async () => {
    const corpora = files.map((f) => ({ name: f, text: Deno.readTextFileSync(f) }));
    const r = await buildGuest({ outDir: work, entrySource: replayEntrySource(corpora) });
    const deno = await runUnderDeno(await Deno.readTextFile(r.js));
    return { r, deno };
  })();
  return build;
}

/** The mark pairs the corpora set: (warm, after) per bulk section, in order. */
function assertSteadyArena(diag: string) {
  const { marks, end } = arenaMarks(diag);
  assert(marks.length >= 2 && marks.length % 2 === 0, `expected warm/after mark pairs, got ${JSON.stringify(marks)}`);
  for (let i = 0; i < marks.length; i += 2) {
    assertEquals(marks[i + 1], marks[i], `arena grew between mark ${i} (warm) and mark ${i + 1} (after)`);
  }
  assert(end >= marks[marks.length - 1], "the end report follows the marks");
}

Deno.test("buildGuest suite ELF under qemu-aarch64 prints the Deno transcript byte for byte, with a steady arena", async () => {
  const { r, deno } = await built();
  const user = await runUnderQemuUser(r.linuxElf!);
  assertEquals(user.code, 0, `qemu-aarch64 exit ${user.code}: ${user.stderr.slice(-600)}`);
  const expected = extractTranscript(deno);
  const actual = extractTranscript(user.stdout);
  assert(expected !== null && actual !== null, "both runs print a complete transcript");
  assertEquals(firstDifference(files, expected, actual), "");
  assertEquals(user.stdout, deno, "banner and transcript: the whole stdout is identical");
  assertSteadyArena(user.stderr);
  console.log(`native: ${JSON.stringify({ stageMs: r.stageMs, sizes: r.sizes, arena: arenaMarks(user.stderr) })}`);
});

Deno.test("buildGuest suite rootserver boots on seL4 and prints the Deno transcript byte for byte on serial", async () => {
  const { r, deno } = await built();
  const image = join(work, "sel4-image.elf");
  await linkSel4Image(r.elf!, image);
  const boot = await bootSel4(image, {
    until: "cohesix: root task stopped",
    timeoutMs: 600_000,
    watch: ["cohesix: seL4 root task up", "cohesix: guest up"],
  });
  assertMatch(boot.serial, /cohesix: bootinfo untyped=\d+ device=\d+ empty=\[\d+,4096\)/);
  assertMatch(boot.serial, /cohesix: pl011 untyped slot=\d+ paddr=0x9000000/);
  assertMatch(boot.serial, new RegExp(`cohesix: guest up, manifest ${MANIFEST_FINGERPRINT}`));
  assertMatch(boot.serial, /cohesix: root task stopped, code=0/);
  const expected = extractTranscript(deno)!;
  const actual = extractTranscript(boot.serial);
  assert(actual !== null, `no complete transcript on serial; tail:\n${boot.serial.slice(-600)}`);
  assertEquals(firstDifference(files, expected, actual), "");
  assertSteadyArena(boot.serial);
  console.log(`sel4: ${JSON.stringify({ bootMs: boot.seenMs, runMs: boot.ms, image: Deno.statSync(image).size })}`);
});
