/**
 * The update store's chunk slab holds every slot's bytes under Porffor as under Deno. One typed array
 * over ~1 MiB reads and writes the wrong bytes under Porffor (found pushing a second update after a
 * 1 MiB one to the seL4 guest: slots from 256 on); the store keeps its slab in 64 KiB segments. This
 * fills slots across the old 1 MiB line of a 1 MiB + 16 KiB store and reads each back, in both runs.
 */
import { assertEquals } from "../support/assert.ts";
import { bundleEntry } from "../../src/host/guest_build/bundle.ts";
import { porfWasm, runWasmPump } from "../../src/host/guest_build/wasm_pump.ts";

const ENTRY = `import { NoUpdateVerifier, UpdateStore, UST_SEGMENT_SLOTS } from "./src/guest/updates/update_store.ts";
import { newU8 } from "./src/secure9p/alloc.ts";
const CHUNK = 4096;
const store = new UpdateStore(260 * CHUNK, CHUNK, 300, 2, new NoUpdateVerifier());
const data = newU8(CHUNK);
const SLOTS = [0, 1, 127, 255, 256, 257, 258, 259];
let line = "";
for (let k = 0; k < SLOTS.length; k++) {
  const s = SLOTS[k];
  let x = s + 1;
  for (let j = 0; j < CHUNK; j++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    data[j] = Math.floor(x / 65536) % 256;
  }
  // Reserve the slot by hand (a manifest would): its name is the bytes' sha256, one owner.
  store.ustSha.digest(data, 0, CHUNK, store.ustSlotHash, s * 32);
  const refs = store.ustSlotRefs;
  refs[s] = 1;
  line = line + " " + store.ustFill(s, data, 0, CHUNK);
}
let bad = 0;
for (let k = 0; k < SLOTS.length; k++) {
  const s = SLOTS[k];
  let x = s + 1;
  const seg = store.ustSlotData[Math.floor(s / UST_SEGMENT_SLOTS)];
  const at = (s % UST_SEGMENT_SLOTS) * CHUNK;
  for (let j = 0; j < CHUNK; j++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    if (seg[at + j] !== Math.floor(x / 65536) % 256) bad++;
  }
}
console.log("filled" + line + " bad=" + bad);
`;

Deno.test("update store slab: slots across 1 MiB keep their bytes, under Deno and under porf alike", async () => {
  const expected = "filled 4096 4096 4096 4096 4096 4096 4096 4096 bad=0\n";
  const logged: string[] = [];
  const log = console.log;
  console.log = (s: string) => logged.push(s);
  try {
    await import(`data:application/javascript;base64,${btoa(await bundleEntry(ENTRY))}`);
  } finally {
    console.log = log;
  }
  assertEquals(logged.join("\n") + "\n", expected);
  const run = await runWasmPump(await porfWasm(await bundleEntry(ENTRY)), new Uint8Array());
  assertEquals(run.printed, expected);
});
