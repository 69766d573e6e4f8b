import { assertEquals } from "../support/assert.ts";
import { SELFTEST_NAMES, SELFTEST_SCRIPTS } from "../../src/guest/console/selftests.ts";
import { parseScript } from "../../src/host/cohsh/script.ts";

Deno.test("SELFTEST_SCRIPTS match the shipped demo/*.coh files byte for byte and parse", async () => {
  assertEquals(SELFTEST_SCRIPTS.length, SELFTEST_NAMES.length);
  for (let i = 0; i < SELFTEST_NAMES.length; i++) {
    const shipped = await Deno.readTextFile(new URL(`../../demo/${SELFTEST_NAMES[i]}`, import.meta.url));
    assertEquals(SELFTEST_SCRIPTS[i], shipped, `${SELFTEST_NAMES[i]} drifted from demo/`);
    parseScript(SELFTEST_SCRIPTS[i], SELFTEST_NAMES[i]);
    // NineDoor writes them with ByteWriter.ascii and sizes them by string length: ASCII only.
    const ascii = [...SELFTEST_SCRIPTS[i]].every((c) => c === "\n" || (c >= " " && c <= "~"));
    assertEquals(ascii, true, `${SELFTEST_NAMES[i]} is printable ASCII`);
  }
});
