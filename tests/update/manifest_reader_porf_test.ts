/**
 * Parity: the guest's manifest reader gives the same results under Deno and under Porffor (`porf`)
 * on a signed manifest and 40 seeded corruptions of it (those left unrefused here fall to the
 * signature check), and the good one reads back its fields.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { bundleFixture, runDenoAndPorf } from "../support/porf.ts";
import { signManifest, type UpdateBody } from "../../src/host/update/manifest.ts";
import { UMR_OK, UpdateManifestReader } from "../../src/guest/updates/manifest_reader.ts";


function corruptions(good: Uint8Array, n: number): number[][] {
  const out: number[][] = [];
  let x = 19;
  const next = (m: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % m;
  };
  for (let i = 0; i < n; i++) {
    const at = next(good.length);
    const kind = i % 3;
    if (kind === 0) {
      const b = [...good];
      b[at] = (b[at] + 1 + next(255)) % 256;
      out.push(b);
    } else if (kind === 1) out.push([...good.subarray(0, at)]);
    else out.push([...good.subarray(0, at), next(256), ...good.subarray(at)]);
  }
  return out;
}

Deno.test("manifest reader under porf: same codes and fields as Deno on a good manifest and 40 corruptions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "umr-porf-" });
  try {
    const body: UpdateBody = {
      epoch: 300,
      chunkBytes: 4096,
      totalBytes: 70_000,
      baseEpoch: 299,
      files: [{ name: "app.bin", size: 69_000 }, { name: "cfg", size: 1000 }],
      chunks: Array.from({ length: 18 }, (_, i) => (i + 16).toString(16).repeat(32)),
    };
    const good = signManifest(body, Uint8Array.from({ length: 32 }, (_, i) => i));
    const manifests = [[...good], ...corruptions(good, 40)];
    await Deno.writeTextFile(`${dir}/reader_porf_data.ts`, `export const MANIFESTS: number[][] = ${JSON.stringify(manifests)};\n`);
    const bundle = await bundleFixture(new URL("./fixtures/reader_porf_entry.ts", import.meta.url), dir);
    const [denoOut, porfOut] = await runDenoAndPorf(bundle);
    const nums = (s: string) => s.trim().split("\n").map((l) => Number(l.replace(/\x1b\[[0-9;]*m/g, "")));
    const deno = nums(denoOut);
    assertEquals(nums(porfOut), deno);
    assertEquals(deno.length, 8 * manifests.length);
    const hashSum = body.chunks.reduce((s, c) => s + ((parseInt(c.slice(0, 2), 16)) * 32), 0);
    assertEquals(deno.slice(0, 8), [UMR_OK, 300, 4096, 70_000, 299, 2, 18, hashSum]);
    // The same reader in this process gives the same codes; the corruptions cover several refusals.
    const r = new UpdateManifestReader(4096, 64, 8);
    const codes = manifests.map((m) => r.umrRead(Uint8Array.from(m), m.length));
    assertEquals(deno.filter((_, i) => i % 8 === 0), codes);
    assert(new Set(codes.slice(1)).size >= 3, `corruption codes: ${codes.slice(1)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
