/**
 * Both ticket verifiers pass the same vector set (tests/native/ticket_vectors.ts: valid, tampered
 * claims, bad signature, unknown key, wrong role, expired, not yet valid, malformed in five ways) in
 * four runs: the hosted verifier (@noble/ed25519 + cbor-x) under Deno; the guest's decoder compiled
 * by Porffor with the host platform answering the verify mailbox (noble); and the guest compiled to
 * AArch64 with libsodium behind the mailbox, under qemu-aarch64 and as the seL4 root task.
 */
import { assertEquals } from "../support/assert.ts";
import { hostedVectorLines, vectorEntrySource } from "./ticket_vectors.ts";
import { lazyGuestBuild, linkImage, vectorLines } from "./builds.ts";
import { bootSel4, runUnderQemuUser } from "../../src/host/guest_build/native_run.ts";
import { bundleEntry } from "../../src/host/guest_build/bundle.ts";
import { porfWasm, runWasmPump } from "../../src/host/guest_build/wasm_pump.ts";
import { join } from "node:path";

const work = Deno.makeTempDirSync({ prefix: "cohesix-vectors-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));

const expected = hostedVectorLines();
const built = lazyGuestBuild(vectorEntrySource);

Deno.test("the hosted verifier gives each vector its expected verdict", () => {
  const verdicts = expected.trim().split("\n").map((l) => l.split(" ").slice(1, 3).join(" "));
  assertEquals(verdicts, [
    "valid ok",
    "valid-scoped ok",
    "tampered-claims tampered-claims",
    "bad-signature bad-signature",
    "unknown-key unknown-key",
    "wrong-role role-mismatch",
    "expired expired",
    "not-yet-valid not-yet-valid",
    "malformed-prefix malformed",
    "malformed-base64 malformed",
    "malformed-seal-length malformed",
    "malformed-three-parts malformed",
    "signed-not-a-map malformed",
    "signed-unknown-key malformed",
  ]);
});

Deno.test("PlatformTicketVerifier compiled by Porffor, with the host answering its mailbox, gives the hosted lines", async () => {
  const run = await runWasmPump(await porfWasm(await bundleEntry(vectorEntrySource())), new Uint8Array());
  assertEquals(vectorLines(run.printed), expected);
});

Deno.test("PlatformTicketVerifier with libsodium under qemu-aarch64 gives the hosted lines", async () => {
  const r = await built();
  const run = await runUnderQemuUser(r.linuxElf);
  assertEquals(run.code, 0, run.stderr.slice(-600));
  assertEquals(vectorLines(run.stdout), expected);
});

Deno.test("PlatformTicketVerifier with libsodium on seL4 gives the hosted lines", async () => {
  const r = await built();
  const image = join(work, "vectors.elf");
  await linkImage(r.elf, image);
  const boot = await bootSel4(image, { until: "vectors end\n", timeoutMs: 120_000 });
  assertEquals(vectorLines(boot.serial), expected);
  console.log(`vectors: rootserver ${r.sizes["rootserver.elf"]} bytes, stages ${JSON.stringify(r.stageMs)}`);
});
