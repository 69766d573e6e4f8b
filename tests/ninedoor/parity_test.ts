/**
 * NineDoor under Porffor: the scripted hive run (fixtures/hive_script.ts) must print byte-identical
 * output under Deno and under `porf` (the engine the native build's Wasm comes from), and the same
 * script with the same injected clock must give identical logs on every run.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bundleEsm, runOk, runPorf } from "../support/porf.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SCRIPT = new URL("./fixtures/hive_script.ts", import.meta.url).pathname;

Deno.test("NineDoor scripted run prints identical bytes under Deno twice and under porf", async () => {
  const deno = ROOT + "node_modules/.bin/deno";
  const first = await runOk(deno, ["run", "-A", SCRIPT]);
  const second = await runOk(deno, ["run", "-A", SCRIPT]);
  assertEquals(second, first);
  // The script exercised what it claims to (guards against an empty or short-circuited run).
  assertStringIncludes(first, "revoke worker=worker-1 reason=ticks tick=12 ops=0\n");
  assertStringIncludes(first, "deny op=write role=observer subject=- path=/queen/ctl reason=role\n");
  assertStringIncludes(first, "job=j2 state=OK exit_code=0\n");
  const dir = await Deno.makeTempDir({ prefix: "ninedoor-parity-" });
  try {
    const js = `${dir}/hive_script.js`;
    await bundleEsm(SCRIPT, js);
    const porf = await runPorf(js);
    assert(porf.length > 1000);
    assertEquals(porf, first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
