/**
 * The cohsh-telemetry-push/v1 envelope: a file becomes numbered JSON records no larger than the
 * hive's record limit (escaping counted), which decode back to the file exactly.
 */
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { encodeRecords, mimeFor, parseLimits, PUSH_SCHEMA } from "../../src/host/cohsh/telemetry_push.ts";

const dec = new TextDecoder();

function decode(records: Uint8Array[]): { text: string; seqs: number[] } {
  const docs = records.map((r) => JSON.parse(dec.decode(r)));
  for (const d of docs) assertEquals(Object.keys(d), ["schema", "seq", "mime", "payload"]);
  assert(docs.every((d) => d.schema === PUSH_SCHEMA));
  return { text: docs.map((d) => d.payload).join(""), seqs: docs.map((d) => d.seq) };
}

Deno.test("encodeRecords: records fit the limit, are numbered from 1 and decode back to the file", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", maxLength: 3000 }),
      fc.integer({ min: 120, max: 600 }),
      (text, limit) => {
        const records = encodeRecords(text, "text/plain", limit);
        for (const r of records) assert(r.length <= limit, `record of ${r.length} bytes over ${limit}`);
        assert(records.every((r) => r[r.length - 1] === 10), "one line per record");
        const back = decode(records);
        assertEquals(back.text, text);
        assertEquals(back.seqs, records.map((_, i) => i + 1));
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("encodeRecords: escaping-heavy text and an empty file", () => {
  const quotes = '"\\\n\u0001'.repeat(500);
  const records = encodeRecords(quotes, "text/plain", 4096);
  assert(records.length > 1);
  assertEquals(decode(records).text, quotes);
  assertEquals(decode(encodeRecords("", "text/csv", 4096)), { text: "", seqs: [1] });
});

Deno.test("mimeFor and parseLimits: the extension allowlist and the hive's limits file", () => {
  assertEquals([mimeFor("a.txt"), mimeFor("b.CSV"), mimeFor("c.jsonl")], [
    "text/plain",
    "text/csv",
    "application/x-ndjson",
  ]);
  assertThrows(() => mimeFor("image.png"), /only \.txt, \.log/);
  assertEquals(
    parseLimits(
      "max_devices=8 max_segments_per_device=4 max_bytes_per_segment=32768 max_total_bytes_per_device=131072 eviction_policy=evict-oldest max_record_bytes=4096\n",
    ),
    {
      maxSegmentsPerDevice: 4,
      maxBytesPerSegment: 32768,
      maxTotalBytesPerDevice: 131072,
      maxRecordBytes: 4096,
      evictionPolicy: "evict-oldest",
    },
  );
});
