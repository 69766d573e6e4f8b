/** Codec: the layout table, round-trips of every message type, and hostile bytes. */
import fc from "fast-check";
import * as C from "../../src/secure9p/codec.ts";
import { assert, assertEquals } from "../support/assert.ts";

const RUNS = 200;

/** Arbitrary field values for one layout: numbers per slot, strings, data, and slot counts. */
function arbMessage(type: number) {
  const layout = C.layoutOf(type);
  const parts: fc.Arbitrary<unknown>[] = [];
  for (const c of layout) {
    if (c === "b") parts.push(fc.integer({ min: 0, max: 255 }));
    else if (c === "h") parts.push(fc.integer({ min: 0, max: 0xffff }));
    else if (c === "w") parts.push(fc.integer({ min: 0, max: 0xffffffff }));
    else if (c === "q") {
      parts.push(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })));
    } else if (c === "s") parts.push(fc.uint8Array({ maxLength: 40 }));
    else if (c === "Q") {
      parts.push(
        fc.tuple(
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffffffff }),
        ),
      );
    } else if (c === "D") parts.push(fc.uint8Array({ maxLength: 300 }));
    else if (c === "N") parts.push(fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: C.MAX_WELEM }));
    else {
      parts.push(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 255 }),
            fc.integer({ min: 0, max: 0xffffffff }),
            fc.integer({ min: 0, max: 0xffffffff }),
            fc.integer({ min: 0, max: 0xffffffff }),
          ),
          { maxLength: C.MAX_WELEM },
        ),
      );
    }
  }
  return fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.tuple(...parts));
}

/** Fills an Fcall from generated values; returns the expected numeric slots and string bytes. */
function fill(type: number, tag: number, values: unknown[]) {
  const layout = C.layoutOf(type);
  const f = new C.Fcall();
  f.type = type;
  f.tag = tag;
  const nums: number[] = [];
  const strs: Uint8Array[] = [];
  let data: Uint8Array = new Uint8Array(0);
  layout.split("").forEach((c, i) => {
    const v = values[i];
    if (c === "b" || c === "h" || c === "w") nums.push(v as number);
    else if (c === "q" || c === "Q") nums.push(...(v as number[]));
    else if (c === "s") strs.push(v as Uint8Array);
    else if (c === "D") {
      data = v as Uint8Array;
      nums.push(data.length);
    } else if (c === "N") {
      const names = v as Uint8Array[];
      nums.push(names.length);
      strs.push(...names);
    } else {
      const qids = v as number[][];
      nums.push(qids.length);
      for (const q of qids) nums.push(...q);
    }
  });
  nums.forEach((v, i) => f.n[i] = v);
  const total = strs.reduce((a, s) => a + s.length, 0);
  f.sBuf = new Uint8Array(total);
  let off = 0;
  strs.forEach((s, i) => {
    f.sBuf.set(s, off);
    f.sOff[i] = off;
    f.sLen[i] = s.length;
    off += s.length;
  });
  f.dataBuf = data;
  f.dataOff = 0;
  f.dataLen = data.length;
  return { f, nums, strs, data };
}

Deno.test("messageTypes lists every 9P2000.L message with a name and a T/R pair", () => {
  const types = C.messageTypes();
  assertEquals(types.length, 57);
  for (const t of types) {
    const name = C.messageName(t);
    assert(name.startsWith(t % 2 === 0 ? "T" : "R"), `${t} ${name}`);
    if (t !== C.Rlerror) assert(C.knownType(t % 2 === 0 ? t + 1 : t - 1), `pair of ${name}`);
  }
  assertEquals(C.messageName(200), "T?");
  assertEquals(C.knownType(250), false);
});

Deno.test("decode of encode round-trips every message type", () => {
  const buf = new Uint8Array(70000);
  const out = new C.Fcall();
  for (const type of C.messageTypes()) {
    fc.assert(
      fc.property(arbMessage(type), ([tag, values]) => {
        const { f, nums, strs, data } = fill(type, tag, values as unknown[]);
        const len = C.encode(f, buf, 3, buf.length - 3);
        assert(len >= C.HEADER_SIZE, `${C.messageName(type)} encode returned ${len}`);
        assertEquals(C.decode(buf, 3, len, out), 0);
        assertEquals([out.type, out.tag], [type, tag]);
        assertEquals(Array.from(out.n.subarray(0, out.nCount)), nums);
        assertEquals(out.sCount, strs.length);
        for (let i = 0; i < strs.length; i++) {
          assertEquals(out.sBuf.slice(out.sOff[i], out.sOff[i] + out.sLen[i]), strs[i]);
        }
        assertEquals(out.dataBuf.slice(out.dataOff, out.dataOff + out.dataLen), data);
      }),
      { numRuns: 30 },
    );
  }
});

Deno.test("decode rejects every truncation of a valid frame with a typed error", () => {
  const buf = new Uint8Array(70000);
  const out = new C.Fcall();
  for (const type of C.messageTypes()) {
    fc.assert(
      fc.property(arbMessage(type), fc.nat(), ([tag, values], cut) => {
        const { f } = fill(type, tag, values as unknown[]);
        const len = C.encode(f, buf, 0, buf.length);
        if (len === C.HEADER_SIZE) return; // nothing after the header to cut
        const short = C.HEADER_SIZE + (cut % (len - C.HEADER_SIZE));
        const frame = buf.slice(0, short);
        C.putU32(frame, 0, short); // a consistent size prefix: the body itself is short
        const r = C.decode(frame, 0, short, out);
        assert(
          r === C.DecodeError.Truncated || r === C.DecodeError.TooMany,
          `${C.messageName(type)} cut ${short}: ${r}`,
        );
      }),
      { numRuns: 20 },
    );
  }
});

Deno.test("decode rejects a size prefix that disagrees with the bytes", () => {
  const f = new C.Fcall();
  const frame = new Uint8Array([12, 0, 0, 0, C.Tclunk, 1, 0, 5, 0, 0, 0]);
  assertEquals(C.decode(frame, 0, 11, f), C.DecodeError.BadSize);
  assertEquals(C.decode(frame, 0, 4, f), C.DecodeError.BadSize);
  const long = new Uint8Array([12, 0, 0, 0, C.Tclunk, 1, 0, 5, 0, 0, 0, 9]);
  assertEquals(C.decode(long, 0, 12, f), C.DecodeError.TrailingBytes);
  const bogus = new Uint8Array([7, 0, 0, 0, 250, 1, 0]);
  assertEquals(C.decode(bogus, 0, 7, f), C.DecodeError.UnknownType);
  const walk17 = new Uint8Array([17, 0, 0, 0, C.Twalk, 1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 17, 0]);
  assertEquals(C.decode(walk17, 0, 17, f), C.DecodeError.TooMany);
});

Deno.test("decode never throws on random or mutated frames", () => {
  const out = new C.Fcall();
  const buf = new Uint8Array(70000);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
      const r = C.decode(bytes, 0, bytes.length, out);
      assert(r === 0 || (r < 0 && r >= -6));
    }),
    { numRuns: RUNS * 5 },
  );
  const types = C.messageTypes();
  fc.assert(
    fc.property(
      fc.constantFrom(...types),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      (type, flips) => {
        const { f } = fill(type, 1, defaults(type));
        const len = C.encode(f, buf, 0, buf.length);
        const frame = buf.slice(0, len);
        for (const [at, v] of flips) frame[4 + (at % Math.max(1, len - 4))] = v;
        const r = C.decode(frame, 0, len, out);
        assert(r === 0 || (r < 0 && r >= -6));
      },
    ),
    { numRuns: RUNS * 5 },
  );
});

Deno.test("encode reports NoSpace instead of writing past the destination", () => {
  const { f } = fill(C.Twrite, 1, [5, [0, 0], new Uint8Array(100)]);
  const dst = new Uint8Array(50);
  assertEquals(C.encode(f, dst, 0, 50), C.DecodeError.NoSpace);
  assertEquals(C.encode(f, dst, 0, 3), C.DecodeError.NoSpace);
});

function defaults(type: number): unknown[] {
  return C.layoutOf(type).split("").map((c) => {
    if (c === "q") return [1, 0];
    if (c === "Q") return [0x80, 1, 2, 0];
    if (c === "s") return new Uint8Array([97, 98]);
    if (c === "D") return new Uint8Array([1, 2, 3]);
    if (c === "N") return [new Uint8Array([97])];
    if (c === "M") return [[0, 1, 2, 3]];
    return 7;
  });
}
