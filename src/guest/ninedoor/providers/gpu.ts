/**
 * `/gpu/<id>/{info,ctl,job,status}` over the simulated GPUs (`GpuSim`): a lease per GPU (granted by a
 * `/queen/ctl` GPU spawn), `RELEASE` / `PRIORITY <n>` on ctl, JSON jobs on job, a status line ring.
 */
import { EBUSY, EINVAL, EPERM, EROFS } from "../../../secure9p/errors.ts";
import { Gate } from "./lifecycle.ts";
import { equalsAscii } from "../../lib/bytes.ts";
import { GpuSim, MAX_JOB_ID, MAX_JOB_MS } from "../gpu.ts";
import { JsonType } from "../json.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered, safeBytes, trimmedLen } from "../provider.ts";
import { Access } from "../tree.ts";

const Kind = { Info: 1, Ctl: 2, Job: 3, Status: 4 } as const;

export class GpuFiles implements Provider {
  provId = -1;
  sim: GpuSim;
  private nd: NineDoor;

  constructor(nd: NineDoor) {
    this.nd = nd;
    this.sim = new GpuSim(nd.boot.gpus);
  }

  mountNodes(): void {
    const t = this.nd.tree;
    const id = this.provId;
    const gpus = this.nd.boot.gpus;
    const root = t.addDir(0, "gpu", 0, 0);
    for (let g = 0; g < gpus.length; g++) {
      const d = t.addDir(root, gpus[g].id, g, 0);
      t.add(d, "info", id, Kind.Info, Access.ReadOnly, g, 0);
      t.add(d, "ctl", id, Kind.Ctl, Access.Control, g, 0);
      t.add(d, "job", id, Kind.Job, Access.AppendOnly, g, 0);
      // Append-only: breadcrumb lines when the GPU bridge extension is on (else writes are EROFS).
      t.add(d, "status", id, Kind.Status, Access.AppendOnly, g, 0);
    }
  }

  nodeRead(kind: number, g: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    const sim = this.sim;
    if (kind === Kind.Status) return sim.status.read(g, offset, dst, dstOff, count);
    if (kind === Kind.Job) return 0;
    const w = this.nd.scratch;
    w.reset();
    const lessee = sim.lessee[g];
    const ids = this.nd.workers.ids;
    if (kind === Kind.Info) {
      const hooks = this.nd.gpuHooks;
      // A configured GPU that the host bridge reports (same id) shows the bridge's live info.
      if (hooks === null || !hooks.ghInfo(g, w)) sim.info(g, w, lessee >= 0 ? ids.get(lessee) : "");
    } else {
      w.ascii("lease=");
      if (lessee < 0) w.ascii("none");
      else w.ascii(ids.get(lessee));
      w.labelUint(" priority=", sim.priority[g]);
      w.byte(10);
    }
    return readRendered(w, offset, dst, dstOff, count);
  }

  nodeWrite(_s: number, kind: number, g: number, src: Uint8Array, srcOff: number, count: number): number {
    if (kind === Kind.Ctl) return this.gpuCtl(g, src, srcOff, count);
    if (kind === Kind.Job) return this.gpuJob(g, src, srcOff, count);
    const hooks = this.nd.gpuHooks;
    if (kind === Kind.Status && hooks !== null) return hooks.ghBreadcrumb(g, src, srcOff, count);
    return -EROFS;
  }

  nodeSize(kind: number, g: number): number {
    return kind === Kind.Status ? this.sim.status.end[g] : 0;
  }

  nodeStart(kind: number, g: number): number {
    return kind === Kind.Status ? this.sim.status.start[g] : 0;
  }

  onTick(): void {}

  onClock(nowMs: number): void {
    this.sim.advance(nowMs);
  }

  /** `RELEASE` or `PRIORITY <n>`, one command per write. */
  private gpuCtl(g: number, src: Uint8Array, off: number, count: number): number {
    const len = trimmedLen(src, off, count);
    const sim = this.sim;
    const hooks = this.nd.gpuHooks;
    if (hooks !== null && len > 7 && (equalsAscii(src, off, 6, "LEASE ") || equalsAscii(src, off, 7, "CANCEL "))) {
      const r = hooks.ghLease(g, src, off, len);
      return r < 0 ? r : count;
    }
    if (sim.lessee[g] < 0) return -EINVAL;
    if (equalsAscii(src, off, len, "RELEASE")) {
      const w = sim.lessee[g];
      sim.release(g, "released");
      const wg = this.nd.workers.gpu;
      wg[w] = -1;
      return count;
    }
    if (len > 9 && equalsAscii(src, off, 9, "PRIORITY ")) {
      let v = 0;
      for (let i = off + 9; i < off + len; i++) {
        const b = src[i];
        if (b < 48 || b > 57 || v > 255) return -EINVAL;
        v = v * 10 + (b - 48);
      }
      if (v > 255) return -EINVAL;
      sim.setPriority(g, v);
      return count;
    }
    return -EINVAL;
  }

  /** `{"id":"<job>","ms":<n>[,"kernel":"<name>"]}` queues a simulated job on a leased GPU. */
  private gpuJob(g: number, src: Uint8Array, off: number, count: number): number {
    if (this.sim.lessee[g] < 0) return -EINVAL;
    if (!this.nd.lifecycleSvc.lcAllows(Gate.GpuJob)) return -EPERM;
    const t = this.nd.parser.tokens;
    const len = trimmedLen(src, off, count);
    if (t.parse(src, off, len) < 0 || t.type[0] !== JsonType.Object) return -EINVAL;
    let idTok = -1;
    let ms = -1;
    let i = 1;
    for (let p = 0; p < t.size[0]; p++) {
      const v = i + 1;
      if (t.is(i, "id") && idTok < 0) idTok = v;
      else if (t.is(i, "ms") && ms < 0) {
        ms = t.uint(v);
        if (ms < 0) return -EINVAL;
      } else if (!(t.is(i, "kernel") && t.type[v] === JsonType.String)) return -EINVAL;
      i = t.next[v];
    }
    if (idTok < 0 || ms < 0 || ms > MAX_JOB_MS || t.type[idTok] !== JsonType.String) return -EINVAL;
    const idOff = t.start[idTok];
    const idLen = t.end[idTok] - idOff;
    if (idLen < 1 || idLen > MAX_JOB_ID || !safeBytes(src, idOff, idLen)) return -EINVAL;
    if (!this.sim.submit(g, src, idOff, idLen, ms, this.nd.nowMs)) return -EBUSY;
    return count;
  }
}
