/**
 * The event pump of the default guest entry (src/guest/native/pump.ts) in the host's Wasm engine:
 * `runWasmPump` serves the mailbox protocol the C platform serves natively, so the serial console
 * path is checked in seconds; tests/native/ checks the same path under qemu-aarch64 and seL4.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bootEntrySource, bundleEntry } from "../../src/host/guest_build/bundle.ts";
import { runUnderDeno } from "../../src/host/guest_build/run.ts";
import { porfWasm, runWasmPump } from "../../src/host/guest_build/wasm_pump.ts";
import { hostedSerial, SERIAL_INPUT } from "./hosted.ts";

const js = bundleEntry(bootEntrySource());
const wasm = js.then(porfWasm);

Deno.test("pumpMain in the Wasm module answers serial input like the hosted hive's serial console", async () => {
  const run = await runWasmPump(await wasm, SERIAL_INPUT);
  assertStringIncludes(run.printed, "cohesix: guest up, manifest ");
  assertStringIncludes(run.printed, "cohesix: serial console ready\n");
  assertEquals(run.serial, hostedSerial(SERIAL_INPUT));
});

Deno.test("pumpMain returns at once when no platform answers the mailbox (Deno)", async () => {
  const out = await runUnderDeno(await js);
  const lines = out.split("\n");
  assertEquals(lines[1], "\u0001cohesix-poll", "one poll (the one that starts the network), unanswered, then main returns");
  assertEquals(lines.length, 3, "no platform, so no serial console is announced");
});
