import fc from "fast-check";
import { join } from "node:path";
import { type Check } from "../../images/attest.ts";
import { writeFat } from "../../images/fat.ts";
import { FatVolume } from "../../images/fat_read.ts";
import { offlineStatus, StatusError } from "../../src/host/status/offline.ts";
import { assert } from "../support/assert.ts";
import { cohesixImage, helloRootTask, tempDir } from "./support.ts";

Deno.test("offlineStatus on a damaged ESP either reports failed checks or refuses with StatusError, never crashes", async (t) => {
  const dir = await tempDir(t);
  try {
    const out = join(dir, "out");
    const b = await cohesixImage(await helloRootTask(), out, ["--uefi"]);
    assert(b.code === 0, b.stderr);
    const esp = await Deno.readFile(join(out, "esp.img"));
    // Damage lands in the metadata (boot sector, FATs, root directory) and the start of the data area.
    const hot = 64 * 1024;
    const target = join(dir, "damaged.img");
    let failedChecks = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat(hot - 1), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 24,
        }),
        async (edits) => {
          const img = esp.slice();
          for (const e of edits) img[e.at] = e.value;
          await Deno.writeFile(target, img);
          try {
            const s = await offlineStatus(target);
            if (!s.ok) failedChecks++;
            assert(s.checks.every((c: Check) => typeof c.ok === "boolean"));
          } catch (err) {
            assert(
              err instanceof StatusError,
              `unexpected ${(err as Error).name}: ${(err as Error).message}`,
            );
            refused++;
          }
        },
      ),
      { numRuns: 150 },
    );
    assert(failedChecks + refused > 0, "damage was noticed at least once");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FatVolume.walk refuses a directory that loops back to its parent", () => {
  const img = writeFat([{ path: "a/b/c.txt", data: new TextEncoder().encode("x") }]);
  const vol = new FatVolume(img);
  const b = vol.lookup("a/b", true);
  const a = vol.lookup("a", true);
  // Point b's entry (inside a's directory cluster) at a's own cluster: a → b → a → …
  const aDir = img.subarray(dataOffset(img) + (a.cluster - 2) * 512, dataOffset(img) + (a.cluster - 1) * 512);
  let patched = 0;
  for (let off = 64; off < 512; off += 32) {
    const cluster = aDir[off + 26] + aDir[off + 27] * 256;
    if (aDir[off + 11] === 0x10 && cluster === b.cluster) {
      aDir[off + 26] = a.cluster % 256;
      aDir[off + 27] = Math.floor(a.cluster / 256);
      patched++;
    }
  }
  assert(patched === 1, "b's entry found in a");
  assert(b.cluster !== a.cluster);
  let threw = false;
  try {
    new FatVolume(img).walk();
  } catch (err) {
    threw = /loops back/.test((err as Error).message);
  }
  assert(threw, "walk stops at the loop");
});

function dataOffset(img: Uint8Array): number {
  const v = new DataView(img.buffer, img.byteOffset);
  const reserved = v.getUint16(14, true);
  const fats = img[16];
  const fatSize = v.getUint16(22, true);
  const rootEntries = v.getUint16(17, true);
  return (reserved + fats * fatSize) * 512 + rootEntries * 32;
}
