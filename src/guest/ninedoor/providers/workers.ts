/**
 * Workers: `/shard/<label>/worker/<id>/telemetry` (append-only heartbeat ring; label from
 * `shard.ts`), its legacy alias `/worker/<id>/telemetry` (the only path when sharding is off; both
 * nodes serve the same ring), `/proc/<id>/trace` (the worker's
 * trace ring) and the `/proc/workers` listing. Owns the worker table, spawn and budgets, the tick
 * that writes heartbeats, and exits: an exited worker's sessions are revoked and its GPU lease ends,
 * but its files stay readable (read-only, final contents) for `workers.retain_s`, then disappear
 * (open handles answer Closed).
 */
import { allocI32, allocU8 } from "../alloc.ts";
import type { ShardingSpec } from "../../boot.ts";
import type { ByteWriter } from "../../lib/bytes.ts";
import { EPERM, EROFS } from "../../../secure9p/errors.ts";
import { type CtlCommand, SpawnKind } from "../control.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered } from "../provider.ts";
import { RingSet } from "../ring.ts";
import { Cat, Level } from "../trace.ts";
import { Access } from "../tree.ts";
import { Gate } from "./lifecycle.ts";
import { shardIndex, shardName } from "../shard.ts";
import { EXIT_REASONS, exitReasonCode, WorkerKind, WorkerTable } from "../workers.ts";

const Kind = { Telemetry: 1, Trace: 2 } as const;
const HEARTBEAT = "heartbeat ";

/** Nodes `WorkerFiles.mountNodes` adds (NineDoor sizes the tree from this and `workerNodeCount`). */
export function workerBootNodes(sh: ShardingSpec): number {
  return 1 + (sh.enabled ? 1 + 2 * Math.pow(2, sh.shardBits) : 0);
}

/** Nodes one worker takes: telemetry dir + file (twice with the legacy alias), /proc/<id> + trace. */
export function workerNodeCount(sh: ShardingSpec): number {
  return sh.enabled && sh.legacyWorkerAlias ? 6 : 4;
}

export class WorkerFiles implements Provider {
  provId = -1;
  table: WorkerTable;
  /** Telemetry ring per worker slot. */
  rings: RingSet;
  /** Budget applied to spawns that do not name one (`/queen/ctl` budget without a worker). */
  defTicks: number;
  defOps: number;
  defTtlS: number;
  private nd: NineDoor;
  /** `/worker` (unsharded, or the legacy alias), else -1. */
  private root = -1;
  /** `/shard/<label>/worker` per shard index (sharded only). */
  private shardDirs: Int32Array;
  /** Shard labels ("00".."ff"), built at boot: the `$shard` of role rules. */
  private shardLabels: string[] = [];
  private sharded: boolean;
  private shardBits: number;
  private retainMs: number;
  /** The heartbeat line buffer: prefix filled at boot, digits per tick. */
  private beat: Uint8Array;

  constructor(nd: NineDoor) {
    this.nd = nd;
    const boot = nd.boot;
    this.table = new WorkerTable(boot.limits.maxWorkers);
    this.rings = new RingSet(boot.limits.maxWorkers, boot.telemetryRingBytes);
    this.defTicks = boot.defaultBudget.ticks;
    this.defOps = boot.defaultBudget.ops;
    this.defTtlS = boot.defaultBudget.ttlS;
    this.retainMs = boot.workerRetainS * 1000;
    this.sharded = boot.sharding.enabled;
    this.shardBits = boot.sharding.shardBits;
    const shards = this.sharded ? Math.pow(2, this.shardBits) : 0;
    this.shardDirs = allocI32(shards > 0 ? shards : 1);
    for (let i = 0; i < shards; i++) this.shardLabels.push(shardName(i));
    const beat = allocU8(HEARTBEAT.length + 17);
    for (let i = 0; i < HEARTBEAT.length; i++) beat[i] = HEARTBEAT.charCodeAt(i);
    this.beat = beat;
  }

  mountNodes(): void {
    const tree = this.nd.tree;
    if (!this.sharded || this.nd.boot.sharding.legacyWorkerAlias) this.root = tree.addDir(0, "worker", 0, 0);
    if (!this.sharded) return;
    const top = tree.addDir(0, "shard", 0, 0);
    const dirs = this.shardDirs;
    for (let i = 0; i < this.shardLabels.length; i++) {
      dirs[i] = tree.addDir(tree.addDir(top, this.shardLabels[i], 0, 0), "worker", 0, 0);
    }
  }


  nodeRead(kind: number, w: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    if (kind === Kind.Telemetry) {
      const n = this.rings.read(w, offset, dst, dstOff, count);
      this.nd.ingest.onRead(w, this.nd.nowMs, n);
      return n;
    }
    return this.nd.trace.perWorker.read(w, offset, dst, dstOff, count);
  }

  nodeWrite(_s: number, kind: number, w: number, src: Uint8Array, srcOff: number, count: number): number {
    if (kind !== Kind.Telemetry) return -EROFS;
    if (!this.nd.lifecycleSvc.lcAllows(Gate.WorkerTelemetry)) return -EPERM;
    return this.appendTelemetry(w, src, srcOff, count);
  }

  /** Appends to worker `w`'s telemetry ring, counted for /proc/pressure and /proc/ingest. */
  private appendTelemetry(w: number, src: Uint8Array, srcOff: number, count: number): number {
    const nd = this.nd;
    const rings = this.rings;
    const dropped = rings.dropped[w];
    const n = rings.append(w, src, srcOff, count);
    if (n < 0) {
      nd.pressure.telemetryRefused++;
      nd.ingest.onRefused();
    } else nd.ingest.onAppend(w, nd.nowMs, n, rings.dropped[w] - dropped);
    return n;
  }

  nodeSize(kind: number, w: number): number {
    return kind === Kind.Telemetry ? this.rings.end[w] : this.nd.trace.perWorker.end[w];
  }

  nodeStart(kind: number, w: number): number {
    return kind === Kind.Telemetry ? this.rings.start[w] : this.nd.trace.perWorker.start[w];
  }

  // ---- queries NineDoor makes ---------------------------------------------------------------------

  /** The running worker a worker-role ticket subject may attach as, or -1. */
  attachable(subject: string, gpu: boolean): number {
    const w = this.table.findNamed(subject);
    const want = gpu ? WorkerKind.Gpu : WorkerKind.Heartbeat;
    if (w < 0 || this.table.kind[w] !== want) return -1;
    return w;
  }

  /** The GPU id leased to worker slot `w` ("" for none or no worker): the `$gpu` of role rules. */
  leasedGpu(w: number): string {
    if (w < 0) return "";
    const g = this.table.gpu[w];
    return g >= 0 ? this.nd.gpus.ids[g] : "";
  }

  /** The shard label of worker slot `w` ("" for none or unsharded): the `$shard` of role rules. */
  shardOf(w: number): string {
    if (w < 0 || !this.sharded) return "";
    return this.shardLabels[this.table.shard[w]];
  }

  /** Counts one successful operation of worker `w`'s sessions against its ops budget. */
  countOp(w: number): void {
    const ws = this.table;
    if (ws.live[w] === 0) return;
    const used = ws.opsUsed;
    used[w] = used[w] + 1;
    const budget = ws.budgetOps[w];
    if (budget > 0 && used[w] >= budget) this.revoke(w, "ops");
  }

  /** `/proc/workers`: a header, then one line per running or exited (retained) worker. */
  renderList(w: ByteWriter): void {
    const ws = this.table;
    const now = this.nd.nowMs;
    w.labelUint("workers active=", ws.liveCount);
    w.labelUint(" max=", ws.cap);
    w.labelUint(" spawned=", ws.seq);
    w.byte(10);
    for (let i = 0; i < ws.cap; i++) {
      if (ws.live[i] === 0 && ws.held[i] === 0) continue;
      w.ascii(ws.ids.get(i));
      w.ascii(ws.kind[i] === WorkerKind.Gpu ? " kind=gpu" : " kind=heartbeat");
      if (ws.live[i] === 0) {
        w.ascii(" state=exited reason=");
        w.ascii(EXIT_REASONS[ws.exitReason[i]]);
        w.labelUint(" tick=", ws.tick[i]);
        w.labelUint(" ops=", ws.opsUsed[i]);
        w.labelUint(" telemetry_end=", this.rings.end[i]);
        const until = ws.exitMs[i] + this.retainMs;
        w.labelUint(" retain_ms_left=", until > now ? until - now : 0);
        w.byte(10);
        continue;
      }
      w.labelUint(" tick=", ws.tick[i]);
      w.labelUint(" ticks=", ws.budgetTicks[i]);
      w.labelUint(" ops=", ws.opsUsed[i]);
      w.byte(47);
      w.uint(ws.budgetOps[i]);
      w.ascii(" ttl_ms_left=");
      const dl = ws.deadlineMs[i];
      w.uint(dl > 0 ? (dl > now ? dl - now : 0) : 0);
      w.labelUint(" telemetry_start=", this.rings.start[i]);
      w.labelUint(" telemetry_end=", this.rings.end[i]);
      w.labelUint(" dropped=", this.rings.dropped[i]);
      if (ws.gpu[i] >= 0) {
        w.ascii(" gpu=");
        w.ascii(this.nd.gpus.ids[ws.gpu[i]]);
      }
      w.byte(10);
    }
  }

  // ---- lifecycle (called by /queen/ctl) -----------------------------------------------------------

  /** Spawns a worker from a checked `spawn` command (a slot is available: checked by the caller). */
  spawn(src: Uint8Array, cmd: CtlCommand): void {
    const nd = this.nd;
    const ws = this.table;
    let w = ws.alloc();
    if (w < 0) {
      // Every slot is running or retained: the worker that exited first gives its files up early.
      this.purge(ws.oldestHeld());
      w = ws.alloc();
    }
    const seq = ws.seq + 1;
    ws.seq = seq;
    const id = "worker-" + seq;
    ws.ids.set(w, id);
    const kind = ws.kind;
    const gpu = cmd.spawnKind === SpawnKind.Gpu;
    kind[w] = gpu ? WorkerKind.Gpu : WorkerKind.Heartbeat;
    const sp = ws.spawnMs;
    sp[w] = nd.nowMs;
    const bt = ws.budgetTicks;
    const bo = ws.budgetOps;
    const dl = ws.deadlineMs;
    let ttl = this.defTtlS;
    let ops = this.defOps;
    if (gpu) {
      // A GPU worker lives as long as its lease and gets eight operations per stream (reference).
      ttl = cmd.leaseTtlS;
      ops = cmd.leaseStreams * 8;
      bt[w] = 0;
    } else bt[w] = cmd.ticks;
    if (cmd.budgetTtlS >= 0) ttl = cmd.budgetTtlS;
    if (cmd.budgetOps >= 0) ops = cmd.budgetOps;
    if (cmd.budgetTicks >= 0 && !gpu) bt[w] = cmd.budgetTicks;
    bo[w] = ops;
    dl[w] = ttl > 0 ? nd.nowMs + ttl * 1000 : 0;
    const tree = nd.tree;
    const now = Math.floor(nd.nowMs / 1000);
    const si = this.sharded ? shardIndex(id, this.shardBits) : 0;
    let dir = -1;
    let alias = -1;
    if (this.sharded) dir = tree.addDir(this.shardDirs[si], id, w, now);
    if (this.root >= 0) {
      alias = tree.addDir(this.root, id, w, now);
      if (!this.sharded) {
        dir = alias;
        alias = -1;
      }
    }
    tree.add(dir, "telemetry", this.provId, Kind.Telemetry, Access.AppendOnly, w, now);
    if (alias >= 0) tree.add(alias, "telemetry", this.provId, Kind.Telemetry, Access.AppendOnly, w, now);
    const proc = tree.addDir(nd.procDir, id, w, now);
    tree.add(proc, "trace", this.provId, Kind.Trace, Access.ReadOnly, w, now);
    const ds = ws.dirSlot;
    const as = ws.aliasSlot;
    const ps = ws.procSlot;
    const sh = ws.shard;
    ds[w] = dir;
    as[w] = alias;
    ps[w] = proc;
    sh[w] = si;
    this.nd.ingest.onReset(w, this.rings.end[w] - this.rings.start[w]);
    this.rings.reset(w);
    nd.trace.perWorker.reset(w);
    if (gpu) {
      const g = nd.gpus.indexOf(src, cmd.gpu.off, cmd.gpu.len);
      const wg = ws.gpu;
      wg[w] = g;
      nd.gpus.lease(g, w, id, cmd.leaseMemMb, cmd.leaseStreams, cmd.leaseTtlS, cmd.leasePriority);
    }
    const lw = nd.lw;
    lw.reset();
    lw.ascii("spawn worker=");
    lw.ascii(id);
    lw.ascii(gpu ? " kind=gpu gpu=" : " kind=heartbeat");
    if (gpu) lw.ascii(nd.gpus.ids[ws.gpu[w]]);
    lw.labelUint(" ticks=", bt[w]);
    lw.labelUint(" ops=", ops);
    lw.labelUint(" ttl_s=", ttl);
    nd.logLine();
    if (nd.trace.begin(Cat.Queen, Level.Info, nd.nowMs, w)) {
      nd.trace.w.ascii("spawn ");
      nd.trace.w.ascii(id);
      nd.trace.end();
    }
  }

  /** Sets budget fields of worker `w` from a checked `budget` command. */
  setBudget(w: number, cmd: CtlCommand): void {
    const nd = this.nd;
    const ws = this.table;
    const bt = ws.budgetTicks;
    const bo = ws.budgetOps;
    const dl = ws.deadlineMs;
    if (cmd.budgetTicks >= 0 && ws.kind[w] === WorkerKind.Heartbeat) bt[w] = cmd.budgetTicks;
    if (cmd.budgetOps >= 0) bo[w] = cmd.budgetOps;
    if (cmd.budgetTtlS >= 0) dl[w] = cmd.budgetTtlS > 0 ? nd.nowMs + cmd.budgetTtlS * 1000 : 0;
    const lw = nd.lw;
    lw.reset();
    lw.ascii("budget worker=");
    lw.ascii(ws.ids.get(w));
    lw.labelUint(" ticks=", bt[w]);
    lw.labelUint(" ops=", bo[w]);
    lw.labelUint(" ttl_ms_left=", dl[w] > 0 ? dl[w] - nd.nowMs : 0);
    nd.logLine();
    // A lowered budget may already be spent.
    if (bt[w] > 0 && ws.tick[w] >= bt[w]) this.revoke(w, "ticks");
    else if (bo[w] > 0 && ws.opsUsed[w] >= bo[w]) this.revoke(w, "ops");
  }

  /** Sets the default budget of later spawns; fields not given keep their value. */
  setDefaults(cmd: CtlCommand): void {
    if (cmd.budgetTicks >= 0) this.defTicks = cmd.budgetTicks;
    if (cmd.budgetOps >= 0) this.defOps = cmd.budgetOps;
    if (cmd.budgetTtlS >= 0) this.defTtlS = cmd.budgetTtlS;
    const lw = this.nd.lw;
    lw.reset();
    lw.labelUint("budget default ticks=", this.defTicks);
    lw.labelUint(" ops=", this.defOps);
    lw.labelUint(" ttl_s=", this.defTtlS);
    this.nd.logLine();
  }

  /**
   * Ends a running worker: one `revoke` line names the reason, its sessions are revoked, its GPU
   * lease ends; its files stay readable (telemetry turns read-only) for the retention time.
   */
  revoke(w: number, reason: string): void {
    const nd = this.nd;
    const ws = this.table;
    if (w < 0 || ws.live[w] === 0) return;
    const id = ws.ids.get(w);
    const lw = nd.lw;
    lw.reset();
    lw.ascii("revoke worker=");
    lw.ascii(id);
    lw.ascii(" reason=");
    lw.ascii(reason);
    lw.labelUint(" tick=", ws.tick[w]);
    lw.labelUint(" ops=", ws.opsUsed[w]);
    nd.logLine();
    if (nd.trace.begin(Cat.Queen, Level.Info, nd.nowMs, -1)) {
      nd.trace.w.ascii("revoke ");
      nd.trace.w.ascii(id);
      nd.trace.w.ascii(" ");
      nd.trace.w.ascii(reason);
      nd.trace.end();
    }
    nd.pressure.revoked++;
    if (ws.gpu[w] >= 0) nd.gpus.release(ws.gpu[w], reason);
    nd.revokeWorkerSessions(w);
    if (this.retainMs <= 0) {
      this.purgeFiles(w);
      ws.free(w);
      return;
    }
    const tree = nd.tree;
    const acc = tree.access;
    const tel = tree.firstChild[ws.dirSlot[w]];
    if (tel >= 0) acc[tel] = Access.ReadOnly;
    if (ws.aliasSlot[w] >= 0) {
      const aliasTel = tree.firstChild[ws.aliasSlot[w]];
      if (aliasTel >= 0) acc[aliasTel] = Access.ReadOnly;
    }
    ws.exit(w, nd.nowMs, exitReasonCode(reason));
  }

  /** Drops a held (exited) worker's files and frees its slot. */
  private purge(w: number): void {
    if (w < 0 || this.table.held[w] === 0) return;
    this.purgeFiles(w);
    this.table.free(w);
  }

  private purgeFiles(w: number): void {
    // The telemetry is unreachable from here on: it no longer counts as queued ingest.
    this.nd.ingest.onReset(w, this.rings.end[w] - this.rings.start[w]);
    this.rings.reset(w);
    this.nd.dropSubtree(this.table.dirSlot[w]);
    if (this.table.aliasSlot[w] >= 0) this.nd.dropSubtree(this.table.aliasSlot[w]);
    this.nd.dropSubtree(this.table.procSlot[w]);
  }

  // ---- time ------------------------------------------------------------------------------------------

  onTick(): void {
    const nd = this.nd;
    const ws = this.table;
    const tick = ws.tick;
    const live = ws.live;
    const kind = ws.kind;
    const line = this.beat;
    const trace = nd.trace;
    const tracing = trace.level >= Level.Debug && trace.enabled[Cat.Worker] !== 0;
    for (let w = 0; w < ws.cap; w++) {
      if (live[w] === 0 || kind[w] !== WorkerKind.Heartbeat) continue;
      const n = tick[w] + 1;
      tick[w] = n;
      // The hot loop of the hive: "heartbeat <n>\n" built in place (prefix written once at boot).
      let digits = 1;
      let div = 1;
      while (div * 10 <= n) {
        div = div * 10;
        digits++;
      }
      let pos = HEARTBEAT.length;
      while (div >= 1) {
        line[pos] = 48 + (Math.floor(n / div) % 10);
        pos++;
        div = div / 10;
      }
      line[pos] = 10;
      this.appendTelemetry(w, line, 0, HEARTBEAT.length + digits + 1);
      if (tracing && trace.begin(Cat.Worker, Level.Debug, nd.nowMs, w)) {
        trace.w.ascii("tick ");
        trace.w.uint(n);
        trace.end();
      }
      if (ws.budgetTicks[w] > 0 && n >= ws.budgetTicks[w]) this.revoke(w, "ticks");
    }
  }

  /** Ends workers whose ttl passed, then drops the files of exits older than the retention time. */
  onClock(nowMs: number): void {
    const ws = this.table;
    for (let w = 0; w < ws.cap; w++) {
      if (ws.live[w] !== 0 && ws.deadlineMs[w] > 0 && ws.deadlineMs[w] <= nowMs) this.revoke(w, "ttl");
    }
    if (ws.heldCount === 0) return;
    for (let w = 0; w < ws.cap; w++) {
      if (ws.held[w] !== 0 && ws.exitMs[w] + this.retainMs <= nowMs) this.purge(w);
    }
  }
}
