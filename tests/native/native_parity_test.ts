/**
 * Parity runs 3 and 4: the corpus suite compiled by `buildGuest` runs as a Linux user-mode ELF
 * under qemu-aarch64 and as the seL4 root task under qemu-system-aarch64; both transcripts must be
 * byte-identical to the Deno run of the same bundle (run 2, porf, is tests/parity/parity_test.ts).
 * The native runtime samples the Wasm arena at each corpus `mark`: warm-up and after the bulk
 * commands must match. One build (tests/native/builds.ts, cached across test files) serves them all.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { linkImage, suiteBuild } from "./builds.ts";
import {
  arenaMarks,
  bootSel4,

  runUnderQemuUser,
} from "../../src/host/guest_build/native_run.ts";
import { extractTranscript } from "../../src/host/guest_build/transcript.ts";
import { corpusFiles, firstDifference } from "../parity/suite.ts";
import { MANIFEST_FINGERPRINT } from "../../src/guest/generated/bootstrap.ts";
import { hostedSerial, SERIAL_INPUT } from "../parity/hosted.ts";
import { join } from "node:path";

const files = corpusFiles();
const work = Deno.makeTempDirSync({ prefix: "cohesix-native-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const built = suiteBuild;

/** The mark pairs the corpora set: (warm, after) per bulk section, in order. */
function assertSteadyArena(diag: string) {
  const { marks, end } = arenaMarks(diag);
  assert(
    marks.length >= 2 && marks.length % 2 === 0,
    `expected warm/after mark pairs, got ${JSON.stringify(marks)}`,
  );
  for (let i = 0; i < marks.length; i += 2) {
    assertEquals(marks[i + 1], marks[i], `arena grew between mark ${i} (warm) and mark ${i + 1} (after)`);
  }
  // The end report only comes when main returns (Linux at end of input; seL4 keeps serving).
  if (end >= 0) assert(end >= marks[marks.length - 1], "the arena at the end is at least the last mark");
}

Deno.test("buildGuest suite ELF under qemu-aarch64 prints the Deno transcript byte for byte, with a steady arena", async () => {
  const { r, deno } = await built();
  const user = await runUnderQemuUser(r.linuxElf!);
  assertEquals(user.code, 0, `qemu-aarch64 exit ${user.code}: ${user.stderr.slice(-600)}`);
  const expected = extractTranscript(deno);
  const actual = extractTranscript(user.stdout);
  assert(expected !== null && actual !== null, "both runs print a complete transcript");
  assertEquals(firstDifference(files, expected, actual), "");
  assertEquals(user.stdout.split("\n")[0], deno.split("\n")[0], "the banners match");
  assertSteadyArena(user.stderr);
  console.log(
    `native: ${JSON.stringify({ stageMs: r.stageMs, sizes: r.sizes, arena: arenaMarks(user.stderr) })}`,
  );
});

Deno.test("buildGuest suite rootserver boots on seL4 and prints the Deno transcript byte for byte on serial", async () => {
  const { r, deno } = await built();
  const image = join(work, "sel4-image.elf");
  await linkImage(r.elf!, image);
  const boot = await bootSel4(image, {
    until: "OK QUIT\n",
    timeoutMs: 600_000,
    watch: ["cohesix: seL4 root task up", "cohesix: guest up"],
    input: { after: "cohesix: serial console ready\n", bytes: SERIAL_INPUT },
  });
  assertMatch(boot.serial, /cohesix: bootinfo untyped=\d+ device=\d+ empty=\[\d+,4096\)/);
  assertMatch(boot.serial, /cohesix: pl011 untyped slot=\d+ paddr=0x9000000/);
  assertMatch(boot.serial, new RegExp(`cohesix: guest up, manifest ${MANIFEST_FINGERPRINT}`));
  assertMatch(boot.serial, /cohesix: pl011 mapped at 0x[0-9a-f]+, pl031 tick at/);
  const expected = extractTranscript(deno)!;
  const actual = extractTranscript(boot.serial);
  assert(actual !== null, `no complete transcript on serial; tail:\n${boot.serial.slice(-600)}`);
  assertEquals(firstDifference(files, expected, actual), "");
  assertSteadyArena(boot.serial);
  // Interactive: the same lines typed on the PL011 get the hosted hive's answers.
  const console_ = boot.serial.slice(boot.serial.indexOf("cohesix: serial console ready\n") + 30);
  assertEquals(console_, hostedSerial(SERIAL_INPUT));
  console.log(
    `sel4: ${JSON.stringify({ bootMs: boot.seenMs, runMs: boot.ms, image: Deno.statSync(image).size })}`,
  );
});

Deno.test("pumpMain serves the serial console from stdin under qemu-aarch64 like the hosted hive", async () => {
  const { r } = await built();
  const user = await runUnderQemuUser(r.linuxElf!, 300_000, SERIAL_INPUT);
  assertEquals(user.code, 0, `qemu-aarch64 exit ${user.code}: ${user.stderr.slice(-600)}`);
  const ready = "cohesix: serial console ready\n";
  const afterReplays = user.stdout.slice(user.stdout.indexOf(ready) + ready.length);
  const expected = hostedSerial(SERIAL_INPUT);
  assertStringIncludes(expected, "OK ATTACH role=queen");
  assertEquals(afterReplays, expected);
});
