/**
 * PlatformUpdateSignatureCheck outside a platform (plain Deno): with nobody answering its mailbox it
 * refuses every manifest as `no-verifier` and nothing becomes ready; untrusted kids and bodies over
 * its cap are refused before the mailbox is used. Its cap is exactly the longest body the store's
 * reader accepts, and its mailbox layout matches the C half (update_seal.c). The four-way runs with
 * a platform are in tests/native/update_vectors_test.ts.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { hexToBytes } from "@noble/hashes/utils.js";
import * as ed from "@noble/ed25519";
import { concatBytes } from "@noble/hashes/utils.js";
import { ByteWriter } from "../../src/guest/lib/bytes.ts";
import { UMR_MAX_FILES, UMR_OK, UMR_TOO_BIG, umrBodyCap, UpdateManifestReader } from "../../src/guest/updates/manifest_reader.ts";
import {
  PlatformUpdateSignatureCheck,
  PUS_ACK,
  PUS_DOMAIN,
  PUS_KEY,
  PUS_MAX_CHUNKS,
  PUS_MICROS,
  PUS_MSG,
  PUS_MSG_CAP,
  PUS_MSG_LEN,
  PUS_RESULT,
  PUS_SIG,
  PUS_SIGNATURE,
  pusSignatureByte,
  UPDATE_VERIFY_LINE,
} from "../../src/guest/updates/platform_signature_check.ts";
import {
  UST_BAD_SIGNATURE,
  UST_NO_MANIFEST,
  UST_NO_VERIFIER,
  UST_OK,
  UST_UNTRUSTED,
  UpdateStore,
} from "../../src/guest/updates/update_store.ts";
import { MAX_CHUNKS, UPDATE_DOMAIN } from "../../src/host/update/manifest.ts";
import { packUpdate } from "../../src/host/update/pack.ts";
import { verifyUpdateMessage } from "../../src/host/update/signature_check.ts";
import { keyPair } from "../../src/host/ticket/codec.ts";

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const PAIR = keyPair(SECRET);
const KEYS = [{ kid: PAIR.kid, publicKey: PAIR.publicKey }];
const dec = new TextDecoder();

function status(s: UpdateStore, epoch: number): string {
  const w = new ByteWriter(4096);
  assert(s.ustStatus(epoch, w, 0), `no status for epoch ${epoch}`);
  return dec.decode(w.buf.subarray(0, w.len));
}

/** Runs fn with console.log captured (the check prints its request line there). */
function printed(fn: () => void): string[] {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    fn();
  } finally {
    console.log = log;
  }
  return lines;
}

Deno.test("PlatformUpdateSignatureCheck under plain Deno refuses a valid manifest as no-verifier; nothing is ready", () => {
  const packed = packUpdate({ epoch: 1, chunkBytes: 64, secretKey: SECRET, files: [{ name: "a", bytes: new Uint8Array(100) }] });
  const store = new UpdateStore(64 * 8, 64, 8, 2, new PlatformUpdateSignatureCheck(KEYS, 8));
  let code = 0;
  const lines = printed(() => code = store.ustManifest(1, packed.manifest, packed.manifest.length));
  assertEquals(lines, [UPDATE_VERIFY_LINE]); // it asked, nobody answered
  assertEquals(code, UST_NO_VERIFIER);
  assertEquals(status(store, 1), "state=invalid chunks=0 have=0 missing=0 reason=no-verifier\n");
  const [name, bytes] = [...packed.newChunks][0];
  assertEquals(store.ustChunk(1, hexToBytes(name), 0, bytes, 0, bytes.length), UST_NO_MANIFEST);
  assertEquals(status(store, 1), "state=invalid chunks=0 have=0 missing=0 reason=no-verifier\n");
});

Deno.test("PlatformUpdateSignatureCheck refuses an untrusted kid and a body over its cap without using the mailbox", () => {
  const check = new PlatformUpdateSignatureCheck(KEYS, 4);
  const reader = new UpdateManifestReader(1 << 16, 64, UMR_MAX_FILES);
  const other = packUpdate({ epoch: 2, chunkBytes: 64, secretKey: new Uint8Array(32).fill(7), files: [{ name: "a", bytes: new Uint8Array(100) }] });
  const big = packUpdate({ epoch: 3, chunkBytes: 64, secretKey: SECRET, files: [{ name: "a", bytes: new Uint8Array(64 * 40).fill(1) }] });
  for (const [m, want] of [[other.manifest, UST_UNTRUSTED], [big.manifest, UMR_TOO_BIG]] as const) {
    assertEquals(reader.umrRead(m, m.length), UMR_OK);
    let code = 0;
    const lines = printed(() =>
      code = check.uscVerify(m, reader.umrKidOff, reader.umrBodyOff, reader.umrBodyLen, reader.umrSigOff)
    );
    assertEquals([code, lines], [want, []]);
  }
  assert(big.manifest.length > umrBodyCap(4, UMR_MAX_FILES));
});

/** A shortest-form CBOR head (the reader's rule), 8-byte arguments included. */
function head(major: number, v: number): number[] {
  if (v < 24) return [major * 32 + v];
  const n = v < 256 ? 1 : v < 65536 ? 2 : v < 2 ** 32 ? 4 : 8;
  const out = [major * 32 + (n === 1 ? 24 : n === 2 ? 25 : n === 4 ? 26 : 27)];
  for (let i = n - 1; i >= 0; i--) out.push(Math.floor(v / 256 ** i) % 256);
  return out;
}

Deno.test("umrBodyCap is the longest body the reader accepts: a manifest with every field at its widest meets it exactly", () => {
  // Hand-encoded: the host writer (cbor-x) never writes 8-byte integers, but the reader accepts them.
  const maxChunks = 3;
  const size = 2 ** 42 + 1; // 8 files: 2^45 + 8 bytes, 3 chunks of 2^44
  const body: number[] = [...head(4, 7), ...head(0, 1), ...head(0, 2 ** 50), ...head(0, 2 ** 44), ...head(0, 8 * size)];
  body.push(...head(0, 2 ** 49), ...head(4, UMR_MAX_FILES));
  for (let i = 0; i < UMR_MAX_FILES; i++) {
    body.push(...head(4, 2), ...head(3, 128), ...new Array(128).fill(97 + i), ...head(0, size));
  }
  body.push(...head(4, maxChunks));
  for (let i = 0; i < maxChunks; i++) body.push(...head(2, 32), ...new Array(32).fill(i));
  const m = Uint8Array.from([...head(4, 3), ...head(2, body.length), ...body, ...head(2, 4), 1, 2, 3, 4, ...head(2, 64), ...new Array(64).fill(0)]);
  const reader = new UpdateManifestReader(1 << 16, maxChunks, UMR_MAX_FILES);
  assertEquals(reader.umrRead(m, m.length), UMR_OK);
  assertEquals([reader.umrEpoch, reader.umrChunkCount, reader.umrFileCount], [2 ** 50, maxChunks, UMR_MAX_FILES]);
  assertEquals(reader.umrBodyLen, umrBodyCap(maxChunks, UMR_MAX_FILES));
  assertEquals(umrBodyCap(257, UMR_MAX_FILES), 9900); // the figure in the module comment
});

Deno.test("the update check's constants match the host's and the C half (update_seal.c)", async () => {
  assertEquals(PUS_MAX_CHUNKS, MAX_CHUNKS);
  assertEquals(new TextEncoder().encode(`${PUS_DOMAIN}\0`), UPDATE_DOMAIN);
  assert(UPDATE_VERIFY_LINE.length <= 23, "the native request buffer holds 23 bytes and the newline");
  const c = await Deno.readTextFile(new URL("../../src/guest/native/update_seal.c", import.meta.url));
  const define = (name: string) => Number(new RegExp(`#define ${name} (\\d+)`).exec(c)?.[1]);
  assertEquals(
    ["UV_SIG", "UV_ACK", "UV_RESULT", "UV_MSG_LEN", "UV_MSG_CAP", "UV_MICROS", "UV_KEY", "UV_SIGNATURE", "UV_MSG"].map(define),
    [PUS_SIG, PUS_ACK, PUS_RESULT, PUS_MSG_LEN, PUS_MSG_CAP, PUS_MICROS, PUS_KEY, PUS_SIGNATURE, PUS_MSG],
  );
  assert(c.includes(`"${PUS_DOMAIN}"`));
  const sig = /sig\[i\] = \(uint8_t\)\(\(i \* (\d+) \+ (\d+)\) % 256\)/.exec(c);
  assert(sig, "no signature formula in update_seal.c");
  for (let i = 0; i < PUS_SIG; i++) assertEquals((i * Number(sig[1]) + Number(sig[2])) % 256, pusSignatureByte(i));
  const main = await Deno.readTextFile(new URL("../../src/guest/native/guest_main.c", import.meta.url));
  assert(main.includes(`memcmp(request, "\\001${UPDATE_VERIFY_LINE.slice(1)}", ${UPDATE_VERIFY_LINE.length})`));
});

Deno.test("the mailbox carries the message capacity and the domain from construction", () => {
  const check = new PlatformUpdateSignatureCheck(KEYS, 257);
  const mb = check.pusMailbox;
  const cap = mb[PUS_MSG_CAP] + mb[PUS_MSG_CAP + 1] * 256 + mb[PUS_MSG_CAP + 2] * 65536;
  assertEquals(cap, UPDATE_DOMAIN.length + 9900);
  assertEquals(mb.length, PUS_MSG + cap);
  assertEquals(mb.subarray(PUS_MSG, PUS_MSG + UPDATE_DOMAIN.length), UPDATE_DOMAIN);
});

Deno.test("verifyUpdateMessage verifies only messages under the update domain", () => {
  const body = new TextEncoder().encode("body");
  const pk = hexToBytes(PAIR.publicKey);
  const signed = concatBytes(UPDATE_DOMAIN, body);
  assertEquals(verifyUpdateMessage(signed, ed.sign(signed, SECRET), pk), UST_OK);
  // A valid signature over the body without the domain (as a ticket key might sign) does not count.
  assertEquals(verifyUpdateMessage(body, ed.sign(body, SECRET), pk), UST_BAD_SIGNATURE);
  assertEquals(verifyUpdateMessage(signed, new Uint8Array(64), pk), UST_BAD_SIGNATURE);
  assertEquals(verifyUpdateMessage(signed, ed.sign(signed, SECRET), new Uint8Array(32)), UST_BAD_SIGNATURE);
});
