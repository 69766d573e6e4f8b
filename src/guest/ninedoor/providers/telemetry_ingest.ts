/**
 * `/queen/telemetry/`: telemetry ingest with OS-named segments (seeds 21a; reference namespace §6).
 *
 *   /queen/telemetry/ctl              control: `{"new":"device","device":"D"}` adds device D (bounded table)
 *   /queen/telemetry/limits           RO: the manifest's `[telemetry_ingest]` bounds, `key=value`
 *   /queen/telemetry/<D>/ctl          control: `{"new":"segment","mime":"text/plain"}` → `seg/seg-NNNNNN`
 *   /queen/telemetry/<D>/latest       RO: the newest segment's name (empty before the first)
 *   /queen/telemetry/<D>/seg/seg-…    append-only: one write = one record (<= 4096 bytes)
 *
 * The hive names every segment; a client never chooses a path. Bounds and eviction live in
 * `SegmentStore` (src/guest/ingest/segments.ts); an evicted segment's node is dropped, so a walk
 * answers ENOENT and an open fid EBADF. Every creation, eviction and refusal is one queen log line.
 * Present only when the manifest enables `[telemetry_ingest]` (max_devices > 0).
 */
import { EEXIST, EFBIG, EINVAL, EMSGSIZE, ENOSPC, EPERM, errnoName } from "../../../secure9p/errors.ts";
import { Gate } from "./lifecycle.ts";
import { decodeUtf8, equalsAscii } from "../../lib/bytes.ts";
import { allocI32 } from "../alloc.ts";
import { JsonTokens, JsonType } from "../json.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered, trimmedLen } from "../provider.ts";
import { Access } from "../tree.ts";
import { Eviction, INGEST_MIMES, segmentName, SegmentStore, validDeviceName } from "../../ingest/segments.ts";

const Kind = { RootCtl: 0, Limits: 1, DeviceCtl: 2, Latest: 3, Segment: 4 } as const;

/** Tree nodes this provider can hold at most (NineDoor sizes its node table with it). */
export function ingestNodeCount(maxDevices: number, maxSegments: number): number {
  return maxDevices > 0 ? 3 + maxDevices * (4 + maxSegments) : 0;
}

export class TelemetryIngestFiles implements Provider {
  provId = -1;
  private nd: NineDoor;
  readonly store: SegmentStore;
  private tokens: JsonTokens = new JsonTokens(16);
  /** Tree slot of each device's directory and of its `seg` directory. */
  private devDir: Int32Array;
  private segDir: Int32Array;
  /** Tree slot of the segment in each store slot (device * maxSegments + i), -1 when free. */
  private segNode: Int32Array;
  private nameBuf: Uint8Array = new Uint8Array(32);

  constructor(nd: NineDoor) {
    this.nd = nd;
    const lim = nd.boot.telemetryIngest;
    this.store = new SegmentStore(lim);
    this.devDir = allocI32(lim.maxDevices + 1);
    this.segDir = allocI32(lim.maxDevices + 1);
    this.segNode = allocI32(lim.maxDevices * lim.maxSegments + 1);
    const sn = this.segNode;
    for (let i = 0; i < sn.length; i++) sn[i] = -1;
  }

  mountNodes(): void {
    if (this.store.lim.maxDevices <= 0) return;
    const t = this.nd.tree;
    const queen = t.childNamed(0, "queen");
    const dir = t.addDir(queen, "telemetry", 0, 0);
    t.add(dir, "ctl", this.provId, Kind.RootCtl, Access.Control, 0, 0);
    t.add(dir, "limits", this.provId, Kind.Limits, Access.ReadOnly, 0, 0);
  }

  nodeRead(
    kind: number,
    arg: number,
    offset: number,
    dst: Uint8Array,
    dstOff: number,
    count: number,
  ): number {
    if (kind === Kind.Segment) {
      const st = this.store;
      const d = Math.floor(arg / st.lim.maxSegments);
      const n = st.segmentRead(d, st.slotSeg[arg], offset, dst, dstOff, count);
      const nd = this.nd;
      nd.ingest.onRead(nd.boot.limits.maxWorkers + arg, nd.nowMs, n);
      return n;
    }
    const w = this.nd.scratch;
    w.reset();
    if (kind === Kind.Limits) this.renderLimits();
    else if (kind === Kind.Latest) {
      const id = this.store.segmentLatest(arg);
      if (id > 0) {
        const n = segmentName(id, this.nameBuf, 0);
        w.bytes(this.nameBuf, 0, n);
        w.byte(10);
      }
    }
    return readRendered(w, offset, dst, dstOff, count);
  }

  nodeWrite(_s: number, kind: number, arg: number, src: Uint8Array, srcOff: number, count: number): number {
    if (kind === Kind.RootCtl) return this.rootCtl(src, srcOff, count);
    if (kind === Kind.DeviceCtl) return this.deviceCtl(arg, src, srcOff, count);
    if (kind === Kind.Segment) return this.appendRecord(arg, src, srcOff, count);
    return -EINVAL;
  }

  nodeSize(kind: number, arg: number): number {
    return kind === Kind.Segment ? this.store.slotLen[arg] : 0;
  }

  nodeStart(_kind: number, _arg: number): number {
    return 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {}

  private renderLimits(): void {
    const w = this.nd.scratch;
    const lim = this.store.lim;
    w.labelUint("max_devices=", lim.maxDevices);
    w.labelUint(" max_segments_per_device=", lim.maxSegments);
    w.labelUint(" max_bytes_per_segment=", lim.maxSegmentBytes);
    w.labelUint(" max_total_bytes_per_device=", lim.maxDeviceBytes);
    w.ascii(lim.eviction === Eviction.Refuse ? " eviction_policy=refuse" : " eviction_policy=evict-oldest");
    w.labelUint(" max_record_bytes=", lim.maxRecordBytes);
    w.labelUint(" devices=", this.store.deviceCount);
    w.byte(10);
  }

  /** `{"new":"device","device":"D"}`: adds device D with its ctl, latest and seg/ (EEXIST if it is there). */
  private rootCtl(src: Uint8Array, off: number, count: number): number {
    const t = this.tokens;
    const len = trimmedLen(src, off, count);
    if (t.parse(src, off, len) < 0 || t.type[0] !== JsonType.Object || t.size[0] !== 2) {
      return this.refuse(-1, EINVAL, "bad-json");
    }
    let nameTok = -1;
    let sawNew = false;
    let i = 1;
    for (let p = 0; p < 2; p++) {
      const v = i + 1;
      if (t.is(i, "new") && t.is(v, "device")) sawNew = true;
      else if (t.is(i, "device") && t.type[v] === JsonType.String) nameTok = v;
      else return this.refuse(-1, EINVAL, "unknown-key");
      i = t.next[v];
    }
    if (!sawNew || nameTok < 0) return this.refuse(-1, EINVAL, "need-new-device");
    const st = this.store;
    const nOff = t.start[nameTok];
    const nLen = t.end[nameTok] - nOff;
    for (let d = 0; d < st.lim.maxDevices; d++) {
      if (st.used[d] !== 0 && equalsAscii(src, nOff, nLen, st.names.get(d))) return -EEXIST;
    }
    const name = decodeUtf8(src, nOff, nLen);
    if (!validDeviceName(name)) return this.refuse(-1, EINVAL, "bad-device");
    const d = st.deviceAdd(name);
    if (d < 0) return this.refuse(-1, -d, "max_devices");
    const tree = this.nd.tree;
    const top = tree.childNamed(tree.childNamed(0, "queen"), "telemetry");
    const dir = tree.addDir(top, name, d, this.nd.nowMs);
    tree.add(dir, "ctl", this.provId, Kind.DeviceCtl, Access.Control, d, this.nd.nowMs);
    tree.add(dir, "latest", this.provId, Kind.Latest, Access.ReadOnly, d, this.nd.nowMs);
    const seg = tree.addDir(dir, "seg", d, this.nd.nowMs);
    const dd = this.devDir;
    dd[d] = dir;
    const sd = this.segDir;
    sd[d] = seg;
    const lw = this.nd.lw;
    lw.reset();
    lw.ascii("telemetry device=");
    lw.ascii(name);
    lw.ascii(" added");
    this.nd.logLine();
    return count;
  }

  /** `{"new":"segment","mime":"…"}`: the hive makes `seg/seg-NNNNNN` and points `latest` at it. */
  private deviceCtl(d: number, src: Uint8Array, off: number, count: number): number {
    const t = this.tokens;
    const len = trimmedLen(src, off, count);
    if (t.parse(src, off, len) < 0 || t.type[0] !== JsonType.Object) {
      return this.refuse(d, EINVAL, "bad-json");
    }
    let sawNew = false;
    let mime = 0;
    let i = 1;
    for (let p = 0; p < t.size[0]; p++) {
      const v = i + 1;
      if (t.is(i, "new") && t.is(v, "segment")) sawNew = true;
      else if (t.is(i, "mime")) {
        mime = -1;
        for (let m = 0; m < INGEST_MIMES.length; m++) if (t.is(v, INGEST_MIMES[m])) mime = m;
        if (mime < 0) return this.refuse(d, EINVAL, "unknown-mime");
      } else return this.refuse(d, EINVAL, "unknown-key");
      i = t.next[v];
    }
    if (!sawNew) return this.refuse(d, EINVAL, "need-new-segment");
    const st = this.store;
    const held = st.deviceBytes[d];
    const id = st.segmentNew(d, mime);
    if (id < 0) {
      this.nd.ingest.onRefused();
      return this.refuse(d, -id, "max_segments_per_device");
    }
    // A segment evicted to make room takes its bytes with it.
    this.nd.ingest.onDropped(held - st.deviceBytes[d]);
    const slot = st.segmentSlot(d, id);
    // Evict-oldest may have freed a slot (dropped below) or handed the evicted one straight back.
    if (this.segNode[slot] >= 0) this.dropNode(d, slot);
    this.dropGone(d);
    const n = segmentName(id, this.nameBuf, 0);
    const name = decodeUtf8(this.nameBuf, 0, n);
    const sn = this.segNode;
    sn[slot] = this.nd.tree.add(
      this.segDir[d],
      name,
      this.provId,
      Kind.Segment,
      Access.AppendOnly,
      slot,
      this.nd.nowMs,
    );
    const lw = this.nd.lw;
    lw.reset();
    lw.ascii("telemetry device=");
    lw.ascii(st.names.get(d));
    lw.ascii(" segment=");
    lw.ascii(name);
    lw.ascii(" mime=");
    lw.ascii(INGEST_MIMES[mime]);
    this.nd.logLine();
    return count;
  }

  private appendRecord(slot: number, src: Uint8Array, off: number, count: number): number {
    if (!this.nd.lifecycleSvc.lcAllows(Gate.Ingest)) return -EPERM;
    const st = this.store;
    const d = Math.floor(slot / st.lim.maxSegments);
    const seg = st.slotSeg[slot];
    const before = st.evicted[d];
    const held = st.deviceBytes[d];
    const n = st.segmentAppend(d, seg, 0, true, src, off, count);
    const nd = this.nd;
    if (n < 0) {
      nd.ingest.onRefused();
      const reason = n === -EMSGSIZE
        ? "max_record_bytes"
        : n === -EFBIG
        ? "max_bytes_per_segment"
        : n === -ENOSPC
        ? "max_total_bytes_per_device"
        : "stale";
      return this.refuse(d, -n, reason);
    }
    // Evicted segments' bytes are the difference between what the device held plus the record and now.
    nd.ingest.onAppend(nd.boot.limits.maxWorkers + slot, nd.nowMs, n, held + n - st.deviceBytes[d]);
    if (st.evicted[d] !== before) this.dropGone(d);
    return n;
  }

  /** Drops every segment node whose store slot was freed by eviction. */
  private dropGone(d: number): void {
    const st = this.store;
    const base = d * st.lim.maxSegments;
    for (let i = 0; i < st.lim.maxSegments; i++) {
      if (this.segNode[base + i] >= 0 && st.slotSeg[base + i] === 0) this.dropNode(d, base + i);
    }
  }

  private dropNode(d: number, slot: number): void {
    // The evicted bytes were counted as dropped by the append that evicted them.
    this.nd.ingest.onReset(this.nd.boot.limits.maxWorkers + slot, 0);
    const sn = this.segNode;
    const node = sn[slot];
    sn[slot] = -1;
    const lw = this.nd.lw;
    lw.reset();
    lw.ascii("telemetry device=");
    lw.ascii(this.store.names.get(d));
    lw.ascii(" evict segment=");
    lw.ascii(this.nd.tree.names.get(node));
    this.nd.logLine();
    this.nd.dropSubtree(node);
  }

  private refuse(d: number, errno: number, reason: string): number {
    const lw = this.nd.lw;
    lw.reset();
    lw.ascii("telemetry refuse device=");
    lw.ascii(d >= 0 ? this.store.names.get(d) : "-");
    lw.ascii(" reason=");
    lw.ascii(reason);
    lw.ascii(" error=");
    lw.ascii(errnoName(errno));
    this.nd.logLine();
    return -errno;
  }
}
