/**
 * The guest's SHA-256 (src/guest/lib/sha256.ts) against WebCrypto: every length 0..300 (all the
 * padding cases: 55, 56, 63, 64 bytes) and multi-block inputs of varied bytes, hosted under Deno and
 * compiled by Porffor (`porf`), where bit operations on 32-bit values would break.
 */
import { assertEquals } from "../support/assert.ts";
import { bundleEsm, runPorf } from "../support/porf.ts";
import { Sha256 } from "../../src/guest/lib/sha256.ts";
import { shardLabel } from "../../src/guest/ninedoor/shard.ts";

const ROOT = new URL("../../", import.meta.url);

/** Deterministic test bytes: input `n` of length `len`. */
function input(n: number, len: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(len);
  let x = (n * 31 + 7) % 65537;
  for (let i = 0; i < len; i++) {
    x = (x * 75 + 74) % 65537;
    b[i] = x % 256;
  }
  return b;
}

const LENGTHS = [...Array(301).keys(), 447, 448, 511, 512, 1000, 4096];

async function webcrypto(b: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b));
  return [...d].map((v) => v.toString(16).padStart(2, "0")).join("");
}

function ours(b: Uint8Array): string {
  const out = new Uint8Array(32);
  new Sha256().digest(b, 0, b.length, out, 0);
  return [...out].map((v) => v.toString(16).padStart(2, "0")).join("");
}

Deno.test("Sha256.digest equals WebCrypto on every length 0..300 and multi-block inputs", async () => {
  for (const len of LENGTHS) {
    const b = input(len, len);
    assertEquals(ours(b), await webcrypto(b), `length ${len}`);
  }
  assertEquals(ours(new TextEncoder().encode("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

Deno.test("shardLabel is the first byte of sha256(id) as two hex digits, shifted for fewer shard bits", () => {
  // Reference examples (namespace.md §1): worker-1 -> 13, worker-2 -> 1c.
  assertEquals(shardLabel("worker-1", 8), "13");
  assertEquals(shardLabel("worker-2", 8), "1c");
  assertEquals(shardLabel("worker-1", 4), "01");
  assertEquals(shardLabel("worker-2", 1), "00");
});

Deno.test("Sha256 under porf gives WebCrypto's digests byte for byte", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sha256-porf-" });
  try {
    const entry = `${dir}/entry.ts`;
    const cases = LENGTHS.filter((l) => l % 7 === 0 || l >= 54 && l <= 66 || l > 300);
    await Deno.writeTextFile(
      entry,
      `import { Sha256 } from "${new URL("src/guest/lib/sha256.ts", ROOT).pathname}";
import { shardLabel } from "${new URL("src/guest/ninedoor/shard.ts", ROOT).pathname}";
const H = new Sha256();
const OUT = new Uint8Array(new ArrayBuffer(32));
const HEX = "0123456789abcdef";
const LENS = [${cases.join(",")}];
for (let c = 0; c < LENS.length; c++) {
  const len = LENS[c];
  const b = new Uint8Array(new ArrayBuffer(len + 1));
  let x = (len * 31 + 7) % 65537;
  for (let i = 0; i < len; i++) {
    x = (x * 75 + 74) % 65537;
    b[i] = x % 256;
  }
  H.digest(b, 0, len, OUT, 0);
  let s = "";
  for (let i = 0; i < 32; i++) {
    s += HEX.charAt(Math.floor(OUT[i] / 16));
    s += HEX.charAt(OUT[i] % 16);
  }
  console.log(s);
}
for (let i = 1; i <= 20; i++) console.log(shardLabel("worker-" + i, 8));
`,
    );
    const bundle = `${dir}/bundle.js`;
    await bundleEsm(entry, bundle);
    const got = (await runPorf(bundle)).trim().split("\n");
    const want: string[] = [];
    for (const len of cases) want.push(await webcrypto(input(len, len)));
    for (let i = 1; i <= 20; i++) want.push((await webcrypto(new TextEncoder().encode(`worker-${i}`))).slice(0, 2));
    assertEquals(got, want);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
