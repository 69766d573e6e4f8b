/**
 * Parity: /updates (UpdateFiles over UpdateStore, the mkdir/rmdir hook, manifest staging across writes,
 * chunk files named on acceptance) gives the same bytes under Deno and compiled by Porffor, booted from
 * configs/full.toml with a small store. Under Deno the hosted check (@noble/ed25519) verifies; under
 * porf the guest's PlatformUpdateSignatureCheck asks the Wasm host through its mailbox. The run: an
 * update to `ready` (a tampered chunk refused on the way), an untrusted manifest refused, bad mkdirs,
 * the chunk read back, rmdir and the store's status after it.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bootConfigFromManifest } from "../../src/codegen/mod.ts";
import type { BootConfig } from "../../src/guest/boot.ts";
import { HostedUpdateSignatureCheck } from "../../src/host/update/signature_check.ts";
import { devUpdateSeed } from "../../src/host/update/manifest.ts";
import { packUpdate } from "../../src/host/update/pack.ts";
import { bundleEntry } from "../../src/host/guest_build/bundle.ts";
import { porfWasm, runWasmPump } from "../../src/host/guest_build/wasm_pump.ts";
import { UpdatesNsRun } from "./updates_ns_driver.ts";
import { payload } from "../support/payload.ts";
import { hexParts } from "../support/hex_pieces.ts";

const boot: BootConfig = await bootConfigFromManifest(new URL("../../configs/full.toml", import.meta.url).pathname);
boot.cas = { ...boot.cas, chunkBytes: 1024, maxBytes: 8 * 1024, maxChunks: 16, maxEpochs: 2 };

type Step = [op: string, path: string, data: string[]];

function steps(): Step[] {
  const p = packUpdate({ epoch: 3, chunkBytes: 1024, secretKey: devUpdateSeed(), files: [{ name: "app.bin", bytes: payload(3000, 7) }] });
  const stranger = packUpdate({ epoch: 4, chunkBytes: 1024, secretKey: new Uint8Array(32).fill(9), files: [{ name: "a", bytes: payload(100, 1) }] });
  const chunks = [...p.newChunks];
  const tampered = chunks[0][1].slice();
  tampered[5] ^= 1;
  return [
    ["read", "/updates/status", []],
    ["mkdir", "/updates/03", []],
    ["mkdir", "/updates/3", []],
    ["mkdir", "/updates/3", []],
    ["read", "/updates/3/status", []],
    ["write", "/updates/3/manifest.cbor", hexParts(p.manifest)],
    ["read", "/updates/3/status", []],
    ["write", `/updates/3/chunks/${chunks[0][0]}`, hexParts(tampered)],
    ...chunks.map(([name, bytes]): Step => ["write", `/updates/3/chunks/${name}`, hexParts(bytes)]),
    ["read", "/updates/3/status", []],
    ["read", `/updates/3/chunks/${chunks[1][0]}`, []],
    ["mkdir", "/updates/4", []],
    ["mkdir", "/updates/5", []],
    ["write", "/updates/4/manifest.cbor", hexParts(stranger.manifest)],
    ["read", "/updates/4/status", []],
    ["read", "/updates/status", []],
    ["remove", "/updates/3", []],
    ["read", "/updates/status", []],
  ];
}

function hostedLines(): string {
  const run = new UpdatesNsRun(structuredClone(boot), new HostedUpdateSignatureCheck(boot.updateKeys));
  for (const [op, path, data] of steps()) run.undStep(op, path, data);
  return new TextDecoder().decode(run.undOut.buf.subarray(0, run.undOut.len));
}

function entrySource(): string {
  return `import { PlatformUpdateSignatureCheck } from "./src/guest/updates/platform_signature_check.ts";
import { UpdatesNsRun } from "./tests/update/updates_ns_driver.ts";
const BOOT = ${JSON.stringify(boot)};
const STEPS = ${JSON.stringify(steps())};
const run = new UpdatesNsRun(BOOT, new PlatformUpdateSignatureCheck(BOOT.updateKeys, BOOT.cas.maxChunks));
console.log("run begin");
for (let i = 0; i < STEPS.length; i++) {
  const s = STEPS[i];
  run.undStep(s[0], s[1], s[2]);
  run.undPrint();
}
console.log("run end");
`;
}

Deno.test("/updates hosted: the run's verdicts (ready after a refused tampered chunk, untrusted refused, rmdir frees)", () => {
  const lines = hostedLines();
  assertStringIncludes(lines, "mkdir /updates/03 -22\nmkdir /updates/3 0\nmkdir /updates/3 -17\n");
  assertStringIncludes(lines, "read /updates/3/status 39\nstate=receiving manifest=none staged=0\n");
  assertStringIncludes(lines, "state=ready chunks=3 have=3 missing=0\n");
  assertStringIncludes(lines, "mkdir /updates/5 -28\n");
  assertStringIncludes(lines, "write /updates/4/manifest.cbor -13\n");
  assertStringIncludes(lines, "reason=untrusted-key\n");
  assertStringIncludes(lines, "remove /updates/3 0\nread /updates/status ");
  assertStringIncludes(lines, "chunk_bytes=1024 slots=8 free=8 epochs=1/2\nepoch=4 state=invalid");
  const tampered = lines.split("\n").find((l) => l.startsWith("write /updates/3/chunks/"));
  assertEquals(tampered?.endsWith(" -22"), true, "the tampered chunk first: EINVAL");
});

Deno.test("/updates under porf (the update check answered through its mailbox) prints the hosted lines byte for byte", async () => {
  const run = await runWasmPump(await porfWasm(await bundleEntry(entrySource())), new Uint8Array());
  const begin = run.printed.indexOf("run begin\n");
  const end = run.printed.indexOf("run end\n");
  assertEquals(begin >= 0 && end > begin, true, run.printed.slice(-600));
  assertEquals(run.printed.slice(begin + "run begin\n".length, end), hostedLines());
});
