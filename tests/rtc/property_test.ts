/**
 * Properties over many generated manifests: the compiler never fails with anything but a
 * ManifestError, every diagnostic points at a real line, and the msize red line holds for any value.
 */
import fc from "fast-check";
import { compileManifestText, ManifestError } from "../../src/codegen/mod.ts";
import { assert, assertEquals } from "../support/assert.ts";

const BASE = await Deno.readTextFile(new URL("./fixtures/base.toml", import.meta.url));
const LINES = BASE.split("\n");

/** Compiles; returns the ManifestError or undefined, and rethrows anything else (failing the property). */
function outcome(text: string): ManifestError | undefined {
  try {
    compileManifestText(text, "p.toml");
    return undefined;
  } catch (err) {
    if (err instanceof ManifestError) return err;
    throw err;
  }
}

Deno.test("compileManifestText refuses arbitrary text only with ManifestError", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      outcome(text);
    }),
    { numRuns: 500, seed: 7 },
  );
});

Deno.test("compileManifestText diagnostics of a manifest with lines removed or altered point inside the file", () => {
  const mutation = fc.record({
    line: fc.nat({ max: LINES.length - 1 }),
    kind: fc.constantFrom("delete", "truncate", "garble"),
    cut: fc.nat({ max: 40 }),
    junk: fc.string({ minLength: 1, maxLength: 6 }),
  });
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
      const lines = [...LINES];
      for (const m of mutations) {
        const i = m.line % lines.length;
        if (m.kind === "delete") lines.splice(i, 1);
        else if (m.kind === "truncate") lines[i] = lines[i].slice(0, m.cut);
        else lines[i] = lines[i].slice(0, m.cut) + m.junk + lines[i].slice(m.cut);
      }
      const err = outcome(lines.join("\n"));
      if (!err) return;
      assert(err.diagnostics.length > 0);
      for (const d of err.diagnostics) {
        assert(d.line >= 1 && d.line <= lines.length, `line ${d.line} outside 1..${lines.length}: ${d.message}`);
        assert(d.message.length > 0 && !d.message.includes("\n"));
      }
    }),
    { numRuns: 400, seed: 11 },
  );
});

Deno.test("compileManifestText enforces the msize red line for any integer", () => {
  fc.assert(
    fc.property(fc.integer({ min: -100000, max: 100000 }), (msize) => {
      const err = outcome(BASE.replace("msize = 8192", `msize = ${msize}`));
      if (msize > 8192) assertEquals(err?.message, `p.toml:16: secure9p.msize ${msize} exceeds maximum 8192`);
      else if (msize < 512) assertEquals(err?.message, `p.toml:16: secure9p.msize must be >= 512, got ${msize}`);
      // In range, the only other rule msize meets is the ctl write size (default 4096 + 23-byte header).
      else if (msize < 4096 + 23) assert(err?.message.includes("queen.max_ctl_bytes 4096 exceeds"));
      else assertEquals(err, undefined);
    }),
    { numRuns: 300, seed: 3 },
  );
});
