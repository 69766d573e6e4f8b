/**
 * SegmentStore, the telemetry-ingest state: OS-assigned segment names, each manifest bound with its
 * refusal (and no partial state after one), and both eviction policies.
 */
import { assertEquals } from "../support/assert.ts";
import {
  Eviction,
  type IngestLimits,
  parseSegmentName,
  segmentName,
  SegmentStore,
  validDeviceName,
} from "../../src/guest/ingest/segments.ts";
import { EFBIG, EINVAL, EMSGSIZE, ENOENT, ENOSPC } from "../../src/secure9p/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function store(over: Partial<IngestLimits> = {}): SegmentStore {
  return new SegmentStore({
    maxDevices: 2,
    maxSegments: 3,
    maxSegmentBytes: 100,
    maxDeviceBytes: 250,
    eviction: Eviction.Refuse,
    maxRecordBytes: 64,
    ...over,
  });
}

function put(s: SegmentStore, d: number, seg: number, text: string): number {
  const b = enc.encode(text);
  return s.segmentAppend(d, seg, 0, true, b, 0, b.length);
}

function read(s: SegmentStore, d: number, seg: number): string | number {
  const out = new Uint8Array(200);
  const n = s.segmentRead(d, seg, 0, out, 0, 200);
  return n < 0 ? n : dec.decode(out.subarray(0, n));
}

/** Everything observable about a device, to show a refusal changed nothing. */
function state(s: SegmentStore, d: number) {
  const segs = [];
  for (let k = 0;; k++) {
    const id = s.segmentAt(d, k);
    if (id === 0) break;
    segs.push([id, read(s, d, id)]);
  }
  return { segs, latest: s.segmentLatest(d), bytes: s.deviceBytes[d] };
}

Deno.test("SegmentStore names segments itself (seg-000001, …) and latest is the newest", () => {
  const s = store();
  const d = s.deviceAdd("sensor-1");
  assertEquals(d, 0);
  assertEquals(s.segmentLatest(d), 0);
  assertEquals([s.segmentNew(d, 0), s.segmentNew(d, 0)], [1, 2]);
  assertEquals(s.segmentLatest(d), 2);
  assertEquals(put(s, d, 1, "a\n"), 2);
  assertEquals(put(s, d, 1, "b\n"), 2);
  assertEquals(read(s, d, 1), "a\nb\n");
  const name = new Uint8Array(16);
  assertEquals(dec.decode(name.subarray(0, segmentName(1, name, 0))), "seg-000001");
  assertEquals(dec.decode(name.subarray(0, segmentName(1234567, name, 0))), "seg-1234567");
  assertEquals([
    parseSegmentName("seg-000042"),
    parseSegmentName("seg-42"),
    parseSegmentName("seg-0000042"),
    parseSegmentName("x"),
  ], [42, -1, -1, -1]);
});

Deno.test("SegmentStore: a write must be at the segment end; a record over maxRecordBytes is EMSGSIZE; nothing partial", () => {
  const s = store();
  const d = s.deviceAdd("dev");
  const seg = s.segmentNew(d, 0);
  put(s, d, seg, "12345");
  const b = enc.encode("x");
  assertEquals(s.segmentAppend(d, seg, 2, false, b, 0, 1), -EINVAL);
  assertEquals(s.segmentAppend(d, seg, 5, false, b, 0, 1), 1);
  const before = state(s, d);
  assertEquals(put(s, d, seg, "y".repeat(65)), -EMSGSIZE);
  assertEquals(state(s, d), before);
  assertEquals(put(s, d, 99, "z"), -ENOENT);
});

Deno.test("SegmentStore: max_bytes_per_segment refuses with EFBIG and stores nothing of the record", () => {
  const s = store({ eviction: Eviction.EvictOldest });
  const d = s.deviceAdd("dev");
  const seg = s.segmentNew(d, 0);
  assertEquals(put(s, d, seg, "a".repeat(60)), 60);
  const before = state(s, d);
  assertEquals(put(s, d, seg, "b".repeat(41)), -EFBIG);
  assertEquals(state(s, d), before);
  assertEquals(put(s, d, seg, "b".repeat(40)), 40);
});

Deno.test("SegmentStore: max_segments_per_device — refuse answers ENOSPC, evict-oldest drops the oldest (ENOENT)", () => {
  const r = store();
  const d = r.deviceAdd("dev");
  for (let i = 0; i < 3; i++) put(r, d, r.segmentNew(d, 0), `s${i + 1}`);
  const before = state(r, d);
  assertEquals(r.segmentNew(d, 0), -ENOSPC);
  assertEquals(state(r, d), before);

  const e = store({ eviction: Eviction.EvictOldest });
  const d2 = e.deviceAdd("dev");
  for (let i = 0; i < 3; i++) put(e, d2, e.segmentNew(d2, 0), `s${i + 1}`);
  assertEquals(e.segmentNew(d2, 0), 4);
  assertEquals(read(e, d2, 1), -ENOENT);
  assertEquals(state(e, d2), { segs: [[2, "s2"], [3, "s3"], [4, ""]], latest: 4, bytes: 4 });
  assertEquals(e.evicted[d2], 1);
});

Deno.test("SegmentStore: max_total_bytes_per_device — refuse answers ENOSPC, evict-oldest frees the oldest other segments", () => {
  const r = store();
  const d = r.deviceAdd("dev");
  const a = r.segmentNew(d, 0);
  const b = r.segmentNew(d, 0);
  const c = r.segmentNew(d, 0);
  put(r, d, a, "a".repeat(60));
  put(r, d, a, "a".repeat(40));
  put(r, d, b, "b".repeat(60));
  put(r, d, b, "b".repeat(40));
  put(r, d, c, "c".repeat(50));
  const before = state(r, d);
  assertEquals(before.bytes, 250);
  assertEquals(put(r, d, c, "c"), -ENOSPC);
  assertEquals(state(r, d), before);

  const e = store({ eviction: Eviction.EvictOldest });
  const d2 = e.deviceAdd("dev");
  const a2 = e.segmentNew(d2, 0);
  const b2 = e.segmentNew(d2, 0);
  const c2 = e.segmentNew(d2, 0);
  put(e, d2, a2, "a".repeat(60));
  put(e, d2, a2, "a".repeat(40));
  put(e, d2, b2, "b".repeat(60));
  put(e, d2, b2, "b".repeat(40));
  put(e, d2, c2, "c".repeat(50));
  assertEquals(put(e, d2, c2, "c".repeat(10)), 10);
  assertEquals(read(e, d2, a2), -ENOENT, "the oldest segment made room");
  assertEquals(read(e, d2, b2), "b".repeat(100));
  assertEquals(e.deviceBytes[d2], 160);

  // One segment can never exceed the device budget, and such a write evicts nothing.
  const small = store({ eviction: Eviction.EvictOldest, maxDeviceBytes: 100, maxSegmentBytes: 100 });
  const d3 = small.deviceAdd("dev");
  const x = small.segmentNew(d3, 0);
  put(small, d3, x, "x".repeat(50));
  const y = small.segmentNew(d3, 0);
  put(small, d3, y, "y".repeat(50));
  assertEquals(put(small, d3, y, "y".repeat(50)), 50);
  assertEquals(read(small, d3, x), -ENOENT);
  assertEquals(put(small, d3, y, "y"), -EFBIG);
});

Deno.test("SegmentStore: device names are checked and the device table is bounded", () => {
  const s = store();
  assertEquals([
    validDeviceName("a_b-C9"),
    validDeviceName(""),
    validDeviceName("a/b"),
    validDeviceName(".."),
  ], [true, false, false, false]);
  assertEquals(s.deviceAdd("a.b"), -EINVAL);
  assertEquals([s.deviceAdd("one"), s.deviceAdd("two"), s.deviceAdd("one")], [0, 1, 0]);
  assertEquals(s.deviceAdd("three"), -ENOSPC);
  assertEquals(s.deviceIndex("three"), -ENOENT);
});
