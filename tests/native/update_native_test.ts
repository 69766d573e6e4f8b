/**
 * Signed updates on the seL4 guest itself: configs/root_task.toml with `[cas]` on (and nothing else
 * of the extension, so /updates is linked alone) compiled natively, booted in QEMU with its NIC, and
 * driven by `cohesix update push` over the guest's Secure9P: a 1 MiB update `ready` (its manifest
 * verified by libsodium through the update mailbox), re-pushed with nothing sent, a tampered chunk
 * and an untrusted key refused with the reason, the stored chunks of a second update read back byte
 * for byte (store slots past 1 MiB), the epochs dropped. One boot serves the file.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bootConfigValue, compileManifestText } from "../../src/codegen/mod.ts";
import { manifestEntrySource } from "../../src/host/guest_build/bundle.ts";
import { cachedBuildGuest } from "../../src/host/guest_build/cache.ts";
import { REPO_ROOT } from "../../src/host/guest_build/tools.ts";
import { GUEST_CACHE, linkImage, sel4Export } from "./builds.ts";
import { assertNoTrap, type NetGuest, startNetGuest } from "./net_support.ts";
import { payload } from "../support/payload.ts";
import { HiveLink } from "../../src/host/cli/hive_link.ts";
import { join } from "node:path";

const COHESIX = join(REPO_ROOT, "cohesix");
const DEV_UPDATE_KEY = "6d6cd7d0f908b9a031c480aec196542419cd07668ea7b40b4390a061908a490e";
const work = Deno.makeTempDirSync({ prefix: "cohesix-update-native-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));

/** configs/root_task.toml with [cas] on: room for one 1 MiB update and a small one (257 + 3 chunks). */
export function casManifest(): string {
  const text = Deno.readTextFileSync(join(REPO_ROOT, "configs", "root_task.toml"));
  const out = text.replace(
    "[cas]\nenable = false\n",
    `[cas]\nenable = true\nupdate_keys = [{ issuer = "dev-update", public_key = "${DEV_UPDATE_KEY}" }]\n\n` +
      "[cas.store]\nchunk_bytes = 4096\nmax_bytes = 1064960\nmax_epochs = 2\nmax_chunks = 300\n",
  );
  assert(out !== text, "configs/root_task.toml has a [cas] section that is off");
  return out;
}

async function cohesix(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(COHESIX, { args, stdout: "piped", stderr: "piped", env: { NO_COLOR: "1" } }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function pack(epoch: number, bytes: Uint8Array, keygen: string[]): Promise<string> {
  const key = join(work, `key-${epoch}.json`);
  const file = join(work, `app-${epoch}.bin`);
  await Deno.writeFile(file, bytes);
  assertEquals((await cohesix(["update", "keygen", ...keygen, "--out", key])).code, 0);
  const out = join(work, `update-${epoch}`);
  const r = await cohesix(["update", "pack", "--key", key, "--epoch", String(epoch), "--out", out, file]);
  assertEquals(r.code, 0, r.stderr);
  return out;
}

let booted: Promise<NetGuest> | undefined;
function guest(): Promise<NetGuest> {
  booted ??= (async () => {
    const boot = bootConfigValue(compileManifestText(casManifest(), "root_task-cas.toml"));
    const r = await cachedBuildGuest({ entrySource: manifestEntrySource(boot), sel4Sdk: await sel4Export(), root: GUEST_CACHE });
    console.log(`[cas] guest: rootserver ${r.sizes["rootserver.elf"]} B`);
    const image = join(work, "cas.elf");
    await linkImage(r.elf, image);
    return startNetGuest(image, { console: 0, ninep: 0 });
  })();
  return booted;
}
const test = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

test("seL4: a 1 MiB update pushed over the guest's Secure9P is verified natively and ready; a second push sends nothing", async () => {
  const g = await guest();
  const dir = await pack(1, payload(1 << 20, 11), ["--dev"]);
  const hive = `127.0.0.1:${g.ninepPort}`;
  const first = await cohesix(["update", "push", dir, "--hive", hive, "--json"]);
  assertEquals(first.code, 0, first.stderr + g.serial().slice(-1500));
  const r = JSON.parse(first.stdout);
  assertEquals([r.state, r.chunks, r.sentChunks, r.skippedChunks], ["ready", 256, 256, 0]);
  console.log(`seL4 push: ${r.sentChunkBytes + r.sentManifestBytes} B in ${r.ms.toFixed(0)} ms (${r.mbps} MB/s), ${r.rounds} rounds`);
  const again = JSON.parse((await cohesix(["update", "push", dir, "--hive", hive, "--json"])).stdout);
  assertEquals([again.state, again.sentChunks, again.skippedChunks], ["ready", 0, 256]);
  const st = await cohesix(["update", "status", "--hive", hive]);
  assertEquals(st.stdout, "chunk_bytes=4096 slots=260 free=4 epochs=1/2\nepoch=1 state=ready chunks=256 have=256 missing=0\n");
  assertNoTrap(g.serial());
});

test("seL4: a tampered chunk and an untrusted key are refused with the reason; stored chunks read back; drop frees the store", async () => {
  const g = await guest();
  const hive = `127.0.0.1:${g.ninepPort}`;
  const stranger = await pack(2, payload(8192, 12), ["--seed", "09".repeat(32)]);
  const u = await cohesix(["update", "push", stranger, "--hive", hive, "--json"]);
  assertEquals(u.code, 1, u.stderr);
  const doc = JSON.parse(u.stdout);
  assertEquals([doc.state, doc.reason, doc.sentChunks], ["invalid", "untrusted-key", 0]);
  assertEquals((await cohesix(["update", "drop", "--epoch", "2", "--hive", hive])).code, 0);

  const tampered = await pack(3, payload(3 * 4096, 13), ["--dev"]);
  const [chunk] = [...Deno.readDirSync(join(tampered, "chunks"))].map((e) => e.name).sort();
  const bytes = Deno.readFileSync(join(tampered, "chunks", chunk));
  bytes[1] ^= 1;
  Deno.writeFileSync(join(tampered, "chunks", chunk), bytes);
  const t = await cohesix(["update", "push", tampered, "--hive", hive]);
  assertEquals(t.code, 1);
  assertStringIncludes(t.stderr, `the hive refused chunk ${chunk}: write failed: EINVAL`);
  const st = await cohesix(["update", "status", "--hive", hive, "--epoch", "3", "--json"]);
  const s3 = JSON.parse(st.stdout);
  assertEquals([s3.state, s3.missingNames.includes(chunk)], ["receiving", true]);
  // The chunks that were taken sit in store slots past 1 MiB (the 1 MiB update holds the first 256):
  // each reads back byte for byte from the guest.
  const link = await HiveLink.open({ host: "127.0.0.1", port: g.ninepPort });
  try {
    for (const name of [...Deno.readDirSync(join(tampered, "chunks"))].map((e) => e.name).filter((n) => n !== chunk)) {
      assertEquals(await link.readFrom(`/updates/3/chunks/${name}`, 0), Deno.readFileSync(join(tampered, "chunks", name)), name);
    }
  } finally {
    link.close();
  }
  assertEquals((await cohesix(["update", "drop", "--epoch", "3", "--hive", hive])).code, 0);
  assertEquals((await cohesix(["update", "drop", "--epoch", "1", "--hive", hive])).code, 0);
  assertEquals((await cohesix(["update", "status", "--hive", hive])).stdout, "chunk_bytes=4096 slots=260 free=260 epochs=0/2\n");
  assertNoTrap(g.serial());
  await g.stop();
});
