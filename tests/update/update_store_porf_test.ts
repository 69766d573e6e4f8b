/** Parity: the update store's data path gives the same codes and status bytes under Deno and Porffor. */
import { assertEquals } from "../support/assert.ts";
import { bundleFixture, runDenoAndPorf } from "../support/porf.ts";
import { hexToBytes } from "@noble/hashes/utils.js";
import { packUpdate } from "../../src/host/update/pack.ts";
import { UST_HASH_MISMATCH, UST_OK } from "../../src/guest/updates/update_store.ts";
import { decodeDriver } from "../ninedoor/policy_porf.ts";


Deno.test("update store under porf: manifest, chunks, tampered chunk, re-send and status byte-identical to Deno", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ust-porf-" });
  try {
    const bytes = Uint8Array.from({ length: 3500 }, (_, i) => (i * 31 + 7) % 251);
    const packed = packUpdate({ epoch: 9, chunkBytes: 1024, secretKey: Uint8Array.from({ length: 32 }, () => 5), files: [{ name: "f", bytes }] });
    const names = packed.body.chunks;
    await Deno.writeTextFile(
      `${dir}/store_porf_data.ts`,
      `export const MANIFEST: number[] = ${JSON.stringify([...packed.manifest])};\n` +
        `export const NAMES: number[][] = ${JSON.stringify(names.map((n) => [...hexToBytes(n)]))};\n` +
        `export const CHUNKS: number[][] = ${JSON.stringify(names.map((n) => [...packed.newChunks.get(n)!]))};\n`,
    );
    const bundle = await bundleFixture(new URL("./fixtures/store_porf_entry.ts", import.meta.url), dir);
    const [denoOut, porfOut] = await runDenoAndPorf(bundle);
    const deno = decodeDriver(denoOut);
    assertEquals(decodeDriver(porfOut), deno);
    const missing = (n: string) => `missing ${n}\n`;
    assertEquals(deno, [
      UST_OK,
      `state=receiving chunks=4 have=0 missing=4\n${missing(names[0])}${missing(names[1])}`,
      UST_HASH_MISMATCH,
      1024,
      1024,
      `state=receiving chunks=4 have=2 missing=2\n${missing(names[2])}${missing(names[3])}`,
      1024,
      3500 - 3072,
      3500 - 3072,
      "state=ready chunks=4 have=4 missing=0\n",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
