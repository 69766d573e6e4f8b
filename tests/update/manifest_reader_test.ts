/**
 * The guest's strict manifest reader against the host's writer: every signed manifest reads back with
 * the same fields, and 1,000 random corruptions are all refused (by the reader's shape checks or the
 * signature), never a crash.
 */
import fc from "fast-check";
import { assert, assertEquals } from "../support/assert.ts";
import {
  UMR_OK,
  UMR_TOO_BIG,
  UMR_TOO_MANY,
  UpdateManifestReader,
  umrReason,
} from "../../src/guest/updates/manifest_reader.ts";
import { decodeManifest, ManifestError, signManifest, type UpdateBody, verifyManifest } from "../../src/host/update/manifest.ts";
import { keyPair } from "../../src/host/ticket/codec.ts";
import { bytesToHex } from "@noble/hashes/utils.js";

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const PAIR = keyPair(SECRET);
const TRUSTED = [{ kid: PAIR.kid, publicKey: PAIR.publicKey }];
const dec = new TextDecoder();

const bodyArb = fc
  .record({
    epoch: fc.integer({ min: 1, max: 0x7fffffff }),
    chunkBytes: fc.constantFrom(64, 128, 4096, 65536),
    sizes: fc.array(fc.integer({ min: 0, max: 80_000 }), { minLength: 1, maxLength: 6 }),
    baseFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    names: fc.array(fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/), { minLength: 6, maxLength: 6 }),
  })
  .map((r): UpdateBody => {
    const totalBytes = r.sizes.reduce((a, b) => a + b, 0);
    const n = Math.ceil(totalBytes / r.chunkBytes);
    return {
      epoch: r.epoch,
      chunkBytes: r.chunkBytes,
      totalBytes,
      baseEpoch: Math.floor(r.baseFrac * (r.epoch - 1)),
      files: r.sizes.map((size, i) => ({ name: `${i}-${r.names[i]}`, size })),
      chunks: Array.from({ length: n }, (_, i) => bytesToHex(Uint8Array.from({ length: 32 }, (_, j) => (i * 7 + j) % 256))),
    };
  });

function readerFor(): UpdateManifestReader {
  return new UpdateManifestReader(300_000, 8192, 64);
}

Deno.test("guest manifest reader: every manifest the host signs reads back field for field", () => {
  const r = readerFor();
  fc.assert(
    fc.property(bodyArb, (body) => {
      const raw = signManifest(body, SECRET);
      const code = r.umrRead(raw, raw.length);
      assertEquals(code, UMR_OK, umrReason(code));
      const host = decodeManifest(raw);
      assertEquals(
        [r.umrEpoch, r.umrChunkBytes, r.umrTotal, r.umrBase, r.umrFileCount, r.umrChunkCount],
        [body.epoch, body.chunkBytes, body.totalBytes, body.baseEpoch, body.files.length, body.chunks.length],
      );
      assertEquals(bytesToHex(raw.subarray(r.umrBodyOff, r.umrBodyOff + r.umrBodyLen)), bytesToHex(host.bodyBytes));
      assertEquals(bytesToHex(raw.subarray(r.umrKidOff, r.umrKidOff + 4)), PAIR.kid);
      for (let i = 0; i < body.files.length; i++) {
        assertEquals(dec.decode(raw.subarray(r.umrNameOff[i], r.umrNameOff[i] + r.umrNameLen[i])), body.files[i].name);
        assertEquals(r.umrFileSize[i], body.files[i].size);
      }
      assertEquals(bytesToHex(r.umrHashes.subarray(0, 32 * body.chunks.length)), body.chunks.join(""));
    }),
    { numRuns: 200, seed: 19 },
  );
});

Deno.test("guest manifest reader refuses manifests over the hive's caps", () => {
  const body: UpdateBody = {
    epoch: 2,
    chunkBytes: 64,
    totalBytes: 640,
    baseEpoch: 1,
    files: [{ name: "a", size: 640 }],
    chunks: Array.from({ length: 10 }, (_, i) => String(i).repeat(64)),
  };
  const raw = signManifest(body, SECRET);
  assertEquals(new UpdateManifestReader(300_000, 9, 4).umrRead(raw, raw.length), UMR_TOO_MANY);
  assertEquals(new UpdateManifestReader(100, 16, 4).umrRead(raw, raw.length), UMR_TOO_BIG);
  assertEquals(new UpdateManifestReader(300_000, 10, 4).umrRead(raw, raw.length), UMR_OK);
});

Deno.test("1,000 random corruptions of a signed manifest: every one refused, none crashes the reader", () => {
  const body: UpdateBody = {
    epoch: 7,
    chunkBytes: 4096,
    totalBytes: 20_000,
    baseEpoch: 6,
    files: [{ name: "app.bin", size: 19_990 }, { name: "cfg.txt", size: 10 }],
    chunks: Array.from({ length: 5 }, (_, i) => String.fromCharCode(97 + i).repeat(64).replace(/[g-z]/g, "f")),
  };
  const good = signManifest(body, SECRET);
  const r = readerFor();
  assertEquals(r.umrRead(good, good.length), UMR_OK);
  const corruption = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(), xor: fc.constant(0) }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), xor: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), xor: fc.constant(0) }),
  );
  const tally = { reader: 0, signature: 0, key: 0 };
  fc.assert(
    fc.property(corruption, (c) => {
      const at = c.at % good.length;
      let bad: Uint8Array;
      if (c.kind === "flip") {
        bad = good.slice();
        bad[at] ^= c.xor;
      } else if (c.kind === "truncate") bad = good.subarray(0, at);
      else if (c.kind === "insert") bad = Uint8Array.from([...good.subarray(0, at), c.xor, ...good.subarray(at)]);
      else bad = Uint8Array.from([...good.subarray(0, at), ...good.subarray(at + 1)]);
      const code = r.umrRead(bad, bad.length); // must return, never throw
      let reason = "accepted";
      try {
        verifyManifest(bad, TRUSTED);
      } catch (err) {
        assert(err instanceof ManifestError, `host verifier crashed: ${err}`);
        reason = err.reason;
      }
      assert(reason !== "accepted", `corruption ${c.kind}@${at} verified`);
      if (code !== UMR_OK) tally.reader++;
      else if (reason === "untrusted-key") tally.key++;
      else tally.signature++;
    }),
    { numRuns: 1000, seed: 1919 },
  );
  // Each refusal path is exercised (the split is fixed by the seed).
  assert(tally.reader > 0 && tally.signature > 0 && tally.key > 0, JSON.stringify(tally));
  console.log(`corruptions refused: ${JSON.stringify(tally)}`);
});
