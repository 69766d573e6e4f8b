/**
 * /updates (the [cas] provider) over the Namespace API, booted from configs/full.toml with the hosted
 * verifier and the development update key: mkdir of an epoch, the signed manifest in several writes,
 * chunks named by their sha256 to `ready`, re-sends, chunks read back; and every refusal with its errno,
 * the reason in `status` and nothing marked ready (tampered chunk, untrusted key, bad signature, wrong
 * epoch, too big, no verifier, not the queen, bad epoch names, no room for another epoch).
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { bootConfigFromManifest } from "../../src/codegen/mod.ts";
import type { BootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EcosystemProviders } from "../../src/guest/ninedoor/ecosystem.ts";
import { HostedUpdateSignatureCheck } from "../../src/host/update/signature_check.ts";
import { packUpdate, type PackedUpdate } from "../../src/host/update/pack.ts";
import { devUpdateSeed } from "../../src/host/update/manifest.ts";
import { O_RDONLY } from "../../src/secure9p/namespace.ts";
import { EACCES, EEXIST, EINVAL, ENOENT, ENOSPC, EPERM, EROFS } from "../../src/secure9p/errors.ts";
import { NsClient } from "../ninedoor/ns_client.ts";
import { payload } from "../support/payload.ts";

const FULL = await bootConfigFromManifest(new URL("../../configs/full.toml", import.meta.url).pathname);
const DEV = devUpdateSeed();

function hive(tweak?: (b: BootConfig) => void, verified = true) {
  const boot: BootConfig = structuredClone(FULL);
  tweak?.(boot);
  const nd = new NineDoor(boot, null, new EcosystemProviders(verified ? new HostedUpdateSignatureCheck(boot.updateKeys) : null));
  nd.advance(1000);
  return { nd, queen: new NsClient(nd, nd.attach("queen", "")), observer: new NsClient(nd, nd.attach("observer", "")) };
}

function pack(epoch: number, bytes: Uint8Array, secretKey = DEV, base?: PackedUpdate): PackedUpdate {
  return packUpdate({ epoch, chunkBytes: 4096, secretKey, files: [{ name: "app.bin", bytes }], baseManifest: base?.manifest });
}

/** The manifest in writes of at most `piece` bytes (as a 9P client splits it at its iounit). */
function sendManifest(c: NsClient, epoch: number, manifest: Uint8Array, piece = 4000): number {
  const node = c.open(`/updates/${epoch}/manifest.cbor`, 1);
  if (node < 0) return node;
  let last = 0;
  for (let off = 0; off < manifest.length; off += piece) {
    const part = manifest.subarray(off, Math.min(manifest.length, off + piece));
    last = c.ns.write(c.session, node, off, 0, part, 0, part.length);
    if (last < 0) break;
  }
  c.ns.clunk(c.session, node);
  return last;
}

function readBytes(c: NsClient, path: string): Uint8Array {
  const node = c.open(path, O_RDONLY);
  assert(node >= 0, `open ${path}: ${node}`);
  const buf = new Uint8Array(8192);
  const n = c.ns.read(c.session, node, 0, 0, buf, 0, buf.length);
  c.ns.clunk(c.session, node);
  assert(n >= 0, `read ${path}: ${n}`);
  return buf.slice(0, n);
}

Deno.test("/updates: a 1 MiB update goes mkdir → manifest → chunks → ready; re-sends change nothing; chunks read back", () => {
  const { queen } = hive();
  assertEquals(queen.read("/updates/status"), "chunk_bytes=4096 slots=512 free=512 epochs=0/4\n");
  const p = pack(1, payload(1 << 20, 5));
  assertEquals(queen.mkdir("/updates/1"), 0);
  assertEquals(queen.list("/updates/1"), ["manifest.cbor", "status", "chunks"]);
  assertEquals(queen.read("/updates/1/status"), "state=receiving manifest=none staged=0\n");
  assert(p.manifest.length > 8168, "the 1 MiB manifest needs more than one Twrite");
  assertEquals(sendManifest(queen, 1, p.manifest), p.manifest.length % 4000);
  assertMatch(queen.read("/updates/1/status") as string, /^state=receiving chunks=256 have=0 missing=256\n(missing [0-9a-f]{64}\n){64}$/);
  assertEquals((queen.list("/updates/1/chunks") as string[]).length, 256);
  for (const [name, bytes] of p.newChunks) assertEquals(queen.writeBytes(`/updates/1/chunks/${name}`, bytes), 4096);
  assertEquals(queen.read("/updates/1/status"), "state=ready chunks=256 have=256 missing=0\n");
  const [first, bytes] = [...p.newChunks][0];
  assertEquals(queen.writeBytes(`/updates/1/chunks/${first}`, bytes), 4096, "a re-sent chunk is taken again, a no-op");
  assertEquals(readBytes(queen, `/updates/1/chunks/${first}`), bytes);
  assertEquals(readBytes(queen, "/updates/1/manifest.cbor").length, 8192, "the stored manifest reads back");
  assertEquals(sendManifest(queen, 1, p.manifest), p.manifest.length % 4000, "a re-sent manifest is accepted again");
  assertEquals(queen.read("/updates/status"), "chunk_bytes=4096 slots=512 free=256 epochs=1/4\nepoch=1 state=ready chunks=256 have=256 missing=0\n");
});

Deno.test("/updates: a delta reuses its base's chunks; only the changed chunk is missing", () => {
  const { queen } = hive();
  const v1 = payload(64 * 1024, 3);
  const p1 = pack(1, v1);
  queen.mkdir("/updates/1");
  sendManifest(queen, 1, p1.manifest);
  for (const [name, bytes] of p1.newChunks) queen.writeBytes(`/updates/1/chunks/${name}`, bytes);
  const v2 = v1.slice();
  v2[5000] ^= 0xff;
  const p2 = pack(2, v2, DEV, p1);
  assertEquals(p2.newChunks.size, 1);
  queen.mkdir("/updates/2");
  sendManifest(queen, 2, p2.manifest);
  const [name] = p2.newChunks.keys();
  assertEquals(queen.read("/updates/2/status"), `state=receiving chunks=16 have=15 missing=1\nmissing ${name}\n`);
  queen.writeBytes(`/updates/2/chunks/${name}`, p2.newChunks.get(name)!);
  assertEquals(queen.read("/updates/2/status"), "state=ready chunks=16 have=16 missing=0\n");
});

Deno.test("/updates: a tampered chunk is refused (EINVAL) and stored nowhere; nothing is ready", () => {
  const { queen } = hive();
  const p = pack(7, payload(3 * 4096, 11));
  queen.mkdir("/updates/7");
  sendManifest(queen, 7, p.manifest);
  const [name, bytes] = [...p.newChunks][0];
  const bad = bytes.slice();
  bad[17] ^= 1;
  assertEquals(queen.writeBytes(`/updates/7/chunks/${name}`, bad), -EINVAL);
  assertEquals(queen.writeBytes(`/updates/7/chunks/${name}`, bytes.subarray(0, 4000)), -EINVAL, "a short chunk");
  assertEquals(queen.writeBytes(`/updates/7/chunks/${"ab".repeat(32)}`, bytes), -ENOENT, "a chunk the manifest does not name");
  assertEquals(readBytes(queen, `/updates/7/chunks/${name}`).length, 0);
  assertMatch(queen.read("/updates/7/status") as string, /^state=receiving chunks=3 have=0 missing=3\n/);
});

Deno.test("/updates: untrusted key, bad signature, wrong epoch and no verifier are refused with the reason; no chunk files", () => {
  const { queen } = hive();
  const stranger = pack(3, payload(8192, 1), Uint8Array.from({ length: 32 }, () => 9));
  queen.mkdir("/updates/3");
  assertEquals(sendManifest(queen, 3, stranger.manifest), -EACCES);
  assertEquals(queen.read("/updates/3/status"), "state=invalid chunks=0 have=0 missing=0 reason=untrusted-key\n");
  assertEquals(queen.list("/updates/3/chunks"), []);

  const good = pack(4, payload(8192, 2));
  const forged = good.manifest.slice();
  forged[forged.length - 1] ^= 1; // the last signature byte
  queen.mkdir("/updates/4");
  assertEquals(sendManifest(queen, 4, forged), -EACCES);
  assertEquals(queen.read("/updates/4/status"), "state=invalid chunks=0 have=0 missing=0 reason=bad-signature\n");
  // The valid manifest afterwards is read afresh and accepted.
  assertEquals(sendManifest(queen, 4, good.manifest), good.manifest.length);
  assertMatch(queen.read("/updates/4/status") as string, /^state=receiving chunks=2 have=0 missing=2\n/);

  queen.mkdir("/updates/5");
  assertEquals(sendManifest(queen, 5, good.manifest), -EINVAL, "the manifest is for epoch 4");
  assertEquals(queen.read("/updates/5/status"), "state=invalid chunks=0 have=0 missing=0 reason=epoch-mismatch\n");

  const bare = hive(undefined, false).queen;
  bare.mkdir("/updates/4");
  assertEquals(sendManifest(bare, 4, good.manifest), -EACCES);
  assertEquals(bare.read("/updates/4/status"), "state=invalid chunks=0 have=0 missing=0 reason=no-verifier\n");
});

Deno.test("/updates: an update that does not fit is refused before any chunk; the store is unchanged", () => {
  const { queen } = hive((b) => (b.cas.maxBytes = 16 * 4096));
  const p = pack(1, payload(17 * 4096, 4));
  queen.mkdir("/updates/1");
  assertEquals(sendManifest(queen, 1, p.manifest), -ENOSPC);
  assertEquals(queen.read("/updates/1/status"), "state=invalid chunks=0 have=0 missing=0 reason=too-big\n");
  assertEquals(queen.read("/updates/status"), "chunk_bytes=4096 slots=16 free=16 epochs=1/4\nepoch=1 state=invalid chunks=0 have=0 missing=0 reason=too-big\n");
});

Deno.test("/updates: mkdir takes canonical epochs only, from the queen, once, while an epoch slot is free", () => {
  const { queen, observer } = hive();
  for (const bad of ["0", "007", "-1", "1a", "99999999999", "4294967296", ""]) {
    assertEquals(queen.mkdir(`/updates/${bad}`), -EINVAL, `mkdir ${JSON.stringify(bad)}`);
  }
  assertEquals(observer.mkdir("/updates/1"), -EPERM);
  assertEquals(queen.mkdir("/proc/x"), -EROFS, "no other directory takes mkdir");
  for (const e of [1, 2, 3, 4]) assertEquals(queen.mkdir(`/updates/${e}`), 0);
  assertEquals(queen.mkdir("/updates/2"), -EEXIST);
  assertEquals(queen.mkdir("/updates/5"), -ENOSPC);
  assertEquals(queen.list("/updates"), ["status", "1", "2", "3", "4"]);
  assertEquals(observer.write("/updates/1/manifest.cbor", "x"), -EPERM);
});

Deno.test("/updates: a manifest half-staged by a dropped session is restarted by the next writer", () => {
  const { nd, queen } = hive();
  const p = pack(1, payload(64 * 1024, 8));
  queen.mkdir("/updates/1");
  const half = new NsClient(nd, nd.attach("queen", ""));
  const node = half.open("/updates/1/manifest.cbor", 1);
  assertEquals(half.ns.write(half.session, node, 0, 0, p.manifest, 0, 100), 100);
  nd.detach(half.session);
  assertEquals(queen.read("/updates/1/status"), "state=receiving manifest=none staged=100\n");
  assertEquals(sendManifest(queen, 1, p.manifest), p.manifest.length);
  assertMatch(queen.read("/updates/1/status") as string, /^state=receiving chunks=16 have=0 missing=16\n/);
});

Deno.test("/updates: rmdir drops an epoch and frees the chunks no other epoch lists; a delta keeps its shared ones", () => {
  const { queen, observer } = hive();
  const v1 = payload(64 * 1024, 3);
  const p1 = pack(1, v1);
  queen.mkdir("/updates/1");
  sendManifest(queen, 1, p1.manifest);
  for (const [name, bytes] of p1.newChunks) queen.writeBytes(`/updates/1/chunks/${name}`, bytes);
  const v2 = v1.slice();
  v2[5000] ^= 0xff;
  const p2 = pack(2, v2, DEV, p1);
  queen.mkdir("/updates/2");
  sendManifest(queen, 2, p2.manifest);
  for (const [name, bytes] of p2.newChunks) queen.writeBytes(`/updates/2/chunks/${name}`, bytes);
  assertEquals((queen.read("/updates/status") as string).split("\n")[0], "chunk_bytes=4096 slots=512 free=495 epochs=2/4");
  assertEquals(observer.remove("/updates/1"), -EPERM);
  assertEquals(queen.remove("/updates/1/status"), -EROFS, "files inside an epoch are not removed one by one");
  assertEquals(queen.remove("/proc"), -EROFS);
  assertEquals(queen.remove("/updates/1"), 0);
  // Epoch 1's one chunk that epoch 2 does not list is free; the 15 shared ones stay with epoch 2.
  assertEquals(queen.read("/updates/status"), "chunk_bytes=4096 slots=512 free=496 epochs=1/4\nepoch=2 state=ready chunks=16 have=16 missing=0\n");
  assertEquals(queen.list("/updates"), ["status", "2"]);
  assertEquals(queen.read("/updates/1/status"), -ENOENT);
  assertEquals(queen.remove("/updates/2"), 0);
  assertEquals(queen.read("/updates/status"), "chunk_bytes=4096 slots=512 free=512 epochs=0/4\n");
  // The epoch can be opened again, afresh.
  assertEquals(queen.mkdir("/updates/1"), 0);
  assertEquals(queen.read("/updates/1/status"), "state=receiving manifest=none staged=0\n");
});

Deno.test("/updates is absent when [cas] is off", () => {
  const { queen } = hive((b) => (b.cas.enable = false));
  assertEquals(queen.read("/updates/status"), -ENOENT);
  assertEquals(queen.mkdir("/updates/1"), -ENOENT);
});
