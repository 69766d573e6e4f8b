/**
 * Field-bus adapters (Milestone 18, namespace reference §7), one directory per `[sidecars.modbus|dnp3]`
 * adapter at `<mount_at>/<mount>`, fed by the host sidecar `cohesix bus-agent` (the host/worker
 * pattern of /host: the bus stays outside the VM, the hive only keeps files):
 *
 *   ctl        (control, queen) one command line per write for the bus; the sidecar follows this ring
 *              and writes each line to the device
 *   telemetry  (append, the sidecar) `<seq> <line>` per write: a line read from the device; the file
 *              holds the lines, a seq at or below the adapter's high-water mark is a duplicate (counted,
 *              not stored), so a sidecar may re-send after a drop without doubling anything
 *   link       (append) `up run=<id>` (a new run restarts the sequence) | `down reason=<token>`;
 *              reads `link=<unknown|up|down> run=<id> since_ms=<n> baud=<n> scope=<s> protocol=<p>`
 *   replay     (append, the sidecar) `<seq> <line>`: lines its offline spool kept while the hive was
 *              unreachable, deduplicated like telemetry and counted as replayed
 *   spool      (read) `max_entries=<n> max_bytes=<n> last_seq=<n> lines=<n> replayed=<n> duplicates=<n>`:
 *              the bounds the sidecar's spool must keep (from the manifest) and what arrived
 * Tables are sized at boot; a write allocates nothing.
 */
import { allocF64, allocI32, allocU8 } from "../alloc.ts";
import { equalsAscii } from "../../lib/bytes.ts";
import { EINVAL, EMSGSIZE, EROFS } from "../../../secure9p/errors.ts";
import type { BusAdapterSpec } from "../../boot.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered, safeBytes, trimmedLen } from "../provider.ts";
import { RingSet } from "../ring.ts";
import { Access } from "../tree.ts";

const Kind = { Ctl: 1, Telemetry: 2, Link: 3, Replay: 4, Spool: 5 } as const;
const CTL_RING = 1024;
const TELEMETRY_RING = 4096;
const LINE_MAX = 200;
const RUN_MAX = 32;
const LINK_NAMES = ["unknown", "up", "down"];

/** Node-table slots: the mount directories and, per adapter, its directory and five files. */
export function busNodeCount(adapters: BusAdapterSpec[]): number {
  return adapters.length === 0 ? 0 : 8 + 6 * adapters.length;
}

export class BusFiles implements Provider {
  provId = -1;
  private buNd: NineDoor;
  private buSpecs: BusAdapterSpec[];
  private buCtl: RingSet;
  private buTele: RingSet;
  private buLink: Int32Array;
  private buLinkMs: Float64Array;
  private buRun: Uint8Array;
  private buRunLen: Int32Array;
  private buHigh: Float64Array;
  private buLines: Float64Array;
  private buReplayed: Float64Array;
  private buDup: Float64Array;

  constructor(nd: NineDoor) {
    this.buNd = nd;
    const specs = nd.boot.busAdapters;
    this.buSpecs = specs;
    const n = specs.length > 0 ? specs.length : 1;
    this.buCtl = new RingSet(n, CTL_RING);
    this.buTele = new RingSet(n, TELEMETRY_RING);
    this.buLink = allocI32(n);
    this.buLinkMs = allocF64(n);
    this.buRun = allocU8(n * RUN_MAX);
    this.buRunLen = allocI32(n);
    this.buHigh = allocF64(n);
    this.buLines = allocF64(n);
    this.buReplayed = allocF64(n);
    this.buDup = allocF64(n);
  }

  mountNodes(): void {
    const t = this.buNd.tree;
    const id = this.provId;
    const specs = this.buSpecs;
    for (let a = 0; a < specs.length; a++) {
      let dir = 0;
      const parts = specs[a].mountAt.split("/");
      for (let i = 0; i < parts.length; i++) {
        if (parts[i] === "") continue;
        const have = t.childNamed(dir, parts[i]);
        dir = have >= 0 ? have : t.addDir(dir, parts[i], 0, 0);
      }
      const d = t.addDir(dir, specs[a].mount, a, 0);
      t.add(d, "ctl", id, Kind.Ctl, Access.Control, a, 0);
      t.add(d, "telemetry", id, Kind.Telemetry, Access.AppendOnly, a, 0);
      t.add(d, "link", id, Kind.Link, Access.AppendOnly, a, 0);
      t.add(d, "replay", id, Kind.Replay, Access.AppendOnly, a, 0);
      t.add(d, "spool", id, Kind.Spool, Access.ReadOnly, a, 0);
    }
  }

  nodeRead(kind: number, a: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    if (kind === Kind.Ctl) return this.buCtl.read(a, offset, dst, dstOff, count);
    if (kind === Kind.Telemetry) return this.buTele.read(a, offset, dst, dstOff, count);
    if (kind === Kind.Replay) return 0;
    const spec = this.buSpecs[a];
    const w = this.buNd.scratch;
    w.reset();
    if (kind === Kind.Link) {
      w.ascii("link=");
      w.ascii(LINK_NAMES[this.buLink[a]]);
      w.ascii(" run=");
      if (this.buRunLen[a] === 0) w.ascii("-");
      else w.bytes(this.buRun, a * RUN_MAX, this.buRunLen[a]);
      w.labelUint(" since_ms=", this.buLinkMs[a]);
      w.ascii(" link_kind=");
      w.ascii(spec.link);
      w.labelUint(" baud=", spec.baud);
      w.ascii(" scope=");
      w.ascii(spec.scope);
      w.ascii(" protocol=");
      w.ascii(spec.protocol);
    } else {
      w.labelUint("max_entries=", spec.spoolMaxEntries);
      w.labelUint(" max_bytes=", spec.spoolMaxBytes);
      w.labelUint(" last_seq=", this.buHigh[a]);
      w.labelUint(" lines=", this.buLines[a]);
      w.labelUint(" replayed=", this.buReplayed[a]);
      w.labelUint(" duplicates=", this.buDup[a]);
    }
    w.byte(10);
    return readRendered(w, offset, dst, dstOff, count);
  }

  nodeWrite(_s: number, kind: number, a: number, src: Uint8Array, srcOff: number, count: number): number {
    const len = trimmedLen(src, srcOff, count);
    if (len === 0) return -EINVAL;
    if (len > LINE_MAX + 16) return -EMSGSIZE;
    for (let i = 0; i < len; i++) {
      const c = src[srcOff + i];
      if (c < 32 || c > 126) return -EINVAL;
    }
    let r = -EROFS;
    if (kind === Kind.Ctl) r = this.buCommand(a, src, srcOff, len);
    else if (kind === Kind.Telemetry) r = this.buSeqLine(a, src, srcOff, len, false);
    else if (kind === Kind.Replay) r = this.buSeqLine(a, src, srcOff, len, true);
    else if (kind === Kind.Link) r = this.buLinkWrite(a, src, srcOff, len);
    return r < 0 ? r : count;
  }

  nodeSize(kind: number, a: number): number {
    if (kind === Kind.Ctl) return this.buCtl.end[a];
    if (kind === Kind.Telemetry) return this.buTele.end[a];
    return 0;
  }

  nodeStart(kind: number, a: number): number {
    if (kind === Kind.Ctl) return this.buCtl.start[a];
    if (kind === Kind.Telemetry) return this.buTele.start[a];
    return 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {}

  /** A command for the device, kept as one line of the ctl ring. */
  private buCommand(a: number, src: Uint8Array, off: number, len: number): number {
    if (len > LINE_MAX) return -EMSGSIZE;
    const w = this.buNd.scratch;
    w.reset();
    w.bytes(src, off, len);
    w.byte(10);
    return this.buCtl.append(a, w.buf, 0, w.len);
  }

  /** `<seq> <line>`: stored once per seq (a re-sent seq is a duplicate, accepted and counted). */
  private buSeqLine(a: number, src: Uint8Array, off: number, len: number, replayed: boolean): number {
    let i = 0;
    let seq = 0;
    while (i < len && i < 16 && src[off + i] >= 48 && src[off + i] <= 57) {
      seq = seq * 10 + (src[off + i] - 48);
      i++;
    }
    if (i === 0 || i >= len || src[off + i] !== 32 || seq < 1) return -EINVAL;
    const lineOff = off + i + 1;
    const lineLen = len - i - 1;
    if (lineLen < 1 || lineLen > LINE_MAX) return lineLen < 1 ? -EINVAL : -EMSGSIZE;
    if (seq <= this.buHigh[a]) {
      const d = this.buDup;
      d[a] = d[a] + 1;
      return 0;
    }
    const w = this.buNd.scratch;
    w.reset();
    w.bytes(src, lineOff, lineLen);
    w.byte(10);
    const r = this.buTele.append(a, w.buf, 0, w.len);
    if (r < 0) return r;
    const h = this.buHigh;
    h[a] = seq;
    const n = this.buLines;
    n[a] = n[a] + 1;
    if (replayed) {
      const rp = this.buReplayed;
      rp[a] = rp[a] + 1;
    }
    return 0;
  }

  /** `up run=<id>` (a new run id restarts the sequence) or `down reason=<token>`. */
  private buLinkWrite(a: number, src: Uint8Array, off: number, len: number): number {
    const nd = this.buNd;
    const lw = nd.lw;
    if (len > 7 && equalsAscii(src, off, 7, "up run=")) {
      const n = len - 7;
      if (n > RUN_MAX || !safeBytes(src, off + 7, n)) return -EINVAL;
      const run = this.buRun;
      let same = n === this.buRunLen[a];
      for (let i = 0; i < n; i++) {
        if (run[a * RUN_MAX + i] !== src[off + 7 + i]) same = false;
        run[a * RUN_MAX + i] = src[off + 7 + i];
      }
      const rl = this.buRunLen;
      rl[a] = n;
      if (!same) {
        const h = this.buHigh;
        h[a] = 0;
      }
      this.buSetLink(a, 1);
      lw.reset();
      lw.ascii("bus link up adapter=");
      lw.ascii(this.buSpecs[a].id);
      lw.ascii(" run=");
      lw.bytes(src, off + 7, n);
      nd.logLine();
      return 0;
    }
    if (len > 12 && equalsAscii(src, off, 12, "down reason=")) {
      if (len - 12 > 64 || !safeBytes(src, off + 12, len - 12)) return -EINVAL;
      this.buSetLink(a, 2);
      lw.reset();
      lw.ascii("bus link down adapter=");
      lw.ascii(this.buSpecs[a].id);
      lw.ascii(" reason=");
      lw.bytes(src, off + 12, len - 12);
      nd.logLine();
      return 0;
    }
    return -EINVAL;
  }

  private buSetLink(a: number, state: number): void {
    const l = this.buLink;
    if (l[a] !== state) {
      const ms = this.buLinkMs;
      ms[a] = this.buNd.nowMs;
    }
    l[a] = state;
  }
}
