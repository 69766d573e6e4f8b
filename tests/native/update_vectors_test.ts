/**
 * Both update signature checks pass the same vector set (tests/native/update_vectors.ts: valid,
 * signature flipped, body flipped, untrusted key, other key under the trusted kid, body over the
 * check's cap, manifest over the store's cap, second trusted key; then chunks to ready) in four runs:
 * the hosted check (@noble/ed25519) under Deno; PlatformUpdateSignatureCheck compiled by Porffor with
 * the host platform answering its mailbox (noble); and the guest compiled to AArch64 with libsodium
 * behind the mailbox, under qemu-aarch64 and as the seL4 root task.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { CHECK_MAX_CHUNKS, hostedUpdateVectorLines, steps, TRUSTED, updateVectorEntrySource } from "./update_vectors.ts";
import { UpdateVectorRun } from "./update_vectors_driver.ts";
import { lazyGuestBuild, linkImage, vectorLines } from "./builds.ts";
import { bootSel4, runUnderQemuUser } from "../../src/host/guest_build/native_run.ts";
import { bundleEntry } from "../../src/host/guest_build/bundle.ts";
import { porfWasm, runWasmPump } from "../../src/host/guest_build/wasm_pump.ts";
import { HostedUpdateSignatureCheck } from "../../src/host/update/signature_check.ts";
import { join } from "node:path";

const work = Deno.makeTempDirSync({ prefix: "cohesix-update-vectors-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));

const expected = hostedUpdateVectorLines();
const built = lazyGuestBuild(updateVectorEntrySource);

/** The timed checks of the 257-chunk body after the vectors. */
function benchLines(out: string): string[] {
  const lines = out.slice(out.indexOf("vectors end\n")).split("\n").filter((l) => l.startsWith("bench verify "));
  assertEquals(lines.length, 5, out.slice(-800));
  for (const l of lines) assert(/^bench verify chunks=257 body=\d+ result=ok micros=\d+$/.test(l), l);
  return lines;
}

Deno.test("the hosted update check gives each vector its expected verdict", () => {
  const verdicts = expected.split("\n").filter((l) => /^(vector|chunk) /.test(l)).map((l) =>
    l.split(" ").filter((w) => !w.startsWith("epoch=")).slice(1).join(" ")
  );
  assertEquals(verdicts, [
    "valid ok",
    "signature-flipped bad-signature",
    "body-flipped bad-signature",
    "untrusted-key untrusted-key",
    "other-key-trusted-kid bad-signature",
    "oversize-body malformed",
    "oversize-manifest malformed",
    "valid-second-key ok",
    "tampered sha256-mismatch",
    "for-refused-epoch no-manifest",
    "chunk-0 stored=128",
    "chunk-1 stored=128",
    "chunk-2 stored=44",
  ]);
  // Nothing but the valid update is ever ready, and it only after its chunks.
  assertEquals(expected.split("\n").filter((l) => l.startsWith("state=ready")), ["state=ready chunks=3 have=3 missing=0"]);
  assert(expected.includes("status after-chunks epoch=1\nstate=ready chunks=3 have=3 missing=0\n"));
});

Deno.test("the oversize-body vector is refused by the check's cap, not by the store's reader", () => {
  const uncapped = new UpdateVectorRun(new HostedUpdateSignatureCheck(TRUSTED));
  const step = steps().find((s) => s[1] === "oversize-body")!;
  uncapped.uvrStep(...step);
  const text = new TextDecoder().decode(uncapped.uvrOut.buf.subarray(0, uncapped.uvrOut.len));
  // The signature verifies; then the store finds no room for 300 chunks.
  assertEquals(text, "vector oversize-body epoch=6 too-big\nstate=invalid chunks=0 have=0 missing=0 reason=too-big\n");
  assert(CHECK_MAX_CHUNKS < 300);
});

Deno.test("PlatformUpdateSignatureCheck compiled by Porffor, with the host answering its mailbox, gives the hosted lines", async () => {
  const run = await runWasmPump(await porfWasm(await bundleEntry(updateVectorEntrySource())), new Uint8Array());
  assertEquals(vectorLines(run.printed), expected);
  benchLines(run.printed);
});

Deno.test("PlatformUpdateSignatureCheck with libsodium under qemu-aarch64 gives the hosted lines", async () => {
  const r = await built();
  const run = await runUnderQemuUser(r.linuxElf);
  assertEquals(run.code, 0, run.stderr.slice(-600));
  assertEquals(vectorLines(run.stdout), expected);
  console.log(`update vectors (qemu-aarch64 user): ${benchLines(run.stdout).join("; ")}`);
});

Deno.test("PlatformUpdateSignatureCheck with libsodium on seL4 gives the hosted lines", async () => {
  const r = await built();
  const image = join(work, "update-vectors.elf");
  await linkImage(r.elf, image);
  const boot = await bootSel4(image, { until: "bench end\n", timeoutMs: 180_000 });
  assertEquals(vectorLines(boot.serial), expected);
  console.log(`update vectors (seL4): ${benchLines(boot.serial).join("; ")}`);
  console.log(`update vectors: rootserver ${r.sizes["rootserver.elf"]} bytes, stages ${JSON.stringify(r.stageMs)}`);
});
