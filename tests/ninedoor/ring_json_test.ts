/** Property tests: RingSet against a string model, JsonTokens against JSON.parse. */
import fc from "fast-check";
import { assertEquals } from "../support/assert.ts";
import { RingSet } from "../../src/guest/ninedoor/ring.ts";
import { JsonTokens } from "../../src/guest/ninedoor/json.ts";
import { EINVAL, EMSGSIZE } from "../../src/secure9p/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("RingSet keeps the newest whole lines of the stream at their absolute offsets and counts the rest as dropped", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 8, max: 64 }),
      fc.array(fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 20 }), { maxLength: 60 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
      (cap, records, probes) => {
        const ring = new RingSet(3, cap);
        let stream = "";
        for (const r of records) {
          const line = r + "\n";
          const n = ring.append(1, enc.encode(line), 0, line.length);
          if (line.length > cap) {
            assertEquals(n, -EMSGSIZE);
            continue;
          }
          assertEquals(n, line.length);
          stream += line;
        }
        const start = ring.start[1];
        assertEquals(ring.end[1], stream.length);
        assertEquals(ring.dropped[1], start);
        if (start > 0) assertEquals(stream[start - 1], "\n"); // the window starts on a line
        assertEquals(stream.length - start <= cap, true);
        for (const p of probes) {
          const off = stream.length === 0 ? 0 : p % (stream.length + 2);
          const dst = new Uint8Array(cap + 4);
          const got = ring.read(1, off, dst, 2, cap);
          if (off < start) assertEquals(got, -EINVAL);
          else assertEquals(dec.decode(dst.subarray(2, 2 + got)), stream.slice(off, off + cap));
        }
        // The neighbouring rings are untouched.
        assertEquals([ring.end[0], ring.end[2]], [0, 0]);
      },
    ),
    { numRuns: 400, seed: 20261126 },
  );
});

Deno.test("JsonTokens accepts exactly the texts JSON.parse accepts", () => {
  const t = new JsonTokens(256);
  const valid = fc.json({ maxDepth: 4 });
  const mutated = fc.tuple(
    fc.json({ maxDepth: 3 }),
    fc.nat(),
    fc.constantFrom("", "{", "}", ",", '"', ":", "\\", "-", "0", "e", "]", " "),
  )
    .map(([s, at, ch]) => s.slice(0, at % (s.length + 1)) + ch + s.slice((at % (s.length + 1)) + 1));
  fc.assert(
    fc.property(fc.oneof(valid, mutated), (text) => {
      let ok = true;
      try {
        JSON.parse(text);
      } catch {
        ok = false;
      }
      const b = enc.encode(text);
      const n = t.parse(b, 0, b.length);
      // Deeper than 8 levels or more than 256 tokens is refused on purpose.
      if (n === -1 && ok && (text.match(/[[{]/g)?.length ?? 0) > 8) return;
      if (n === -1 && ok && t.count >= 256) return;
      assertEquals(n >= 0, ok, text);
    }),
    { numRuns: 2000, seed: 7 },
  );
});
