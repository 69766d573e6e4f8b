/**
 * The codec and server core behave byte-identically under Deno and Porffor: the replay fixture
 * (tests/secure9p/fixtures/replay.ts) is bundled with esbuild, run by `porf`, and its hex
 * transcript compared with the same script under Deno.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { bundleEsm, runOk, runPorf } from "../support/porf.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIXTURE = `${ROOT}tests/secure9p/fixtures/replay.ts`;

Deno.test("NineServer replay transcript is identical under Deno and porf", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s9-parity-" });
  try {
    const js = `${dir}/replay.js`;
    await bundleEsm(FIXTURE, js);
    const deno = await runOk(Deno.execPath(), ["run", "--quiet", FIXTURE]);
    const porf = await runPorf(js);
    const lines = deno.trim().split("\n");
    assertEquals(lines.length, 37);
    // The transcript holds real answers, not empty lines: spot-check red lines and data.
    assert(lines.includes("walk9 0b000000070c0016000000"), "9-name walk answers EINVAL");
    assert(lines.includes("dotdot 0b000000070b0016000000"), ".. answers EINVAL");
    assert(lines.includes("reuse 0b000000070e0016000000"), "clunked fid reuse answers EINVAL");
    assert(lines.includes("oversized 0b000000071d005a000000"), "oversized frame answers EMSGSIZE");
    assert(lines.includes("tiny  closed"), "a size below 7 ends the session");
    assert(lines.at(-1) === "refs 0 sessions 0 role queen");
    assertEquals(porf.trim().split("\n"), lines);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
