/**
 * The update manifest vector set both update signature checks must agree on: the hosted one
 * (HostedUpdateSignatureCheck, @noble/ed25519) and the native one (PlatformUpdateSignatureCheck with
 * libsodium, or the porf Wasm platform's noble, behind its mailbox). The steps run through one
 * UpdateStore (tests/native/update_vectors_driver.ts): a valid dev-key manifest, its signature and
 * its body each with one byte flipped, a manifest under an untrusted key, one signed by another key
 * but carrying the trusted kid, a body over the check's cap, a manifest over the store's cap, a valid
 * manifest under the second trusted key (the kid picks the key); then the valid update's chunks, a
 * tampered chunk first and a chunk for a refused epoch, to `ready`.
 * `updateVectorEntrySource` is the guest entry; after "vectors end" it times one check of a
 * 257-chunk body (1 MiB + 10 B at 4096 B chunks) five times, outside the compared lines.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import { UMR_MAX_FILES, umrBodyCap } from "../../src/guest/updates/manifest_reader.ts";
import type { UpdateKeySpec } from "../../src/guest/updates/platform_signature_check.ts";
import { devUpdateSeed } from "../../src/host/update/manifest.ts";
import { packUpdate } from "../../src/host/update/pack.ts";
import { HostedUpdateSignatureCheck } from "../../src/host/update/signature_check.ts";
import { keyPair } from "../../src/host/ticket/codec.ts";
import { UpdateVectorRun, UVR_CHUNK_BYTES } from "./update_vectors_driver.ts";
import { hexParts } from "../support/hex_pieces.ts";

/** Chunks the check's mailbox is sized for in the vector run (the timed 257-chunk body fits). */
export const CHECK_MAX_CHUNKS = 257;

const seed = (s: string) => sha256(new TextEncoder().encode(s));
export const DEV = keyPair(devUpdateSeed());
export const SECOND = keyPair(seed("cohesix-vector-update-key-2"));
export const UNTRUSTED = keyPair(seed("cohesix-untrusted-update-key"));
/** The trusted keys: the second key first, so picking by kid matters. */
export const TRUSTED: UpdateKeySpec[] = [
  { kid: SECOND.kid, publicKey: SECOND.publicKey },
  { kid: DEV.kid, publicKey: DEV.publicKey },
];

export function payload(n: number, salt: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 131 + salt * 7 + Math.floor(i / 251)) % 256);
}

function pack(epoch: number, secret: string, bytes: Uint8Array, chunkBytes = UVR_CHUNK_BYTES) {
  return packUpdate({ epoch, chunkBytes, secretKey: hexToBytes(secret), files: [{ name: "app.bin", bytes }] });
}

/** A manifest with one byte changed; `fromEnd` counts from the last byte (1 = the last). */
function flip(m: Uint8Array, fromEnd: number): Uint8Array {
  const c = m.slice();
  c[c.length - fromEnd] ^= 0x01;
  return c;
}

// manifest.cbor ends with: body … | 0x44 kid(4) | 0x58 0x40 signature(64).
const SIG_FROM_END = 64;
const KID_FROM_END = 70;
const BODY_LAST_FROM_END = 72;

/** One step: [kind, label, epoch, a, b] (see UpdateVectorRun.uvrStep); hex in pieces. */
export type Step = [string, string, string, string[], string[]];

/** Hex of `b` in pieces of at most 8,000 digits (Porffor keeps a literal whole only under 16 KiB). */
export function steps(): Step[] {
  const valid = pack(1, DEV.secretKey, payload(300, 1));
  const otherKey = pack(5, UNTRUSTED.secretKey, payload(300, 5)).manifest.slice();
  otherKey.set(hexToBytes(DEV.kid), otherKey.length - KID_FROM_END);
  const m = (label: string, epoch: number, manifest: Uint8Array): Step => ["m", label, `${epoch}`, hexParts(manifest), []];
  const names = valid.body.chunks;
  const chunk = (label: string, epoch: number, name: string, bytes: Uint8Array): Step => [
    "c",
    label,
    `${epoch}`,
    [name],
    hexParts(bytes),
  ];
  const tampered = valid.newChunks.get(names[0])!.slice();
  tampered[17] ^= 0x80;
  return [
    m("valid", 1, valid.manifest),
    m("signature-flipped", 2, flip(pack(2, DEV.secretKey, payload(300, 2)).manifest, SIG_FROM_END - 10)),
    m("body-flipped", 3, flip(pack(3, DEV.secretKey, payload(300, 3)).manifest, BODY_LAST_FROM_END)),
    m("untrusted-key", 4, pack(4, UNTRUSTED.secretKey, payload(300, 4)).manifest),
    m("other-key-trusted-kid", 5, otherKey),
    // 300 chunks: within the store's reader (512) but over the check's mailbox (257).
    m("oversize-body", 6, pack(6, DEV.secretKey, payload(300 * UVR_CHUNK_BYTES, 6)).manifest),
    // 600 chunks: over the store's reader; refused before any check.
    m("oversize-manifest", 7, pack(7, DEV.secretKey, payload(600 * UVR_CHUNK_BYTES, 7)).manifest),
    m("valid-second-key", 8, pack(8, SECOND.secretKey, payload(200, 8)).manifest),
    chunk("tampered", 1, names[0], tampered),
    chunk("for-refused-epoch", 4, names[0], valid.newChunks.get(names[0])!),
    ...names.map((n, i) => chunk(`chunk-${i}`, 1, n, valid.newChunks.get(n)!)),
    ["s", "after-chunks", "1", [], []],
    ["s", "untouched", "8", [], []],
  ];
}

/** The 257-chunk manifest the entry times (1 MiB + 10 B at 4096 B chunks, dev key). */
export function benchManifest(): Uint8Array {
  return pack(9, DEV.secretKey, payload((1 << 20) + 10, 9), 4096).manifest;
}

/** The vector lines as the hosted check gives them (same driver, same store, same cap). */
export function hostedUpdateVectorLines(): string {
  const run = new UpdateVectorRun(new HostedUpdateSignatureCheck(TRUSTED, umrBodyCap(CHECK_MAX_CHUNKS, UMR_MAX_FILES)));
  for (const s of steps()) run.uvrStep(...s);
  const w = run.uvrOut;
  if (w.overflow) throw new Error("vector output overflow");
  return new TextDecoder().decode(w.buf.subarray(0, w.len));
}

/**
 * A guest entry: the steps through PlatformUpdateSignatureCheck, between "vectors begin" and
 * "vectors end", then `bench verify chunks=257 …` lines with the platform's time per check.
 */
export function updateVectorEntrySource(): string {
  return `import { PlatformUpdateSignatureCheck } from "./src/guest/updates/platform_signature_check.ts";
import { UpdateManifestReader } from "./src/guest/updates/manifest_reader.ts";
import { ustReason } from "./src/guest/updates/update_store.ts";
import { UpdateVectorRun } from "./tests/native/update_vectors_driver.ts";
import { hexPiecesInto } from "./tests/support/hex_pieces.ts";
const KEYS = ${JSON.stringify(TRUSTED)};
const STEPS = ${JSON.stringify(steps())};
const BENCH = ${JSON.stringify(hexParts(benchManifest()))};
const check = new PlatformUpdateSignatureCheck(KEYS, ${CHECK_MAX_CHUNKS});
const run = new UpdateVectorRun(check);
console.log("vectors begin");
for (let i = 0; i < STEPS.length; i++) {
  const s = STEPS[i];
  run.uvrStep(s[0], s[1], s[2], s[3], s[4]);
  run.uvrPrint();
}
console.log("vectors end");
const reader = new UpdateManifestReader(16384, ${CHECK_MAX_CHUNKS}, 8);
const buf = run.uvrBuf;
const rc = reader.umrRead(buf, hexPiecesInto(BENCH, buf));
const w = run.uvrOut;
for (let i = 0; i < 5; i++) {
  let code = rc;
  if (rc === 0) code = check.uscVerify(buf, reader.umrKidOff, reader.umrBodyOff, reader.umrBodyLen, reader.umrSigOff);
  w.labelUint("bench verify chunks=", reader.umrChunkCount);
  w.labelUint(" body=", reader.umrBodyLen);
  w.ascii(" result=");
  w.ascii(ustReason(code));
  w.labelUint(" micros=", check.pusLastMicros());
  w.byte(10);
  run.uvrPrint();
}
console.log("bench end");
`;
}
