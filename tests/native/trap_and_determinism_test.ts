/**
 * The native platform layer on a small guest: a deliberate `throw` ends in a trap report (stage and
 * reason) on the diagnostics channel — stderr under qemu-aarch64, the serial line on seL4 — never a
 * hang; and two builds of the same entry in different directories give byte-identical ELFs.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { buildGuest, type GuestBuildResult } from "../../src/host/guest_build/build.ts";
import { bootSel4, linkSel4Image, runUnderQemuUser } from "../../src/host/guest_build/native_run.ts";
import { join } from "node:path";

const ENTRY = `import { ByteWriter } from "./src/guest/lib/bytes.ts";
const w = new ByteWriter(16);
w.ascii("x");
console.log("guest: before the throw");
if (w.len === 1) throw new Error("deliberate guest fault");
console.log("guest: not reached");
`;

const work = Deno.makeTempDirSync({ prefix: "cohesix-trap-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
let first: Promise<GuestBuildResult> | undefined;
const built = () => (first ??= buildGuest({ outDir: join(work, "a"), entrySource: ENTRY }));

Deno.test("coh_trap reports a guest throw with stage and reason under qemu-aarch64 and exits 3", async () => {
  const r = await built();
  const run = await runUnderQemuUser(r.linuxElf!);
  assertEquals(run.code, 3, `exit code; stderr: ${run.stderr}`);
  assertStringIncludes(run.stdout, "guest: before the throw\n");
  assert(!run.stdout.includes("not reached"), "execution stops at the throw");
  assertMatch(
    run.stderr,
    /\*\*\* cohesix guest trap: stage=run reason=unreachable executed \(a JavaScript throw/,
  );
});

Deno.test("coh_trap reports a guest throw on the seL4 serial line and stops the root task", async () => {
  const r = await built();
  const image = join(work, "trap-image.elf");
  await linkSel4Image(r.elf!, image); // built against the prebuilt export: its PL031 tick fallback
  // Wait for the whole line: stopping at its first half raced the exit code still on its way.
  const boot = await bootSel4(image, { until: "cohesix: root task stopped, code=3\n", timeoutMs: 120_000 });
  assertStringIncludes(boot.serial, "guest: before the throw\n");
  assertMatch(boot.serial, /\*\*\* cohesix guest trap: stage=run reason=unreachable executed/);
  assertMatch(boot.serial, /cohesix: root task stopped, code=3/);
});

Deno.test("buildGuest gives byte-identical ELFs for the same entry built in another directory", async () => {
  const a = await built();
  const b = await buildGuest({ outDir: join(work, "b"), entrySource: ENTRY });
  for (const name of ["guest.wasm", "guest-linux.elf", "rootserver.elf"]) {
    const x = await Deno.readFile(join(work, "a", name));
    const y = await Deno.readFile(join(work, "b", name));
    assertEquals(x.length, y.length, `${name} sizes`);
    assert(x.every((v, i) => v === y[i]), `${name} differs between the two builds`);
  }
  assertEquals(a.arenaPtrField, b.arenaPtrField);
});
