/**
 * The hive's update store (state behind /updates/<epoch>/): a 1 MiB update received chunk by chunk to
 * `ready`, idempotent re-sends, tampered chunks and untrusted manifests refused with the reason and
 * nothing ready, room refused before any chunk is stored, delta reuse of the base epoch's chunks.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { hexToBytes } from "@noble/hashes/utils.js";
import { ByteWriter } from "../../src/guest/lib/bytes.ts";
import {
  UST_HASH_MISMATCH,
  UST_MISSING_BASE,
  UST_WRONG_EPOCH,
  UST_NO_MANIFEST,
  UST_NO_ROOM,
  UST_OK,
  UST_UNKNOWN_CHUNK,
  UST_UNTRUSTED,
  UpdateStore,
} from "../../src/guest/updates/update_store.ts";
import { HostedUpdateSignatureCheck } from "../../src/host/update/signature_check.ts";
import { packUpdate } from "../../src/host/update/pack.ts";
import { keyPair } from "../../src/host/ticket/codec.ts";
import { payload } from "../support/payload.ts";

const SECRET = Uint8Array.from({ length: 32 }, () => 0x33);
const PAIR = keyPair(SECRET);
const TRUSTED = new HostedUpdateSignatureCheck([{ kid: PAIR.kid, publicKey: PAIR.publicKey }]);
const dec = new TextDecoder();

function status(s: UpdateStore, epoch: number): string {
  const w = new ByteWriter(64 * 1024);
  assert(s.ustStatus(epoch, w, 4), `no status for epoch ${epoch}`);
  return dec.decode(w.buf.subarray(0, w.len));
}

function send(s: UpdateStore, epoch: number, name: string, bytes: Uint8Array): number {
  return s.ustChunk(epoch, hexToBytes(name), 0, bytes, 0, bytes.length);
}

Deno.test("update store: a 1 MiB update goes receiving → ready chunk by chunk; re-sent chunks change nothing", () => {
  const packed = packUpdate({ epoch: 1, chunkBytes: 4096, secretKey: SECRET, files: [{ name: "app.bin", bytes: payload(1 << 20, 5) }] });
  const s = new UpdateStore(2 << 20, 4096, 512, 4, TRUSTED);
  assertEquals(s.ustManifest(1, packed.manifest, packed.manifest.length), UST_OK);
  assertMatch(status(s, 1), /^state=receiving chunks=256 have=0 missing=256\nmissing [0-9a-f]{64}\n/);
  const names = [...packed.newChunks.keys()];
  for (const n of names.slice(0, 128)) assertEquals(send(s, 1, n, packed.newChunks.get(n)!), 4096);
  assertEquals(send(s, 1, names[0], packed.newChunks.get(names[0])!), 4096); // idempotent
  assertMatch(status(s, 1), /^state=receiving chunks=256 have=128 missing=128\n/);
  for (const n of names.slice(128)) assertEquals(send(s, 1, n, packed.newChunks.get(n)!), 4096);
  assertEquals(status(s, 1), "state=ready chunks=256 have=256 missing=0\n");
  assertEquals(s.ustManifest(1, packed.manifest, packed.manifest.length), UST_OK); // re-sent manifest
});

Deno.test("update store: a tampered chunk, an unknown chunk and an untrusted-key manifest are refused; nothing is ready", () => {
  const packed = packUpdate({ epoch: 2, chunkBytes: 1024, secretKey: SECRET, files: [{ name: "a", bytes: payload(3000, 9) }] });
  const s = new UpdateStore(64 * 1024, 1024, 64, 4, TRUSTED);
  assertEquals(s.ustManifest(2, packed.manifest, packed.manifest.length), UST_OK);
  const [name] = packed.newChunks.keys();
  const bad = packed.newChunks.get(name)!.slice();
  bad[100] ^= 1;
  assertEquals(send(s, 2, name, bad), UST_HASH_MISMATCH);
  assertEquals(send(s, 2, "ab".repeat(32), bad), UST_UNKNOWN_CHUNK);
  assertMatch(status(s, 2), /^state=receiving chunks=3 have=0 missing=3\n/);

  const other = packUpdate({ epoch: 3, chunkBytes: 1024, secretKey: Uint8Array.from({ length: 32 }, () => 9), files: [{ name: "a", bytes: payload(3000, 9) }] });
  assertEquals(s.ustManifest(3, other.manifest, other.manifest.length), UST_UNTRUSTED);
  assertEquals(status(s, 3), "state=invalid chunks=0 have=0 missing=0 reason=untrusted-key\n");
  assertEquals(send(s, 3, name, packed.newChunks.get(name)!), UST_NO_MANIFEST);
  const flipped = packed.manifest.slice();
  flipped[flipped.length - 1] ^= 1;
  assertEquals(s.ustManifest(4, flipped, flipped.length), UST_WRONG_EPOCH); // epoch in the path must match the manifest
  const e2 = packUpdate({ epoch: 4, chunkBytes: 1024, secretKey: SECRET, files: [{ name: "a", bytes: payload(10, 1) }] });
  const sigFlip = e2.manifest.slice();
  sigFlip[sigFlip.length - 1] ^= 1;
  s.ustManifest(4, sigFlip, sigFlip.length);
  assertEquals(status(s, 4), "state=invalid chunks=0 have=0 missing=0 reason=bad-signature\n");
});

Deno.test("update store: an update that does not fit is refused before any chunk is stored", () => {
  const packed = packUpdate({ epoch: 1, chunkBytes: 1024, secretKey: SECRET, files: [{ name: "a", bytes: payload(8 * 1024, 3) }] });
  const s = new UpdateStore(7 * 1024, 1024, 64, 4, TRUSTED);
  assertEquals(s.ustManifest(1, packed.manifest, packed.manifest.length), UST_NO_ROOM);
  assertEquals(status(s, 1), "state=invalid chunks=0 have=0 missing=0 reason=too-big\n");
  assertEquals(s.ustFreeSlots(), 7);
  const [name] = packed.newChunks.keys();
  assertEquals(send(s, 1, name, packed.newChunks.get(name)!), UST_NO_MANIFEST);
});

Deno.test("update store: a delta reuses the base epoch's chunks and waits only for the changed one", () => {
  const v1 = payload(16 * 1024, 4);
  const base = packUpdate({ epoch: 1, chunkBytes: 1024, secretKey: SECRET, files: [{ name: "a", bytes: v1 }] });
  const v2 = v1.slice();
  v2[5000] ^= 0xff;
  const delta = packUpdate({ epoch: 2, chunkBytes: 1024, secretKey: SECRET, files: [{ name: "a", bytes: v2 }], baseManifest: base.manifest });
  assertEquals([delta.newChunks.size, delta.reusedChunks], [1, 15]);
  const s = new UpdateStore(17 * 1024, 1024, 64, 4, TRUSTED);
  // The delta before its base is ready: refused.
  assertEquals(s.ustManifest(2, delta.manifest, delta.manifest.length), UST_MISSING_BASE);
  const t = new UpdateStore(17 * 1024, 1024, 64, 4, TRUSTED);
  assertEquals(t.ustManifest(1, base.manifest, base.manifest.length), UST_OK);
  for (const [n, c] of base.newChunks) assertEquals(send(t, 1, n, c), 1024);
  assertEquals(t.ustManifest(2, delta.manifest, delta.manifest.length), UST_OK); // 16 + 1 slots fit 17
  assertMatch(status(t, 2), /^state=receiving chunks=16 have=15 missing=1\n/);
  const [n] = delta.newChunks.keys();
  assertEquals(send(t, 2, n, delta.newChunks.get(n)!), 1024);
  assertEquals(status(t, 2), "state=ready chunks=16 have=16 missing=0\n");
});

Deno.test("update store: 1,000 random chunk corruptions are all refused and nothing becomes ready", () => {
  const packed = packUpdate({ epoch: 1, chunkBytes: 512, secretKey: SECRET, files: [{ name: "a", bytes: payload(4096, 8) }] });
  const s = new UpdateStore(8 * 1024, 512, 64, 2, TRUSTED);
  assertEquals(s.ustManifest(1, packed.manifest, packed.manifest.length), UST_OK);
  const names = [...packed.newChunks.keys()];
  let x = 77;
  const rnd = (m: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return Math.floor(x / 256) % m;
  };
  for (let i = 0; i < 1000; i++) {
    const name = names[rnd(names.length)];
    const c = packed.newChunks.get(name)!.slice();
    const kind = i % 3;
    let bad = c;
    if (kind === 0) bad[rnd(c.length)] ^= 1 + rnd(255);
    else if (kind === 1) bad = c.subarray(0, rnd(c.length));
    else bad = Uint8Array.from([...c, rnd(256)]);
    const r = send(s, 1, name, bad);
    assert(r < 0, `corruption ${i} accepted`);
  }
  assertMatch(status(s, 1), /^state=receiving chunks=8 have=0 missing=8\n/);
});
