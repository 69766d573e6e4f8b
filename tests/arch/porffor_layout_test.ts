/**
 * Porffor 0.61.13 packs string literals into 16 KiB bins; the page-0 bin starts at byte 16 but could
 * still fill a whole page, so its last literal spilled into page 1 and was overwritten there (the
 * "layout-dependent" porf/native corruption). scripts/patch-porffor.mjs (npm postinstall) fixes
 * node_modules; these tests keep it applied and prove the guest's static data no longer overlaps.
 */
import { assertEquals } from "../support/assert.ts";
import { bundleReplay } from "../../src/host/guest_build/bundle.ts";
import { corpusFiles } from "../parity/suite.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const dec = new TextDecoder();

async function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await new Deno.Command("node", { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).output();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

Deno.test("patch-porffor --check finds the page-0 bin fix applied to node_modules", async () => {
  const r = await node(["scripts/patch-porffor.mjs", "--check"]);
  assertEquals([r.code, r.stderr], [0, ""]);
});

Deno.test("porf-layout finds no overlapping static data in the guest replay bundle", async () => {
  const dir = await Deno.makeTempDir({ prefix: "porf-layout-" });
  try {
    const js = `${dir}/guest.js`;
    await Deno.writeTextFile(js, await bundleReplay(...corpusFiles()));
    const r = await node(["scripts/porf-layout.mjs", js]);
    assertEquals(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout.trim().split("\n").pop()!);
    // A guest this size spans many pages and over a thousand literals (so page 0 is filled).
    assertEquals(doc.pages > 8 && doc.segments > 1000, true, `pages=${doc.pages} segments=${doc.segments}`);
    assertEquals(doc.overlaps, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
