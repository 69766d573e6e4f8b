/** `cohesix update keygen|pack`: deterministic signed packs, delta reuse, and refusals without partial output. */
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes, assertThrows } from "../support/assert.ts";
import { updateCommand } from "../../src/host/update/command.ts";
import { UsageError } from "../../src/host/cli/command.ts";
import { chunkName, decodeManifest, ManifestError, verifyManifest } from "../../src/host/update/manifest.ts";
import { keyPair } from "../../src/host/ticket/codec.ts";

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  try {
    return { code: await updateCommand.run(argv), out: out.join("\n") };
  } finally {
    console.log = log;
  }
}

/** A deterministic pseudo-random payload (xorshift), so the test needs no fixtures. */
function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

const SEED = "11".repeat(32);

async function rejectsUsage(fn: () => Promise<unknown>, text: string): Promise<void> {
  const err = await assertRejects(fn);
  assert(err instanceof UsageError, `expected a UsageError, got ${err}`);
  assertStringIncludes(err.message, text);
}

async function setup() {
  const dir = await Deno.makeTempDir();
  const key = `${dir}/key.json`;
  assertEquals((await run(["keygen", "--seed", SEED, "--out", key])).code, 0);
  const app = `${dir}/app.bin`;
  await Deno.writeFile(app, payload(1 << 20, 7));
  const cfg = `${dir}/cfg.txt`;
  await Deno.writeTextFile(cfg, "mode=fast\n");
  return { dir, key, app, cfg };
}

Deno.test("update pack: a 1 MiB update is chunked by sha256, signed, and byte-identical when packed twice", async () => {
  const { dir, key, app, cfg } = await setup();
  try {
    const a = await run(["pack", "--key", key, "--epoch", "5", "--out", `${dir}/a`, app, cfg]);
    const b = await run(["pack", "--key", key, "--epoch", "5", "--out", `${dir}/b`, app, cfg]);
    assertEquals(a.code, 0);
    assertMatch(a.out, /^packed epoch=5 bytes=1048586 chunks=257 new=257 reused=0 base=0 /);
    const ma = await Deno.readFile(`${dir}/a/manifest.cbor`);
    assertEquals(ma, await Deno.readFile(`${dir}/b/manifest.cbor`));
    const names = await listDir(`${dir}/a/chunks`);
    assertEquals(names, await listDir(`${dir}/b/chunks`));
    assertEquals(names.length, 257);
    let total = 0;
    for (const n of names) {
      const c = await Deno.readFile(`${dir}/a/chunks/${n}`);
      assertEquals(c, await Deno.readFile(`${dir}/b/chunks/${n}`));
      assertEquals(chunkName(c), n);
      total += c.length;
    }
    assertEquals(total, 1048586);
    const pair = keyPair(Uint8Array.from({ length: 32 }, () => 0x11));
    const m = verifyManifest(ma, [{ kid: pair.kid, publicKey: pair.publicKey }]);
    assertEquals(m.body.files, [{ name: "app.bin", size: 1 << 20 }, { name: "cfg.txt", size: 10 }]);
    assertEquals(m.body.chunkBytes, 4096);
    assertEquals(new Set(m.body.chunks), new Set(names));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("update manifest: an untrusted key, a flipped signature bit and a changed body are refused with distinct reasons", async () => {
  const { dir, key, cfg } = await setup();
  try {
    assertEquals((await run(["pack", "--key", key, "--epoch", "1", "--out", `${dir}/u`, cfg])).code, 0);
    const raw = await Deno.readFile(`${dir}/u/manifest.cbor`);
    const trusted = keyPair(Uint8Array.from({ length: 32 }, () => 0x11));
    const other = keyPair(Uint8Array.from({ length: 32 }, () => 0x22));
    const reason = (bytes: Uint8Array, keys = [trusted]) => {
      try {
        verifyManifest(bytes, keys);
        return "accepted";
      } catch (err) {
        assert(err instanceof ManifestError, String(err));
        return err.reason;
      }
    };
    assertEquals(reason(raw), "accepted");
    assertEquals(reason(raw, [other]), "untrusted-key");
    const sigFlip = raw.slice();
    sigFlip[sigFlip.length - 1] ^= 1;
    assertEquals(reason(sigFlip), "bad-signature");
    // The epoch byte sits inside the signed body: change it and the signature no longer covers the bytes.
    const m = decodeManifest(raw);
    const bodyAt = raw.indexOf(m.bodyBytes[0], 1);
    const bodyFlip = raw.slice();
    bodyFlip[bodyAt + 2] = 2; // [0x87, 0x01, epoch=0x01] → epoch 2
    assertEquals(reason(bodyFlip), "bad-signature");
    assertEquals(reason(raw.subarray(0, raw.length - 3)), "malformed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("update pack --base: a delta lists every chunk but writes only the changed ones", async () => {
  const { dir, key, app } = await setup();
  try {
    assertEquals((await run(["pack", "--key", key, "--epoch", "1", "--out", `${dir}/v1`, app])).code, 0);
    const changed = await Deno.readFile(app);
    changed[5000] ^= 0xff; // inside chunk 1 of 256
    await Deno.writeFile(app, changed);
    const d = await run(["pack", "--key", key, "--epoch", "2", "--base", `${dir}/v1`, "--out", `${dir}/v2`, app]);
    assertEquals(d.code, 0);
    assertMatch(d.out, /chunks=256 new=1 reused=255 base=1 /);
    assertEquals((await listDir(`${dir}/v2/chunks`)).length, 1);
    const m = decodeManifest(await Deno.readFile(`${dir}/v2/manifest.cbor`));
    assertEquals(m.body.baseEpoch, 1);
    assertEquals(m.body.chunks.length, 256);
    await rejectsUsage(
      () => run(["pack", "--key", key, "--epoch", "1", "--base", `${dir}/v2`, "--out", `${dir}/v0`, app]),
      "base epoch 2 must be below --epoch 1",
    );
    assertEquals(await listDir(dir), ["app.bin", "cfg.txt", "key.json", "v1", "v2"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("update pack refuses bad input with a usage error and leaves no output behind", async () => {
  const { dir, key, cfg } = await setup();
  try {
    const cases: [string[], string][] = [
      [["pack", "--epoch", "1", "--out", `${dir}/o`, cfg], "pack needs --key FILE"],
      [["pack", "--key", key, "--epoch", "0", "--out", `${dir}/o`, cfg], "--epoch must be an integer 1..2147483647"],
      [["pack", "--key", key, "--epoch", "x", "--out", `${dir}/o`, cfg], "--epoch must be an integer"],
      [["pack", "--key", key, "--epoch", "1", "--out", `${dir}/o`], "pack needs at least one FILE"],
      [["pack", "--key", key, "--epoch", "1", "--out", `${dir}/o`, `${dir}/missing`], "Cannot read input"],
      [["pack", "--key", cfg, "--epoch", "1", "--out", `${dir}/o`, cfg], "Cannot read key file"],
      [["pack", "--key", key, "--epoch", "1", "--out", `${dir}/o`, cfg, cfg], "share the file name 'cfg.txt'"],
      [["pack", "--key", key, "--epoch", "1", "--out", dir, cfg], "already exists"],
      [["keygen", "--seed", "zz"], "--seed must be 64 lowercase hex digits"],
      [["frob"], "unknown subcommand 'frob'"],
    ];
    for (const [argv, message] of cases) await rejectsUsage(() => run(argv), message);
    assertEquals(await listDir(dir), ["app.bin", "cfg.txt", "key.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("update keygen --dev derives the development key from sha256('cohesix-dev-update-key') every time", async () => {
  const a = await run(["keygen", "--dev", "--json"]);
  const b = await run(["keygen", "--dev", "--json"]);
  assertEquals(a.out, b.out);
  const k = JSON.parse(a.out);
  assertMatch(k.kid, /^[0-9a-f]{8}$/);
  // Computed independently: `printf cohesix-dev-update-key | sha256sum`.
  assertEquals(k.secretKey, "43e48129b642baa033bf95327d0049c98bed2d126c57d23420da082ba68de3cb");
  const err = assertThrows(() => decodeManifest(new Uint8Array([0xa0])), /outer is not/);
  assert(err instanceof ManifestError && err.reason === "malformed");
});
