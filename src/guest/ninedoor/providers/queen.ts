/**
 * `/queen/ctl`: the queen's control file. One write carries up to `max_ctl_commands` JSON lines
 * (spawn, kill, budget, bind, mount); every line is parsed and checked against the hive's state
 * before any is applied, so a write with one bad line changes nothing and logs why.
 */
import { EBUSY, EINVAL, EMSGSIZE, ENOENT, EPERM, errnoName } from "../../../secure9p/errors.ts";
import { equalsAscii } from "../../lib/bytes.ts";
import { CtlCommand, CtlOp, Reason, SpawnKind } from "../control.ts";
import type { NineDoor } from "../ninedoor.ts";
import type { Provider } from "../provider.ts";
import { Access } from "../tree.ts";
import { Gate } from "./lifecycle.ts";

/** Top-level directories `mount` accepts as a service name. */
const SERVICES = ["proc", "log", "queen", "worker", "gpu", "trace"];

export class QueenFiles implements Provider {
  provId = -1;
  private nd: NineDoor;
  private cmds: CtlCommand[] = [];

  constructor(nd: NineDoor) {
    this.nd = nd;
    for (let i = 0; i < nd.boot.limits.maxCtlCommands; i++) this.cmds.push(new CtlCommand());
  }

  mountNodes(): void {
    const t = this.nd.tree;
    const dir = t.addDir(0, "queen", 0, 0);
    t.add(dir, "ctl", this.provId, 0, Access.Control, 0, 0);
  }

  nodeRead(_kind: number, _arg: number, _offset: number, _dst: Uint8Array, _dstOff: number, _count: number): number {
    return 0;
  }

  nodeWrite(s: number, _kind: number, _arg: number, src: Uint8Array, srcOff: number, count: number): number {
    return this.queenCtl(s, src, srcOff, count);
  }

  nodeSize(_kind: number, _arg: number): number {
    return 0;
  }

  nodeStart(_kind: number, _arg: number): number {
    return 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {}

  /**
   * Parses and checks every line of one write, then applies them all, so a write with any bad line
   * changes nothing. Returns `count` or -errno; a rejection is logged with its line and reason.
   */
  private queenCtl(s: number, src: Uint8Array, off: number, count: number): number {
    const nd = this.nd;
    if (count > nd.boot.limits.maxCtlBytes) return this.rejectCtl(0, EMSGSIZE, Reason.TooBig);
    const cmds = this.cmds;
    let n = 0;
    let lineStart = off;
    const end = off + count;
    let newSpawns = 0;
    let newMounts = 0;
    for (let i = off; i <= end; i++) {
      if (i < end && src[i] !== 10) continue;
      const len = i - lineStart;
      if (!blank(src, lineStart, len)) {
        if (n >= cmds.length) return this.rejectCtl(n + 1, EINVAL, Reason.TooMany);
        const cmd = cmds[n];
        if (!nd.parser.parse(src, lineStart, len, cmd)) return this.rejectCtl(n + 1, cmd.errno, cmd.reason);
        const err = this.checkCmd(s, src, cmd, n, newSpawns, newMounts);
        if (err !== 0) return this.rejectCtl(n + 1, err, cmd.reason);
        if (cmd.op === CtlOp.Spawn) newSpawns++;
        if (cmd.op === CtlOp.Bind || cmd.op === CtlOp.Mount) newMounts++;
        n++;
      }
      lineStart = i + 1;
    }
    if (n === 0) return this.rejectCtl(1, EINVAL, Reason.NoCommand);
    for (let k = 0; k < n; k++) this.applyCmd(s, src, cmds[k]);
    return count;
  }

  private rejectCtl(line: number, errno: number, reason: string): number {
    const nd = this.nd;
    nd.pressure.ctlRejected++;
    const lw = nd.lw;
    lw.reset();
    lw.labelUint("queen-ctl outcome=reject line=", line);
    lw.ascii(" error=");
    lw.ascii(errnoName(errno));
    lw.ascii(" reason=");
    lw.ascii(reason);
    nd.logLine();
    return -errno;
  }

  /** State checks for command `k` of a batch, counting what earlier commands of it will take. */
  private checkCmd(s: number, src: Uint8Array, cmd: CtlCommand, k: number, spawns: number, mounts: number): number {
    const nd = this.nd;
    const ws = nd.workers;
    switch (cmd.op) {
      case CtlOp.Spawn: {
        if (!nd.lifecycleSvc.lcAllows(Gate.Spawn)) return this.cmdErr(cmd, EPERM, "lifecycle-denied");
        if (spawns >= ws.freeSlots()) return this.cmdErr(cmd, EBUSY, "worker-table-full");
        if (cmd.spawnKind === SpawnKind.Heartbeat) {
          if (cmd.ticks < 1) return this.cmdErr(cmd, EINVAL, Reason.NeedTicks);
          return 0;
        }
        const gpus = nd.gpus;
        const g = gpus.indexOf(src, cmd.gpu.off, cmd.gpu.len);
        if (g < 0) return this.cmdErr(cmd, ENOENT, "unknown-gpu");
        if (gpus.lessee[g] >= 0 || this.batchLeases(src, g, k)) {
          return this.cmdErr(cmd, EBUSY, "gpu-leased");
        }
        if (cmd.leaseMemMb > gpus.memMb[g] || cmd.leaseStreams < 1 || cmd.leaseStreams > gpus.streams[g]) {
          return this.cmdErr(cmd, EINVAL, "lease-exceeds-gpu");
        }
        return 0;
      }
      case CtlOp.Kill: {
        const w = ws.find(src, cmd.worker.off, cmd.worker.len);
        if (w < 0 || this.batchKills(src, cmd, k)) return this.cmdErr(cmd, ENOENT, "unknown-worker");
        return 0;
      }
      case CtlOp.Budget: {
        if (
          cmd.hasWorker && (ws.find(src, cmd.worker.off, cmd.worker.len) < 0 || this.batchKills(src, cmd, k))
        ) {
          return this.cmdErr(cmd, ENOENT, "unknown-worker");
        }
        return 0;
      }
      case CtlOp.Bind:
      case CtlOp.Mount: {
        if (nd.sessions.mountCount[s] + mounts >= nd.sessions.maxMounts) {
          return this.cmdErr(cmd, EBUSY, "mount-table-full");
        }
        if (cmd.op === CtlOp.Mount && serviceIndex(src, cmd) < 0) {
          return this.cmdErr(cmd, ENOENT, "unknown-service");
        }
        if (cmd.op === CtlOp.Bind && nd.resolve(src, cmd.from.off, cmd.from.len) < 0) {
          return this.cmdErr(cmd, ENOENT, "no-such-path");
        }
        const at = nd.resolve(src, cmd.to.off, cmd.to.len);
        if (at <= 0) {
          return this.cmdErr(cmd, at === 0 ? EINVAL : ENOENT, at === 0 ? "cannot-bind-root" : "no-such-path");
        }
        return 0;
      }
    }
    return this.cmdErr(cmd, EINVAL, Reason.NoCommand);
  }

  private cmdErr(cmd: CtlCommand, errno: number, reason: string): number {
    cmd.errno = errno;
    cmd.reason = reason;
    return errno;
  }

  /** True when an earlier command of this batch leases GPU `g`. */
  private batchLeases(src: Uint8Array, g: number, k: number): boolean {
    for (let j = 0; j < k; j++) {
      const c = this.cmds[j];
      if (c.op === CtlOp.Spawn && c.spawnKind === SpawnKind.Gpu && this.nd.gpus.indexOf(src, c.gpu.off, c.gpu.len) === g) {
        return true;
      }
    }
    return false;
  }

  /** True when an earlier command of this batch kills the worker `cmd` names. */
  private batchKills(src: Uint8Array, cmd: CtlCommand, k: number): boolean {
    for (let j = 0; j < k; j++) {
      const c = this.cmds[j];
      if (c.op !== CtlOp.Kill || c.worker.len !== cmd.worker.len) continue;
      let same = true;
      for (let i = 0; i < c.worker.len; i++) {
        if (src[c.worker.off + i] !== src[cmd.worker.off + i]) same = false;
      }
      if (same) return true;
    }
    return false;
  }

  private applyCmd(s: number, src: Uint8Array, cmd: CtlCommand): void {
    const nd = this.nd;
    const svc = nd.workerSvc;
    const ws = nd.workers;
    switch (cmd.op) {
      case CtlOp.Spawn:
        svc.spawn(src, cmd);
        return;
      case CtlOp.Kill:
        svc.revoke(ws.find(src, cmd.worker.off, cmd.worker.len), "killed");
        return;
      case CtlOp.Budget:
        if (cmd.hasWorker) svc.setBudget(ws.find(src, cmd.worker.off, cmd.worker.len), cmd);
        else svc.setDefaults(cmd);
        return;
      case CtlOp.Bind:
      case CtlOp.Mount: {
        const at = nd.resolve(src, cmd.to.off, cmd.to.len);
        let from = 0;
        if (cmd.op === CtlOp.Bind) from = nd.resolve(src, cmd.from.off, cmd.from.len);
        else from = nd.tree.childNamed(0, SERVICES[serviceIndex(src, cmd)]);
        nd.sessions.addMount(s, at, from);
        const lw = nd.lw;
        lw.reset();
        lw.ascii(cmd.op === CtlOp.Bind ? "bind session=" : "mount session=");
        lw.uint(s);
        lw.ascii(" from=");
        nd.writePath(lw, from);
        lw.ascii(" to=");
        nd.writePath(lw, at);
        nd.logLine();
        return;
      }
    }
  }
}

function blank(buf: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) {
    const b = buf[off + i];
    if (b !== 32 && b !== 9 && b !== 13) return false;
  }
  return true;
}

function serviceIndex(src: Uint8Array, cmd: CtlCommand): number {
  for (let i = 0; i < SERVICES.length; i++) {
    if (equalsAscii(src, cmd.from.off, cmd.from.len, SERVICES[i])) return i;
  }
  return -1;
}
