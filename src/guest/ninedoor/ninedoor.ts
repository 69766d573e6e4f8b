/**
 * `NineDoor`: the hive's namespace. It implements the `Namespace` provider contract over a fixed
 * node tree and holds the hive's state: sessions (role, ticket quotas, mount table), workers with
 * budgets and telemetry rings, the queen log, TraceFS and the simulated GPUs. Time only moves through
 * `advance(nowMs)`. Everything is allocated in the constructor; requests fill caller buffers.
 */
import { allocU8, sizedWriter } from "./alloc.ts";
import type { BootConfig } from "../boot.ts";
import { COHESIX_VERSION } from "../version.ts";
import { ByteWriter, equalsAscii } from "../lib/bytes.ts";
import {
  EBADF,
  EBUSY,
  EINVAL,
  EISDIR,
  EMSGSIZE,
  ENOENT,
  ENOTDIR,
  EPERM,
  EROFS,
  errnoName,
} from "../../secure9p/errors.ts";
import {
  type DirEntry,
  type Namespace,
  type NodeStat,
  QTAPPEND,
  QTDIR,
  QTFILE,
} from "../../secure9p/namespace.ts";
import {
  checkClaims,
  MAX_SCOPES,
  TicketClaims,
  TicketStatus,
  ticketStatusName,
  type TicketVerifier,
} from "../tickets/ticket.ts";
import { CtlCommand, CtlOp, CtlParser, Reason, SpawnKind } from "./control.ts";
import { GpuSim, MAX_JOB_ID, MAX_JOB_MS } from "./gpu.ts";
import { JsonType } from "./json.ts";
import { RingSet } from "./ring.ts";
import { parseMode, PathScratch, RoleTable, RuleList, rulesAllow, Want } from "./roles.ts";
import { SessionTable } from "./sessions.ts";
import { Cat, categoryIndex, Level, levelIndex, TRACE_CATEGORIES, TRACE_LEVELS, TraceLog } from "./trace.ts";
import { Access, kindAccess, NodeKind, NodeTree } from "./tree.ts";
import { WorkerKind, WorkerTable } from "./workers.ts";
import { SELFTEST_NAMES, SELFTEST_SCRIPTS } from "../console/selftests.ts";

const OP_NAMES = ["walk", "open", "read", "write", "readdir", "stat"];
const Op = { Walk: 0, Open: 1, Read: 2, Write: 3, Readdir: 4, Stat: 5 } as const;
const TWO32 = 4294967296;
const SERVICES = ["proc", "log", "queen", "worker", "gpu", "trace"];
const HEARTBEAT = "heartbeat ";

/** Counters shown in `/proc/pressure`. */
export class Pressure {
  denied = 0;
  quota = 0;
  busy = 0;
  ctlRejected = 0;
  attachRefused = 0;
  revoked = 0;
  ticksSkipped = 0;
  telemetryRefused = 0;
}

export class NineDoor implements Namespace {
  readonly boot: BootConfig;
  tree: NodeTree;
  roles: RoleTable;
  sessions: SessionTable;
  workers: WorkerTable;
  telemetry: RingSet;
  log: RingSet;
  trace: TraceLog;
  gpus: GpuSim;
  pressure: Pressure = new Pressure();
  verifier: TicketVerifier | null;
  /** Status of the last refused or accepted attach (TicketStatus), for the console's detail. */
  lastAttachStatus = 0;
  /** "" or why the boot configuration was refused (then every attach is refused). */
  bootError = "";
  nowMs = 0;
  tickCount = 0;
  private nextTickMs: number;
  private started = false;
  private claims: TicketClaims = new TicketClaims();
  private parser: CtlParser = new CtlParser();
  private cmds: CtlCommand[] = [];
  private path: PathScratch = new PathScratch();
  private lw: ByteWriter;
  private scratch: ByteWriter;
  private bootText: ByteWriter;
  private catScratch: Uint8Array;
  /** The heartbeat line buffer: prefix filled at boot, digits per tick. */
  private beat: Uint8Array;
  private defTicks: number;
  private defOps: number;
  private defTtlS: number;
  // Static node slots.
  private procSlot: number;
  private workerRoot: number;
  private gpuRoot: number;
  private queenSlot: number;

  constructor(boot: BootConfig, verifier: TicketVerifier | null = null) {
    this.boot = boot;
    this.verifier = verifier;
    const lim = boot.limits;
    const nodes = 32 + boot.gpus.length * 5 + lim.maxWorkers * 4;
    this.tree = new NodeTree(nodes);
    this.roles = new RoleTable();
    // A malformed role table is a generator bug: record it and refuse every attach.
    this.bootError = this.roles.load(boot.roles);
    this.sessions = new SessionTable(lim.maxSessions, lim.maxOpenPerSession, lim.maxMountsPerSession);
    this.workers = new WorkerTable(lim.maxWorkers);
    this.telemetry = new RingSet(lim.maxWorkers, boot.telemetryRingBytes);
    this.log = new RingSet(1, boot.logRingBytes);
    this.trace = new TraceLog(boot.traceRingBytes, lim.maxWorkers, boot.workerTraceRingBytes);
    this.gpus = new GpuSim(boot.gpus);
    for (let i = 0; i < lim.maxCtlCommands; i++) this.cmds.push(new CtlCommand());
    this.lw = sizedWriter(1024);
    this.scratch = sizedWriter(8192 + lim.maxWorkers * 192 + lim.maxSessions * 160 + boot.gpus.length * 256);
    this.bootText = sizedWriter(1024);
    this.catScratch = allocU8(TRACE_CATEGORIES.length);
    const beat = allocU8(HEARTBEAT.length + 17);
    for (let i = 0; i < HEARTBEAT.length; i++) beat[i] = HEARTBEAT.charCodeAt(i);
    this.beat = beat;
    this.defTicks = boot.defaultBudget.ticks;
    this.defOps = boot.defaultBudget.ops;
    this.defTtlS = boot.defaultBudget.ttlS;
    this.nextTickMs = boot.tickMs;

    const cats = this.catScratch;
    for (let i = 0; i < boot.traceCategories.length; i++) {
      const c = categoryIndex(boot.traceCategories[i]);
      if (c >= 0) cats[c] = 1;
    }
    const level = levelIndex(boot.traceLevel);
    this.trace.setFilter(level < 0 ? Level.Info : level, cats);

    const t = this.tree;
    this.procSlot = t.add(0, "proc", NodeKind.Dir, 0, 0);
    t.add(this.procSlot, "boot", NodeKind.ProcBoot, 0, 0);
    t.add(this.procSlot, "sessions", NodeKind.ProcSessions, 0, 0);
    t.add(this.procSlot, "workers", NodeKind.ProcWorkers, 0, 0);
    t.add(this.procSlot, "pressure", NodeKind.ProcPressure, 0, 0);
    t.add(this.procSlot, "fids", NodeKind.ProcFids, 0, 0);
    // The self-test scripts `cohsh test` runs, served from guest constants (the guest reads no files).
    const testsDir = t.add(this.procSlot, "tests", NodeKind.Dir, 0, 0);
    for (let i = 0; i < SELFTEST_NAMES.length; i++) t.add(testsDir, SELFTEST_NAMES[i], NodeKind.ProcTest, i, 0);
    const logDir = t.add(0, "log", NodeKind.Dir, 0, 0);
    t.add(logDir, "queen.log", NodeKind.QueenLog, 0, 0);
    this.queenSlot = t.add(0, "queen", NodeKind.Dir, 0, 0);
    t.add(this.queenSlot, "ctl", NodeKind.QueenCtl, 0, 0);
    this.workerRoot = t.add(0, "worker", NodeKind.Dir, 0, 0);
    this.gpuRoot = t.add(0, "gpu", NodeKind.Dir, 0, 0);
    for (let g = 0; g < boot.gpus.length; g++) {
      const d = t.add(this.gpuRoot, boot.gpus[g].id, NodeKind.Dir, g, 0);
      t.add(d, "info", NodeKind.GpuInfo, g, 0);
      t.add(d, "ctl", NodeKind.GpuCtl, g, 0);
      t.add(d, "job", NodeKind.GpuJob, g, 0);
      t.add(d, "status", NodeKind.GpuStatus, g, 0);
    }
    const traceDir = t.add(0, "trace", NodeKind.Dir, 0, 0);
    t.add(traceDir, "ctl", NodeKind.TraceCtl, 0, 0);
    t.add(traceDir, "events", NodeKind.TraceEvents, 0, 0);

    this.writeBootText();
    const lw = this.lw;
    lw.reset();
    lw.ascii("Cohesix boot: root-task online");
    this.logLine();
    lw.reset();
    lw.ascii("ninedoor online version=");
    lw.ascii(COHESIX_VERSION);
    lw.ascii(" manifest=");
    safe(lw, boot.manifestFingerprint);
    this.logLine();
    if (this.trace.begin(Cat.Boot, Level.Info, 0, -1)) {
      this.trace.w.ascii("ninedoor online");
      this.trace.end();
    }
  }

  private writeBootText(): void {
    const b = this.bootText;
    const boot = this.boot;
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
    for (let r = 0; r < this.roles.names.length; r++) {
      if (r > 0) b.byte(44);
      b.ascii(this.roles.names[r]);
    }
    b.ascii("\ngpus=");
    for (let g = 0; g < boot.gpus.length; g++) {
      if (g > 0) b.byte(44);
      safe(b, boot.gpus[g].id);
    }
    b.byte(10);
  }

  // ---- log and audit -------------------------------------------------------------------------

  /** Appends the line composed in `lw` (plus newline) to `/log/queen.log`. */
  private logLine(): void {
    const lw = this.lw;
    lw.byte(10);
    if (!lw.overflow) this.log.append(0, lw.buf, 0, lw.len);
  }

  /** Reads `/log/queen.log` at an absolute offset (console `log`, tests). Same result as a 9P read. */
  readLog(offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    return this.log.read(0, offset, dst, dstOff, count);
  }

  /** One past the last byte of `/log/queen.log` (a console tail starts near here). */
  logEnd(): number {
    return this.log.end[0];
  }

  /** Writes the path of node `slot` to `w`. */
  private writePath(w: ByteWriter, slot: number): void {
    const p = this.path;
    if (slot === 0 || !p.load(this.tree, slot)) {
      w.byte(47);
      return;
    }
    const names = this.tree.names;
    for (let i = 0; i < p.depth; i++) {
      w.byte(47);
      w.ascii(names.get(p.slots[i]));
    }
  }

  private audit(s: number, op: number, slot: number, reason: string): void {
    const lw = this.lw;
    lw.reset();
    lw.ascii("deny op=");
    lw.ascii(OP_NAMES[op]);
    lw.ascii(" role=");
    lw.ascii(this.roles.names[this.sessions.role[s]]);
    lw.ascii(" subject=");
    const subj = this.sessions.subject.get(s);
    if (subj.length === 0) lw.byte(45);
    else safe(lw, subj);
    lw.ascii(" path=");
    this.writePath(lw, slot);
    lw.ascii(" reason=");
    lw.ascii(reason);
    this.logLine();
    if (this.trace.begin(Cat.Audit, Level.Warn, this.nowMs, this.sessions.worker[s])) {
      const tw = this.trace.w;
      tw.ascii("deny ");
      tw.ascii(OP_NAMES[op]);
      tw.byte(32);
      this.writePath(tw, slot);
      this.trace.end();
    }
  }

  // ---- sessions --------------------------------------------------------------------------------

  attach(role: string, ticket: string): number {
    const r = this.bootError === "" ? this.roles.indexOf(role) : -1;
    if (r < 0) return this.refuse(-1, TicketStatus.RoleMismatch);
    const policy = this.roles.ticket[r];
    const claims = this.claims;
    claims.clear();
    let hasTicket = false;
    if (ticket.length === 0) {
      if (policy === "required") return this.refuse(r, TicketStatus.Missing);
    } else {
      if (this.verifier === null) return this.refuse(r, TicketStatus.Missing);
      let st = this.verifier.verify(ticket, claims);
      if (st === TicketStatus.Ok) st = checkClaims(claims, role, this.nowMs);
      if (st !== TicketStatus.Ok) return this.refuse(r, st);
      hasTicket = true;
    }
    let worker = -1;
    if (this.roles.workerSubject[r]) {
      worker = hasTicket ? this.workers.findNamed(claims.subject) : -1;
      const want = role === "worker-gpu" ? WorkerKind.Gpu : WorkerKind.Heartbeat;
      if (worker < 0 || this.workers.kind[worker] !== want) return this.refuse(r, TicketStatus.BadSubject);
    }
    const qOps = capQuota(claims.quotaOps, this.roles.quotaOps[r]);
    const qBytes = capQuota(claims.quotaBytes, this.roles.quotaBytes[r]);
    const qFids = capQuota(claims.quotaFids, this.roles.quotaFids[r]);
    if (qOps < 0 || qBytes < 0 || qFids < 0 || claims.scopeCount > MAX_SCOPES) {
      return this.refuse(r, TicketStatus.OverLimit);
    }
    let scopes: RuleList | null = null;
    if (claims.scopeCount > 0) {
      scopes = new RuleList();
      for (let i = 0; i < claims.scopeCount; i++) {
        const mode = parseMode(claims.scopeModes[i]);
        const sp = claims.scopePaths[i];
        if (mode < 0 || sp.charAt(0) !== "/") return this.refuse(r, TicketStatus.Malformed);
        scopes.add(sp === "/" ? "/**" : sp + "/**", mode);
      }
    }
    const ss = this.sessions;
    const s = ss.alloc(r, worker, hasTicket ? claims.subject : "");
    if (s < 0) {
      this.pressure.busy++;
      return -EBUSY;
    }
    const qo = ss.quotaOps;
    const qb = ss.quotaBytes;
    const qf = ss.quotaFids;
    const ex = ss.expiresMs;
    qo[s] = qOps;
    qb[s] = qBytes;
    qf[s] = qFids;
    ex[s] = hasTicket ? claims.expiresAtMs : 0;
    const sc = ss.scopes;
    sc[s] = scopes;
    this.lastAttachStatus = TicketStatus.Ok;
    if (this.trace.begin(Cat.Ninep, Level.Info, this.nowMs, worker)) {
      const tw = this.trace.w;
      tw.ascii("attach role=");
      tw.ascii(role);
      tw.labelUint(" session=", s);
      this.trace.end();
    }
    return ss.handle(s);
  }

  private refuse(r: number, status: number): number {
    this.lastAttachStatus = status;
    this.pressure.attachRefused++;
    const lw = this.lw;
    lw.reset();
    lw.ascii("attach outcome=deny role=");
    if (r < 0) lw.ascii("unknown");
    else lw.ascii(this.roles.names[r]);
    lw.ascii(" reason=");
    lw.ascii(ticketStatusName(status));
    this.logLine();
    if (this.trace.begin(Cat.Ticket, Level.Warn, this.nowMs, -1)) {
      this.trace.w.ascii("attach refused ");
      this.trace.w.ascii(ticketStatusName(status));
      this.trace.end();
    }
    return -EPERM;
  }

  detach(session: number): void {
    const s = this.sessions.slotOf(session);
    if (s >= 0) this.sessions.free(s);
  }

  root(session: number): number {
    const s = this.sessions.slotOf(session);
    if (s < 0) return -EINVAL;
    if (this.sessions.revoked[s] !== 0) return -EBADF;
    return this.tree.handle(0);
  }

  /**
   * Common entry of every node operation: resolves the session and node, refuses revoked or
   * expired sessions (Closed) and charges the ticket's op quota. Returns the node slot or -errno;
   * the session slot is left in `cur`.
   */
  private cur = -1;
  private enter(session: number, node: number, op: number): number {
    const ss = this.sessions;
    const s = ss.slotOf(session);
    if (s < 0) return -EINVAL;
    this.cur = s;
    if (ss.revoked[s] !== 0) return -EBADF;
    if (ss.expiresMs[s] > 0 && this.nowMs >= ss.expiresMs[s]) {
      this.revokeSession(s, "ticket-expired");
      return -EBADF;
    }
    const slot = this.tree.slotOf(node);
    if (slot < 0) return -EBADF;
    const used = ss.usedOps;
    if (ss.quotaOps[s] > 0 && used[s] >= ss.quotaOps[s]) {
      this.pressure.quota++;
      this.audit(s, op, slot, "quota-ops");
      return -EMSGSIZE;
    }
    used[s] = used[s] + 1;
    return slot;
  }

  /** Charges `n` bytes; returns false (and audits) when the byte quota cannot cover them. */
  private chargeBytes(s: number, op: number, slot: number, n: number): boolean {
    const ss = this.sessions;
    const q = ss.quotaBytes[s];
    const used = ss.usedBytes;
    if (q > 0 && used[s] + n > q) {
      this.pressure.quota++;
      this.audit(s, op, slot, "quota-bytes");
      return false;
    }
    used[s] = used[s] + n;
    return true;
  }

  /** Counts a successful operation against the acting worker's ops budget. */
  private done(s: number, result: number): number {
    const w = this.sessions.worker[s];
    if (result < 0 || w < 0 || this.workers.live[w] === 0) return result;
    const used = this.workers.opsUsed;
    used[w] = used[w] + 1;
    const budget = this.workers.budgetOps[w];
    if (budget > 0 && used[w] >= budget) this.revokeWorker(w, "ops");
    return result;
  }

  /** Role and ticket-scope check; a refusal is one audit line and -EPERM. */
  private allowed(s: number, slot: number, want: number, op: number): boolean {
    const ss = this.sessions;
    const p = this.path;
    const tree = this.tree;
    let ok = p.load(tree, slot);
    if (ok) {
      const w = ss.worker[s];
      const gpu = w >= 0 && this.workers.gpu[w] >= 0 ? this.gpus.ids[this.workers.gpu[w]] : "";
      const subject = ss.subject.get(s);
      ok = rulesAllow(this.roles.rules[ss.role[s]], tree, p, want, subject, gpu);
      const scopes = ss.scopes[s];
      if (ok && scopes !== null) ok = rulesAllow(scopes, tree, p, want, subject, gpu);
    }
    if (!ok) {
      this.pressure.denied++;
      this.audit(s, op, slot, "role");
    }
    return ok;
  }

  // ---- Namespace ---------------------------------------------------------------------------------

  walk(session: number, node: number, buf: Uint8Array, off: number, len: number): number {
    const slot = this.enter(session, node, Op.Walk);
    if (slot < 0) return slot;
    const s = this.cur;
    const tree = this.tree;
    if (tree.kind[slot] !== NodeKind.Dir) return -ENOTDIR;
    let child = -1;
    if (len === 2 && buf[off] === 46 && buf[off + 1] === 46) child = tree.parent[slot];
    else if (len === 1 && buf[off] === 46) child = slot;
    else child = tree.child(slot, buf, off, len);
    if (child < 0) return -ENOENT;
    child = this.sessions.remap(s, child);
    if (!this.allowed(s, child, Want.Walk, Op.Walk)) return -EPERM;
    return this.done(s, tree.handle(child));
  }

  open(session: number, node: number, flags: number): number {
    const slot = this.enter(session, node, Op.Open);
    if (slot < 0) return slot;
    const s = this.cur;
    const mode = flags % 4;
    const rd = mode === 0 || mode === 2;
    const wr = mode === 1 || mode === 2;
    const access = kindAccess(this.tree.kind[slot]);
    if (access === Access.Dir && wr) return -EISDIR;
    if (access === Access.ReadOnly && wr) return -EROFS;
    if (rd && !this.allowed(s, slot, Want.Read, Op.Open)) return -EPERM;
    if (wr && !this.allowed(s, slot, Want.Write, Op.Open)) return -EPERM;
    const ss = this.sessions;
    const qf = ss.quotaFids[s];
    if (qf > 0 && ss.openCount[s] >= qf) {
      this.pressure.quota++;
      this.audit(s, Op.Open, slot, "quota-fids");
      return -EMSGSIZE;
    }
    if (!ss.addOpen(s, node)) {
      this.pressure.busy++;
      return -EMSGSIZE;
    }
    return this.done(s, 0);
  }

  read(
    session: number,
    node: number,
    offLo: number,
    offHi: number,
    dst: Uint8Array,
    dstOff: number,
    count: number,
  ): number {
    const slot = this.enter(session, node, Op.Read);
    if (slot < 0) return slot;
    const s = this.cur;
    const kind = this.tree.kind[slot];
    if (kind === NodeKind.Dir) return -EISDIR;
    if (!this.allowed(s, slot, Want.Read, Op.Read)) return -EPERM;
    const q = this.sessions.quotaBytes[s];
    if (q > 0) {
      const left = q - this.sessions.usedBytes[s];
      if (left <= 0) {
        this.pressure.quota++;
        this.audit(s, Op.Read, slot, "quota-bytes");
        return -EMSGSIZE;
      }
      if (count > left) count = left;
    }
    // Never write past the caller's buffer: under Porffor that corrupts whatever follows it.
    if (count > dst.length - dstOff) count = dst.length - dstOff;
    if (count < 0) count = 0;
    const offset = offLo + offHi * TWO32;
    const n = this.readNode(slot, kind, offset, dst, dstOff, count);
    if (n > 0) this.chargeBytes(s, Op.Read, slot, n);
    return this.done(s, n);
  }

  private readNode(
    slot: number,
    kind: number,
    offset: number,
    dst: Uint8Array,
    dstOff: number,
    count: number,
  ): number {
    const arg = this.tree.arg[slot];
    switch (kind) {
      case NodeKind.QueenLog:
        return this.log.read(0, offset, dst, dstOff, count);
      case NodeKind.Telemetry:
        return this.telemetry.read(arg, offset, dst, dstOff, count);
      case NodeKind.WorkerTrace:
        return this.trace.perWorker.read(arg, offset, dst, dstOff, count);
      case NodeKind.TraceEvents:
        return this.trace.events.read(0, offset, dst, dstOff, count);
      case NodeKind.GpuStatus:
        return this.gpus.status.read(arg, offset, dst, dstOff, count);
      case NodeKind.QueenCtl:
      case NodeKind.GpuJob:
        return 0;
    }
    const w = this.render(slot, kind);
    if (w.overflow) return -EMSGSIZE;
    return slice(w, offset, dst, dstOff, count);
  }

  /** Renders a text file into the scratch writer (or returns the static boot text). */
  private render(slot: number, kind: number): ByteWriter {
    if (kind === NodeKind.ProcBoot) return this.bootText;
    const w = this.scratch;
    w.reset();
    const arg = this.tree.arg[slot];
    switch (kind) {
      case NodeKind.ProcSessions:
        this.renderSessions(w);
        break;
      case NodeKind.ProcWorkers:
        this.renderWorkers(w);
        break;
      case NodeKind.ProcPressure:
        this.renderPressure(w);
        break;
      case NodeKind.ProcFids:
        this.renderFids(w);
        break;
      case NodeKind.TraceCtl:
        this.trace.describe(w);
        break;
      case NodeKind.ProcTest:
        w.ascii(SELFTEST_SCRIPTS[arg]);
        break;
      case NodeKind.GpuInfo: {
        const lessee = this.gpus.lessee[arg];
        this.gpus.info(arg, w, lessee >= 0 ? this.workers.ids.get(lessee) : "");
        break;
      }
      case NodeKind.GpuCtl: {
        const lessee = this.gpus.lessee[arg];
        w.ascii("lease=");
        if (lessee < 0) w.ascii("none");
        else w.ascii(this.workers.ids.get(lessee));
        w.labelUint(" priority=", this.gpus.priority[arg]);
        w.byte(10);
        break;
      }
    }
    return w;
  }

  private renderSessions(w: ByteWriter): void {
    const ss = this.sessions;
    w.labelUint("sessions active=", ss.liveCount);
    w.labelUint(" max=", ss.cap);
    w.byte(10);
    for (let s = 0; s < ss.cap; s++) {
      if (ss.live[s] === 0) continue;
      w.labelUint("session id=", s);
      w.ascii(" role=");
      w.ascii(this.roles.names[ss.role[s]]);
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

  private renderWorkers(w: ByteWriter): void {
    const ws = this.workers;
    w.labelUint("workers active=", ws.liveCount);
    w.labelUint(" max=", ws.cap);
    w.labelUint(" spawned=", ws.seq);
    w.byte(10);
    for (let i = 0; i < ws.cap; i++) {
      if (ws.live[i] === 0) continue;
      w.ascii(ws.ids.get(i));
      w.ascii(ws.kind[i] === WorkerKind.Gpu ? " kind=gpu" : " kind=heartbeat");
      w.labelUint(" tick=", ws.tick[i]);
      w.labelUint(" ticks=", ws.budgetTicks[i]);
      w.labelUint(" ops=", ws.opsUsed[i]);
      w.byte(47);
      w.uint(ws.budgetOps[i]);
      w.ascii(" ttl_ms_left=");
      const dl = ws.deadlineMs[i];
      w.uint(dl > 0 ? (dl > this.nowMs ? dl - this.nowMs : 0) : 0);
      w.labelUint(" telemetry_start=", this.telemetry.start[i]);
      w.labelUint(" telemetry_end=", this.telemetry.end[i]);
      w.labelUint(" dropped=", this.telemetry.dropped[i]);
      if (ws.gpu[i] >= 0) {
        w.ascii(" gpu=");
        w.ascii(this.gpus.ids[ws.gpu[i]]);
      }
      w.byte(10);
    }
  }

  private renderPressure(w: ByteWriter): void {
    const p = this.pressure;
    w.labelUint("denied=", p.denied);
    w.labelUint(" quota=", p.quota);
    w.labelUint(" busy=", p.busy);
    w.labelUint(" ctl_rejected=", p.ctlRejected);
    w.labelUint(" attach_refused=", p.attachRefused);
    w.labelUint(" revoked=", p.revoked);
    w.labelUint(" ticks_skipped=", p.ticksSkipped);
    w.labelUint(" telemetry_refused=", p.telemetryRefused);
    w.labelUint(" log_dropped=", this.log.dropped[0]);
    w.labelUint(" trace_filtered=", this.trace.filtered);
    w.byte(10);
  }

  private renderFids(w: ByteWriter): void {
    const ss = this.sessions;
    let total = 0;
    for (let s = 0; s < ss.cap; s++) if (ss.live[s] !== 0) total += ss.openCount[s];
    w.labelUint("open=", total);
    w.labelUint(" per_session_max=", ss.maxOpen);
    w.labelUint(" nodes=", this.tree.liveCount);
    w.labelUint(" node_max=", this.tree.cap);
    w.byte(10);
  }

  write(
    session: number,
    node: number,
    _offLo: number,
    _offHi: number,
    src: Uint8Array,
    srcOff: number,
    count: number,
  ): number {
    const slot = this.enter(session, node, Op.Write);
    if (slot < 0) return slot;
    const s = this.cur;
    const kind = this.tree.kind[slot];
    const access = kindAccess(kind);
    if (access === Access.Dir) return -EISDIR;
    if (access === Access.ReadOnly) return -EROFS;
    if (!this.allowed(s, slot, Want.Write, Op.Write)) return -EPERM;
    if (count < 0 || srcOff < 0 || count > src.length - srcOff) return -EINVAL;
    if (!this.chargeBytes(s, Op.Write, slot, count)) return -EMSGSIZE;
    // Append-only and control files ignore the offset: every write lands at the end.
    const arg = this.tree.arg[slot];
    let n = -EROFS;
    switch (kind) {
      case NodeKind.QueenLog:
        n = this.log.append(0, src, srcOff, count);
        break;
      case NodeKind.Telemetry:
        n = this.telemetry.append(arg, src, srcOff, count);
        if (n < 0) this.pressure.telemetryRefused++;
        break;
      case NodeKind.QueenCtl:
        n = this.queenCtl(s, src, srcOff, count);
        break;
      case NodeKind.TraceCtl:
        n = this.traceCtl(src, srcOff, count);
        break;
      case NodeKind.GpuCtl:
        n = this.gpuCtl(arg, src, srcOff, count);
        break;
      case NodeKind.GpuJob:
        n = this.gpuJob(arg, src, srcOff, count);
        break;
    }
    if (n >= 0) {
      const mt = this.tree.mtime;
      mt[slot] = Math.floor(this.nowMs / 1000);
    }
    return this.done(s, n);
  }

  readdir(session: number, node: number, index: number, out: DirEntry): number {
    const slot = this.enter(session, node, Op.Readdir);
    if (slot < 0) return slot;
    const s = this.cur;
    const tree = this.tree;
    if (tree.kind[slot] !== NodeKind.Dir) return -ENOTDIR;
    if (!this.allowed(s, slot, Want.Read, Op.Readdir)) return -EPERM;
    const c = tree.childAt(slot, index);
    if (c < 0) return this.done(s, 0);
    const h = tree.handle(c);
    out.qidType = qidType(tree.kind[c]);
    out.qidVersion = 0;
    out.qidPathLo = h;
    out.qidPathHi = 0;
    out.name = tree.names.get(c);
    return this.done(s, 1);
  }

  stat(session: number, node: number, out: NodeStat): number {
    const slot = this.enter(session, node, Op.Stat);
    if (slot < 0) return slot;
    const s = this.cur;
    const tree = this.tree;
    const kind = tree.kind[slot];
    const h = tree.handle(slot);
    out.qidType = qidType(kind);
    out.qidVersion = 0;
    out.qidPathLo = h;
    out.qidPathHi = 0;
    out.mtimeSec = tree.mtime[slot];
    out.nlink = 1;
    const access = kindAccess(kind);
    let size = 0;
    if (access === Access.Dir) out.mode = 0o040555;
    else if (access === Access.ReadOnly) out.mode = 0o100444;
    else if (access === Access.AppendOnly) out.mode = 0o100644;
    else out.mode = 0o100220;
    const arg = tree.arg[slot];
    switch (kind) {
      case NodeKind.QueenLog:
        size = this.log.end[0];
        break;
      case NodeKind.Telemetry:
        size = this.telemetry.end[arg];
        break;
      case NodeKind.WorkerTrace:
        size = this.trace.perWorker.end[arg];
        break;
      case NodeKind.TraceEvents:
        size = this.trace.events.end[0];
        break;
      case NodeKind.GpuStatus:
        size = this.gpus.status.end[arg];
        break;
      case NodeKind.ProcBoot:
        size = this.bootText.len;
        break;
      case NodeKind.ProcTest:
        size = SELFTEST_SCRIPTS[arg].length; // ASCII: one byte per char
        break;
    }
    out.sizeLo = size % TWO32;
    out.sizeHi = Math.floor(size / TWO32);
    return this.done(s, 0);
  }

  /**
   * Oldest offset still readable in a ring-backed file (telemetry, log, trace, GPU status); 0 for
   * other files. A reader whose cursor fell behind (read gave -EINVAL) resumes here; the gap is the
   * overflow, also counted in /proc/workers and /trace/ctl. Not a 9P operation: console helper.
   */
  retainedStart(session: number, node: number): number {
    const s = this.sessions.slotOf(session);
    if (s < 0) return -EINVAL;
    if (this.sessions.revoked[s] !== 0) return -EBADF;
    const slot = this.tree.slotOf(node);
    if (slot < 0) return -EBADF;
    const arg = this.tree.arg[slot];
    switch (this.tree.kind[slot]) {
      case NodeKind.QueenLog: return this.log.start[0];
      case NodeKind.Telemetry: return this.telemetry.start[arg];
      case NodeKind.WorkerTrace: return this.trace.perWorker.start[arg];
      case NodeKind.TraceEvents: return this.trace.events.start[0];
      case NodeKind.GpuStatus: return this.gpus.status.start[arg];
    }
    return 0;
  }

  clunk(session: number, node: number): void {
    const s = this.sessions.slotOf(session);
    if (s >= 0) this.sessions.dropOpen(s, node);
  }

  // ---- /queen/ctl ------------------------------------------------------------------------------------

  /**
   * Parses and checks every line of one write, then applies them all, so a write with any bad line
   * changes nothing. Returns `count` or -errno; a rejection is logged with its line and reason.
   */
  private queenCtl(s: number, src: Uint8Array, off: number, count: number): number {
    if (count > this.boot.limits.maxCtlBytes) return this.rejectCtl(0, EMSGSIZE, Reason.TooBig);
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
        if (!this.parser.parse(src, lineStart, len, cmd)) return this.rejectCtl(n + 1, cmd.errno, cmd.reason);
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
    this.pressure.ctlRejected++;
    const lw = this.lw;
    lw.reset();
    lw.labelUint("queen-ctl outcome=reject line=", line);
    lw.ascii(" error=");
    lw.ascii(errnoName(errno));
    lw.ascii(" reason=");
    lw.ascii(reason);
    this.logLine();
    return -errno;
  }

  /** State checks for command `k` of a batch, counting what earlier commands of it will take. */
  private checkCmd(
    s: number,
    src: Uint8Array,
    cmd: CtlCommand,
    k: number,
    spawns: number,
    mounts: number,
  ): number {
    const ws = this.workers;
    switch (cmd.op) {
      case CtlOp.Spawn: {
        if (spawns >= ws.freeSlots()) return this.cmdErr(cmd, EBUSY, "worker-table-full");
        if (cmd.spawnKind === SpawnKind.Heartbeat) {
          if (cmd.ticks < 1) return this.cmdErr(cmd, EINVAL, Reason.NeedTicks);
          return 0;
        }
        const g = this.gpus.indexOf(src, cmd.gpu.off, cmd.gpu.len);
        if (g < 0) return this.cmdErr(cmd, ENOENT, "unknown-gpu");
        if (this.gpus.lessee[g] >= 0 || this.batchLeases(src, g, k)) {
          return this.cmdErr(cmd, EBUSY, "gpu-leased");
        }
        if (
          cmd.leaseMemMb > this.gpus.memMb[g] || cmd.leaseStreams < 1 ||
          cmd.leaseStreams > this.gpus.streams[g]
        ) {
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
        if (this.sessions.mountCount[s] + mounts >= this.sessions.maxMounts) {
          return this.cmdErr(cmd, EBUSY, "mount-table-full");
        }
        if (cmd.op === CtlOp.Mount && this.serviceIndex(src, cmd) < 0) {
          return this.cmdErr(cmd, ENOENT, "unknown-service");
        }
        if (cmd.op === CtlOp.Bind && this.resolve(src, cmd.from.off, cmd.from.len) < 0) {
          return this.cmdErr(cmd, ENOENT, "no-such-path");
        }
        const at = this.resolve(src, cmd.to.off, cmd.to.len);
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
      if (
        c.op === CtlOp.Spawn && c.spawnKind === SpawnKind.Gpu &&
        this.gpus.indexOf(src, c.gpu.off, c.gpu.len) === g
      ) {
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

  private serviceIndex(src: Uint8Array, cmd: CtlCommand): number {
    for (let i = 0; i < SERVICES.length; i++) {
      if (equalsAscii(src, cmd.from.off, cmd.from.len, SERVICES[i])) return i;
    }
    return -1;
  }

  /** Resolves an absolute path (already checked: no traversal) in the shared tree; slot or -1. */
  private resolve(src: Uint8Array, off: number, len: number): number {
    const tree = this.tree;
    let slot = 0;
    let start = off + 1;
    const end = off + len;
    for (let i = off + 1; i <= end; i++) {
      if (i < end && src[i] !== 47) continue;
      if (i > start) {
        if (tree.kind[slot] !== NodeKind.Dir) return -1;
        slot = tree.child(slot, src, start, i - start);
        if (slot < 0) return -1;
      }
      start = i + 1;
    }
    return slot;
  }

  private applyCmd(s: number, src: Uint8Array, cmd: CtlCommand): void {
    const ws = this.workers;
    switch (cmd.op) {
      case CtlOp.Spawn:
        this.spawn(src, cmd);
        return;
      case CtlOp.Kill:
        this.revokeWorker(ws.find(src, cmd.worker.off, cmd.worker.len), "killed");
        return;
      case CtlOp.Budget: {
        if (cmd.hasWorker) this.setBudget(ws.find(src, cmd.worker.off, cmd.worker.len), cmd);
        else {
          if (cmd.budgetTicks >= 0) this.defTicks = cmd.budgetTicks;
          if (cmd.budgetOps >= 0) this.defOps = cmd.budgetOps;
          if (cmd.budgetTtlS >= 0) this.defTtlS = cmd.budgetTtlS;
          const lw = this.lw;
          lw.reset();
          lw.labelUint("budget default ticks=", this.defTicks);
          lw.labelUint(" ops=", this.defOps);
          lw.labelUint(" ttl_s=", this.defTtlS);
          this.logLine();
        }
        return;
      }
      case CtlOp.Bind:
      case CtlOp.Mount: {
        const at = this.resolve(src, cmd.to.off, cmd.to.len);
        let from = 0;
        if (cmd.op === CtlOp.Bind) from = this.resolve(src, cmd.from.off, cmd.from.len);
        else from = this.tree.childNamed(0, SERVICES[this.serviceIndex(src, cmd)]);
        this.sessions.addMount(s, at, from);
        const lw = this.lw;
        lw.reset();
        lw.ascii(cmd.op === CtlOp.Bind ? "bind session=" : "mount session=");
        lw.uint(s);
        lw.ascii(" from=");
        this.writePath(lw, from);
        lw.ascii(" to=");
        this.writePath(lw, at);
        this.logLine();
        return;
      }
    }
  }

  private spawn(src: Uint8Array, cmd: CtlCommand): void {
    const ws = this.workers;
    const w = ws.alloc();
    const seq = ws.seq + 1;
    ws.seq = seq;
    const id = "worker-" + seq;
    ws.ids.set(w, id);
    const kind = ws.kind;
    const gpu = cmd.spawnKind === SpawnKind.Gpu;
    kind[w] = gpu ? WorkerKind.Gpu : WorkerKind.Heartbeat;
    const sp = ws.spawnMs;
    sp[w] = this.nowMs;
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
    dl[w] = ttl > 0 ? this.nowMs + ttl * 1000 : 0;
    const tree = this.tree;
    const now = Math.floor(this.nowMs / 1000);
    const dir = tree.add(this.workerRoot, id, NodeKind.Dir, w, now);
    tree.add(dir, "telemetry", NodeKind.Telemetry, w, now);
    const proc = tree.add(this.procSlot, id, NodeKind.Dir, w, now);
    tree.add(proc, "trace", NodeKind.WorkerTrace, w, now);
    const ds = ws.dirSlot;
    const ps = ws.procSlot;
    ds[w] = dir;
    ps[w] = proc;
    this.telemetry.reset(w);
    this.trace.perWorker.reset(w);
    if (gpu) {
      const g = this.gpus.indexOf(src, cmd.gpu.off, cmd.gpu.len);
      const wg = ws.gpu;
      wg[w] = g;
      this.gpus.lease(g, w, id, cmd.leaseMemMb, cmd.leaseStreams, cmd.leaseTtlS, cmd.leasePriority);
    }
    const lw = this.lw;
    lw.reset();
    lw.ascii("spawn worker=");
    lw.ascii(id);
    lw.ascii(gpu ? " kind=gpu gpu=" : " kind=heartbeat");
    if (gpu) lw.ascii(this.gpus.ids[ws.gpu[w]]);
    lw.labelUint(" ticks=", bt[w]);
    lw.labelUint(" ops=", ops);
    lw.labelUint(" ttl_s=", ttl);
    this.logLine();
    if (this.trace.begin(Cat.Queen, Level.Info, this.nowMs, w)) {
      this.trace.w.ascii("spawn ");
      this.trace.w.ascii(id);
      this.trace.end();
    }
  }

  private setBudget(w: number, cmd: CtlCommand): void {
    const ws = this.workers;
    const bt = ws.budgetTicks;
    const bo = ws.budgetOps;
    const dl = ws.deadlineMs;
    if (cmd.budgetTicks >= 0 && ws.kind[w] === WorkerKind.Heartbeat) bt[w] = cmd.budgetTicks;
    if (cmd.budgetOps >= 0) bo[w] = cmd.budgetOps;
    if (cmd.budgetTtlS >= 0) dl[w] = cmd.budgetTtlS > 0 ? this.nowMs + cmd.budgetTtlS * 1000 : 0;
    const lw = this.lw;
    lw.reset();
    lw.ascii("budget worker=");
    lw.ascii(ws.ids.get(w));
    lw.labelUint(" ticks=", bt[w]);
    lw.labelUint(" ops=", bo[w]);
    lw.labelUint(" ttl_ms_left=", dl[w] > 0 ? dl[w] - this.nowMs : 0);
    this.logLine();
    // A lowered budget may already be spent.
    if (bt[w] > 0 && ws.tick[w] >= bt[w]) this.revokeWorker(w, "ticks");
    else if (bo[w] > 0 && ws.opsUsed[w] >= bo[w]) this.revokeWorker(w, "ops");
  }

  /**
   * Removes a worker: its files disappear (open handles answer Closed), its sessions are revoked,
   * its GPU lease ends, and one `revoke` line names the reason.
   */
  revokeWorker(w: number, reason: string): void {
    const ws = this.workers;
    if (w < 0 || ws.live[w] === 0) return;
    const id = ws.ids.get(w);
    const lw = this.lw;
    lw.reset();
    lw.ascii("revoke worker=");
    lw.ascii(id);
    lw.ascii(" reason=");
    lw.ascii(reason);
    lw.labelUint(" tick=", ws.tick[w]);
    lw.labelUint(" ops=", ws.opsUsed[w]);
    this.logLine();
    if (this.trace.begin(Cat.Queen, Level.Info, this.nowMs, -1)) {
      this.trace.w.ascii("revoke ");
      this.trace.w.ascii(id);
      this.trace.w.ascii(" ");
      this.trace.w.ascii(reason);
      this.trace.end();
    }
    this.pressure.revoked++;
    if (ws.gpu[w] >= 0) this.gpus.release(ws.gpu[w], reason);
    const ss = this.sessions;
    const rv = ss.revoked;
    for (let s = 0; s < ss.cap; s++) if (ss.live[s] !== 0 && ss.worker[s] === w) rv[s] = 1;
    this.dropSubtree(ws.dirSlot[w]);
    this.dropSubtree(ws.procSlot[w]);
    ws.free(w);
  }

  private dropSubtree(slot: number): void {
    const tree = this.tree;
    let c = tree.firstChild[slot];
    while (c >= 0) {
      this.sessions.dropMountsOf(c);
      c = tree.nextSibling[c];
    }
    this.sessions.dropMountsOf(slot);
    tree.remove(slot);
  }

  private revokeSession(s: number, reason: string): void {
    const rv = this.sessions.revoked;
    rv[s] = 1;
    const lw = this.lw;
    lw.reset();
    lw.labelUint("revoke session=", s);
    lw.ascii(" reason=");
    lw.ascii(reason);
    this.logLine();
  }

  // ---- /trace/ctl and GPU files ----------------------------------------------------------------------

  /** `{"set":{"level":"debug","cats":["boot","ninep"]}}`; both fields optional, nothing else allowed. */
  private traceCtl(src: Uint8Array, off: number, count: number): number {
    const t = this.parser.tokens;
    let len = count;
    while (len > 0 && (src[off + len - 1] === 10 || src[off + len - 1] === 13)) len--;
    if (t.parse(src, off, len) < 0 || t.type[0] !== JsonType.Object || t.size[0] !== 1 || !t.is(1, "set")) {
      return this.rejectTrace();
    }
    const set = 2;
    if (t.type[set] !== JsonType.Object) return this.rejectTrace();
    let level = this.trace.level;
    const cats = this.catScratch;
    const enabled = this.trace.enabled;
    for (let i = 0; i < cats.length; i++) cats[i] = enabled[i];
    let i = set + 1;
    let seenLevel = false;
    let seenCats = false;
    for (let p = 0; p < t.size[set]; p++) {
      const v = i + 1;
      if (t.is(i, "level") && !seenLevel) {
        seenLevel = true;
        level = -1;
        for (let l = 0; l < TRACE_LEVELS.length; l++) if (t.is(v, TRACE_LEVELS[l])) level = l;
        if (level < 0) return this.rejectTrace();
      } else if (t.is(i, "cats") && !seenCats) {
        seenCats = true;
        if (t.type[v] !== JsonType.Array) return this.rejectTrace();
        for (let c = 0; c < cats.length; c++) cats[c] = 0;
        let e = v + 1;
        for (let k = 0; k < t.size[v]; k++) {
          let found = -1;
          for (let c = 0; c < TRACE_CATEGORIES.length; c++) if (t.is(e, TRACE_CATEGORIES[c])) found = c;
          if (found < 0) return this.rejectTrace();
          cats[found] = 1;
          e = t.next[e];
        }
      } else return this.rejectTrace();
      i = t.next[v];
    }
    this.trace.setFilter(level, cats);
    const lw = this.lw;
    lw.reset();
    lw.ascii("trace filter ");
    this.trace.describe(lw);
    lw.len = lw.len - 1;
    this.logLine();
    return count;
  }

  private rejectTrace(): number {
    this.pressure.ctlRejected++;
    const lw = this.lw;
    lw.reset();
    lw.ascii("trace-ctl outcome=reject error=EINVAL");
    this.logLine();
    return -EINVAL;
  }

  /** `RELEASE` or `PRIORITY <n>`, one command per write. */
  private gpuCtl(g: number, src: Uint8Array, off: number, count: number): number {
    let len = count;
    while (len > 0 && (src[off + len - 1] === 10 || src[off + len - 1] === 13)) len--;
    if (this.gpus.lessee[g] < 0) return -EINVAL;
    if (equalsAscii(src, off, len, "RELEASE")) {
      const w = this.gpus.lessee[g];
      this.gpus.release(g, "released");
      const wg = this.workers.gpu;
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
      this.gpus.setPriority(g, v);
      return count;
    }
    return -EINVAL;
  }

  /** `{"id":"<job>","ms":<n>[,"kernel":"<name>"]}` queues a simulated job on a leased GPU. */
  private gpuJob(g: number, src: Uint8Array, off: number, count: number): number {
    if (this.gpus.lessee[g] < 0) return -EINVAL;
    const t = this.parser.tokens;
    let len = count;
    while (len > 0 && (src[off + len - 1] === 10 || src[off + len - 1] === 13)) len--;
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
    if (!this.gpus.submit(g, src, idOff, idLen, ms, this.nowMs)) return -EBUSY;
    return count;
  }

  // ---- time ------------------------------------------------------------------------------------------

  /**
   * Moves the injected clock to `nowMs` (ignored if it goes backwards): runs every whole tick since
   * the last call (heartbeats, tick budgets; at most maxCatchUpTicks, the rest counted as skipped),
   * then ttl deadlines and simulated GPU jobs. The first call fixes the origin: ticks fall at
   * origin + k * tickMs.
   */
  advance(nowMs: number): void {
    if (nowMs < this.nowMs) return;
    const tickMs = this.boot.tickMs;
    if (!this.started) {
      // The first call sets the clock's origin (the runtime may inject epoch milliseconds).
      this.started = true;
      this.nextTickMs = nowMs + tickMs;
    }
    let ran = 0;
    while (this.nextTickMs <= nowMs && ran < this.boot.limits.maxCatchUpTicks) {
      // Each caught-up tick happens at its own scheduled time (trace stamps, ttl checks).
      this.nowMs = this.nextTickMs;
      this.tick();
      ran++;
      this.nextTickMs = this.nextTickMs + tickMs;
    }
    this.nowMs = nowMs;
    if (this.nextTickMs <= nowMs) {
      const skip = Math.floor((nowMs - this.nextTickMs) / tickMs) + 1;
      this.pressure.ticksSkipped += skip;
      this.nextTickMs = this.nextTickMs + skip * tickMs;
    }
    const ws = this.workers;
    for (let w = 0; w < ws.cap; w++) {
      if (ws.live[w] !== 0 && ws.deadlineMs[w] > 0 && ws.deadlineMs[w] <= nowMs) this.revokeWorker(w, "ttl");
    }
    this.gpus.advance(nowMs);
  }

  private tick(): void {
    this.tickCount++;
    const ws = this.workers;
    const tick = ws.tick;
    const live = ws.live;
    const kind = ws.kind;
    const line = this.beat;
    const tracing = this.trace.level >= Level.Debug && this.trace.enabled[Cat.Worker] !== 0;
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
      this.telemetry.append(w, line, 0, HEARTBEAT.length + digits + 1);
      if (tracing && this.trace.begin(Cat.Worker, Level.Debug, this.nowMs, w)) {
        this.trace.w.ascii("tick ");
        this.trace.w.uint(n);
        this.trace.end();
      }
      if (ws.budgetTicks[w] > 0 && n >= ws.budgetTicks[w]) this.revokeWorker(w, "ticks");
    }
  }

  /** The id of the most recently spawned worker ("" before the first spawn). */
  lastWorkerId(): string {
    return this.workers.seq === 0 ? "" : "worker-" + this.workers.seq;
  }
}

function capQuota(ticketValue: number, ceiling: number): number {
  if (ticketValue <= 0) return ceiling;
  if (ceiling > 0 && ticketValue > ceiling) return -1;
  return ticketValue;
}

function qidType(kind: number): number {
  const access = kindAccess(kind);
  if (access === Access.Dir) return QTDIR;
  if (access === Access.AppendOnly) return QTAPPEND;
  return QTFILE;
}

function blank(buf: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) {
    const b = buf[off + i];
    if (b !== 32 && b !== 9 && b !== 13) return false;
  }
  return true;
}

function isSafe(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 ||
    c === 95 ||
    c === 58;
}

function safeBytes(buf: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (!isSafe(buf[off + i])) return false;
  return true;
}

/** Writes `s` with anything outside [A-Za-z0-9._:-] as `?`, so a log line can never be split or forged. */
function safe(w: ByteWriter, s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    w.byte(isSafe(c) ? c : 63);
  }
}

/** Copies w.buf[offset..] into dst; 0 past the end. */
function slice(w: ByteWriter, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
  if (offset >= w.len) return 0;
  let n = w.len - offset;
  if (n > count) n = count;
  const buf = w.buf;
  for (let i = 0; i < n; i++) dst[dstOff + i] = buf[offset + i];
  return n;
}
