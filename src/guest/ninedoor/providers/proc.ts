/**
 * `/proc`: the hive's state as text — boot facts, sessions, workers, pressure counters, open fids —
 * and the self-test scripts `cohsh test` runs (guest constants: the guest reads no files).
 */
import { sizedWriter } from "../alloc.ts";
import { COHESIX_VERSION } from "../../version.ts";
import type { ByteWriter } from "../../lib/bytes.ts";
import { EROFS } from "../../../secure9p/errors.ts";
import { SELFTEST_NAMES, SELFTEST_SCRIPTS } from "../../console/selftests.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered, safe } from "../provider.ts";
import { Access } from "../tree.ts";
import { pressureDirOn } from "./observability.ts";

const Kind = { Boot: 1, Sessions: 2, Workers: 3, Pressure: 4, Fids: 5, Test: 6 } as const;

export class ProcFiles implements Provider {
  provId = -1;
  private nd: NineDoor;
  private bootText: ByteWriter;

  constructor(nd: NineDoor) {
    this.nd = nd;
    this.bootText = sizedWriter(1024);
  }

  mountNodes(): void {
    const t = this.nd.tree;
    const id = this.provId;
    const proc = t.addDir(0, "proc", 0, 0);
    this.nd.procDir = proc;
    t.add(proc, "boot", id, Kind.Boot, Access.ReadOnly, 0, 0);
    t.add(proc, "sessions", id, Kind.Sessions, Access.ReadOnly, 0, 0);
    t.add(proc, "workers", id, Kind.Workers, Access.ReadOnly, 0, 0);
    // With [observability.proc_pressure] on, /proc/pressure is a directory (busy, quota, cut, policy from
    // ObservabilityFiles) and this full counter line is its `counters` file.
    if (pressureDirOn(this.nd.boot.observability)) {
      t.add(t.addDir(proc, "pressure", 0, 0), "counters", id, Kind.Pressure, Access.ReadOnly, 0, 0);
    } else t.add(proc, "pressure", id, Kind.Pressure, Access.ReadOnly, 0, 0);
    t.add(proc, "fids", id, Kind.Fids, Access.ReadOnly, 0, 0);
    const tests = t.addDir(proc, "tests", 0, 0);
    for (let i = 0; i < SELFTEST_NAMES.length; i++) t.add(tests, SELFTEST_NAMES[i], id, Kind.Test, Access.ReadOnly, i, 0);
    this.writeBootText();
  }

  private writeBootText(): void {
    const b = this.bootText;
    const boot = this.nd.boot;
    b.ascii("Cohesix boot: root-task online\nversion=");
    b.ascii(COHESIX_VERSION);
    b.ascii("\nmanifest=");
    safe(b, boot.manifestFingerprint);
    b.labelUint("\nlimits sessions=", boot.limits.maxSessions);
    b.labelUint(" workers=", boot.limits.maxWorkers);
    b.labelUint(" tick_ms=", boot.tickMs);
    b.labelUint(" telemetry_ring_bytes=", boot.telemetryRingBytes);
    b.labelUint(" trace_ring_bytes=", boot.traceRingBytes);
    b.labelUint("\nsecure9p msize=", boot.limits.msize);
    b.labelUint(" walk_depth=", boot.limits.maxWalk);
    b.labelUint(" tags_per_session=", boot.limits.maxTagsPerSession);
    b.ascii("\nroles=");
    const roles = this.nd.roles.names;
    for (let r = 0; r < roles.length; r++) {
      if (r > 0) b.byte(44);
      b.ascii(roles[r]);
    }
    b.ascii("\ngpus=");
    for (let g = 0; g < boot.gpus.length; g++) {
      if (g > 0) b.byte(44);
      safe(b, boot.gpus[g].id);
    }
    b.byte(10);
  }

  nodeRead(kind: number, arg: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    if (kind === Kind.Boot) return readRendered(this.bootText, offset, dst, dstOff, count);
    const w = this.nd.scratch;
    w.reset();
    switch (kind) {
      case Kind.Sessions:
        this.renderSessions(w);
        break;
      case Kind.Workers:
        this.nd.workerSvc.renderList(w);
        break;
      case Kind.Pressure:
        this.renderPressure(w);
        break;
      case Kind.Fids:
        this.renderFids(w);
        break;
      case Kind.Test:
        w.ascii(SELFTEST_SCRIPTS[arg]);
        break;
    }
    return readRendered(w, offset, dst, dstOff, count);
  }

  nodeWrite(_s: number, _kind: number, _arg: number, _src: Uint8Array, _off: number, _count: number): number {
    return -EROFS;
  }

  nodeSize(kind: number, arg: number): number {
    if (kind === Kind.Boot) return this.bootText.len;
    if (kind === Kind.Test) return SELFTEST_SCRIPTS[arg].length; // ASCII: one byte per char
    return 0;
  }

  nodeStart(_kind: number, _arg: number): number {
    return 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {}

  private renderSessions(w: ByteWriter): void {
    const ss = this.nd.sessions;
    w.labelUint("sessions active=", ss.liveCount);
    w.labelUint(" max=", ss.cap);
    w.byte(10);
    for (let s = 0; s < ss.cap; s++) {
      if (ss.live[s] === 0) continue;
      w.labelUint("session id=", s);
      w.ascii(" role=");
      w.ascii(this.nd.roles.names[ss.role[s]]);
      w.ascii(" subject=");
      if (ss.subject.get(s).length === 0) w.byte(45);
      else safe(w, ss.subject.get(s));
      w.ascii(" state=");
      w.ascii(ss.revoked[s] !== 0 ? "revoked" : "active");
      w.labelUint(" ops=", ss.usedOps[s]);
      w.labelUint(" bytes=", ss.usedBytes[s]);
      w.labelUint(" open=", ss.openCount[s]);
      w.labelUint(" mounts=", ss.mountCount[s]);
      w.byte(10);
    }
  }

  private renderPressure(w: ByteWriter): void {
    const p = this.nd.pressure;
    w.labelUint("denied=", p.denied);
    w.labelUint(" quota=", p.quota);
    w.labelUint(" busy=", p.busy);
    w.labelUint(" ctl_rejected=", p.ctlRejected);
    w.labelUint(" attach_refused=", p.attachRefused);
    w.labelUint(" revoked=", p.revoked);
    w.labelUint(" ticks_skipped=", p.ticksSkipped);
    w.labelUint(" telemetry_refused=", p.telemetryRefused);
    w.labelUint(" log_dropped=", this.nd.log.dropped[0]);
    w.labelUint(" trace_filtered=", this.nd.trace.filtered);
    w.labelUint(" cut=", p.cut);
    w.byte(10);
  }

  private renderFids(w: ByteWriter): void {
    const ss = this.nd.sessions;
    let total = 0;
    for (let s = 0; s < ss.cap; s++) if (ss.live[s] !== 0) total += ss.openCount[s];
    w.labelUint("open=", total);
    w.labelUint(" per_session_max=", ss.maxOpen);
    w.labelUint(" nodes=", this.nd.tree.liveCount);
    w.labelUint(" node_max=", this.nd.tree.cap);
    w.byte(10);
  }
}
