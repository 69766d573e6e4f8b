/**
 * NineDoor under Porffor: the scripted hive run (fixtures/hive_script.ts) must print byte-identical
 * output under Deno and under `porf` (the engine the native build's Wasm comes from), and the same
 * script with the same injected clock must give identical logs on every run.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SCRIPT = new URL("./fixtures/hive_script.ts", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

Deno.test("NineDoor scripted run prints identical bytes under Deno twice and under porf", async () => {
  const deno = ROOT + "node_modules/.bin/deno";
  const first = await run(deno, ["run", "-A", SCRIPT]);
  const second = await run(deno, ["run", "-A", SCRIPT]);
  assertEquals(second, first);
  // The script exercised what it claims to (guards against an empty or short-circuited run).
  assertStringIncludes(first, "revoke worker=worker-1 reason=ticks tick=12 ops=0\n");
  assertStringIncludes(first, "deny op=write role=observer subject=- path=/queen/ctl reason=role\n");
  assertStringIncludes(first, "job=j2 state=OK exit_code=0\n");
  const dir = await Deno.makeTempDir({ prefix: "ninedoor-parity-" });
  try {
    const js = `${dir}/hive_script.js`;
    await run(ROOT + "node_modules/.bin/esbuild", [
      SCRIPT,
      "--bundle",
      "--format=esm",
      "--target=es2022",
      `--outfile=${js}`,
      "--log-level=warning",
    ]);
    const porf = await run(ROOT + "node_modules/.bin/porf", [js]);
    assert(porf.length > 1000);
    assertEquals(porf, first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
