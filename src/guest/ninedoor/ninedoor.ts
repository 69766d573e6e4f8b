/**
 * `NineDoor`: the hive's namespace. It implements the `Namespace` contract and keeps what every file
 * shares: sessions (role, ticket quotas, mount table), open nodes, role and scope checks, audit lines,
 * the queen log and trace rings, the clock, and routing to the providers (`provider.ts`) that serve
 * the files: one module per service, registered in the constructor. Time only moves through
 * `advance(nowMs)`. Everything is allocated in the constructor; requests fill caller buffers.
 */
import { allocU8, sizedWriter } from "./alloc.ts";
import type { BootConfig } from "../boot.ts";
import { COHESIX_VERSION } from "../version.ts";
import type { ByteWriter } from "../lib/bytes.ts";
import { EBADF, EBUSY, ECANCELED, EINVAL, EISDIR, EMSGSIZE, ENOENT, ENOTDIR, EPERM, EROFS } from "../../secure9p/errors.ts";
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
import { CtlParser } from "./control.ts";
import type { GpuSim } from "./gpu.ts";
import { RingSet } from "./ring.ts";
import { parseMode, PathScratch, RoleTable, RuleList, rulesAllow, Want } from "./roles.ts";
import { Phase, SessionTable } from "./sessions.ts";
import { IngestStats } from "./ingest_stats.ts";
import { Cat, categoryIndex, Level, levelIndex, TRACE_CATEGORIES, TraceLog } from "./trace.ts";
import { Access, NodeTree } from "./tree.ts";
import type { WorkerTable } from "./workers.ts";
import { type Provider, safe } from "./provider.ts";
import { ProcFiles } from "./providers/proc.ts";
import { LogFiles } from "./providers/log.ts";
import { QueenFiles } from "./providers/queen.ts";
import { WorkerFiles, workerBootNodes, workerNodeCount } from "./providers/workers.ts";
import { GpuFiles } from "./providers/gpu.ts";
import { ingestNodeCount, TelemetryIngestFiles } from "./providers/telemetry_ingest.ts";
import { TraceFiles } from "./providers/trace.ts";
import { Gate, LifeState, LIFECYCLE_NODES, LifecycleFiles } from "./providers/lifecycle.ts";
import { ObservabilityFiles, observabilityNodeCount } from "./providers/observability.ts";
import type { AuditJournal } from "./audit_journal.ts";
import type { GpuHooks, MkdirHook, NamespaceExtension } from "./extension.ts";
import type { PolicyGate } from "./policy_gate.ts";

const OP_NAMES = ["walk", "open", "read", "write", "readdir", "stat"];
const Op = { Walk: 0, Open: 1, Read: 2, Write: 3, Readdir: 4, Stat: 5 } as const;
const TWO32 = 4294967296;

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
  /** Sessions cut: revoked (ticket expiry, revocation, a killed worker). */
  cut = 0;
}

export class NineDoor implements Namespace {
  readonly boot: BootConfig;
  tree: NodeTree;
  roles: RoleTable;
  sessions: SessionTable;
  log: RingSet;
  trace: TraceLog;
  pressure: Pressure = new Pressure();
  /** Telemetry ingest statistics (worker rings and ingest segments) for /proc/ingest. */
  ingest: IngestStats;
  /** Root authority for /proc/root: the injected time of the last authenticated queen activity. */
  rootSeenMs = 0;
  /** Why the queen is gone, by the reference's priorities: its session was revoked, its attach refused. */
  queenRevoked = false;
  queenDenied = false;
  /** Role index of `queen` (-1 when the role table has none). */
  queenRole = -1;
  verifier: TicketVerifier | null;
  /** The provider table: a node's `prov` column indexes it. */
  providers: Provider[] = [];
  /** Providers other services call (workers are spawned by /queen/ctl, leased by GPUs). */
  workerSvc: WorkerFiles;
  gpuSvc: GpuFiles;
  /** The lifecycle state and its gates (worker attach, spawn, telemetry, ingest, GPU jobs). */
  lifecycleSvc: LifecycleFiles;
  /**
   * Approval gates on Control writes (`[ecosystem.policy]`); the contract other providers call.
   * Null when the `[ecosystem]` extension is not linked (ecosystem.ts).
   */
  policyGate: PolicyGate | null = null;
  /** The bounded audit journal, decisions and replay records (`[ecosystem.audit]`); null when not linked. */
  auditLog: AuditJournal | null = null;
  /** LEASE and breadcrumb writes on the core GPU files (`[gpu.bridge]`); null when not linked or off. */
  gpuHooks: GpuHooks | null = null;
  /** Tmkdir and rmdir in the directory one provider makes directories in (`[cas]`: /updates); null: EROFS. */
  mkdirHook: MkdirHook | null = null;
  /** Shorthands for the state those two providers own (benchmarks and tests read them). */
  workers: WorkerTable;
  telemetry: RingSet;
  gpus: GpuSim;
  /** `/proc`, where providers add per-worker directories. */
  procDir = -1;
  /** Status of the last refused or accepted attach (TicketStatus), for the console's detail. */
  lastAttachStatus = 0;
  /** Lifecycle state name when the last attach was refused by the lifecycle gate (console detail). */
  lastAttachState = "";
  /** "" or why the boot configuration was refused (then every attach is refused). */
  bootError = "";
  nowMs = 0;
  tickCount = 0;
  /** Shared by control-file parsers (one write is parsed at a time). */
  parser: CtlParser = new CtlParser();
  /** Composes one queen log line; `logLine()` appends it. */
  lw: ByteWriter;
  /** Renders text files for one read at a time. */
  scratch: ByteWriter;
  private nextTickMs: number;
  private started = false;
  private claims: TicketClaims = new TicketClaims();
  private path: PathScratch = new PathScratch();

  constructor(boot: BootConfig, verifier: TicketVerifier | null = null, extension: NamespaceExtension | null = null) {
    this.boot = boot;
    this.verifier = verifier;
    const lim = boot.limits;
    const ingest = boot.telemetryIngest;
    const nodes = 32 + boot.gpus.length * 5 + workerBootNodes(boot.sharding) +
      lim.maxWorkers * workerNodeCount(boot.sharding) + LIFECYCLE_NODES +
      ingestNodeCount(ingest.maxDevices, ingest.maxSegments) + observabilityNodeCount(boot.observability, lim.maxSessions) +
      (extension === null ? 0 : extension.extNodeCount(boot));
    this.tree = new NodeTree(nodes);
    this.roles = new RoleTable();
    // A malformed role table is a generator bug: record it and refuse every attach.
    this.bootError = this.roles.load(boot.roles);
    this.queenRole = this.roles.indexOf("queen");
    this.sessions = new SessionTable(lim.maxSessions, lim.maxOpenPerSession, lim.maxMountsPerSession);
    this.log = new RingSet(1, boot.logRingBytes);
    this.ingest = new IngestStats(lim.maxWorkers + ingest.maxDevices * ingest.maxSegments, boot.observability.ingest);
    this.trace = new TraceLog(boot.traceRingBytes, lim.maxWorkers, boot.workerTraceRingBytes);
    this.lw = sizedWriter(1024);
    this.scratch = sizedWriter(8192 + lim.maxWorkers * 192 + lim.maxSessions * 160 + boot.gpus.length * 256);
    this.nextTickMs = boot.tickMs;

    const cats = allocU8(TRACE_CATEGORIES.length);
    for (let i = 0; i < boot.traceCategories.length; i++) {
      const c = categoryIndex(boot.traceCategories[i]);
      if (c >= 0) cats[c] = 1;
    }
    const level = levelIndex(boot.traceLevel);
    this.trace.setFilter(level < 0 ? Level.Info : level, cats);

    this.workerSvc = new WorkerFiles(this);
    this.gpuSvc = new GpuFiles(this);
    this.lifecycleSvc = new LifecycleFiles(this);
    this.workers = this.workerSvc.table;
    this.telemetry = this.workerSvc.rings;
    this.gpus = this.gpuSvc.sim;
    // The provider table. Registration order is node-slot order (qids, readdir order of `/`).
    this.register(new ProcFiles(this));
    this.register(new LogFiles(this));
    this.register(new QueenFiles(this));
    this.register(this.workerSvc);
    this.register(this.gpuSvc);
    this.register(new TraceFiles(this));
    this.register(new TelemetryIngestFiles(this));
    this.register(this.lifecycleSvc);
    this.register(new ObservabilityFiles(this));
    if (extension !== null) extension.extInstall(this);

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
    // Boot is complete: the manifest's automatic lifecycle transition (BOOTING -> ONLINE) applies.
    this.lifecycleSvc.bootComplete();
  }

  /** Adds a provider to the table and lets it mount its nodes. */
  register(p: Provider): void {
    p.provId = this.providers.length;
    this.providers.push(p);
    p.mountNodes();
  }

  // ---- log and audit -------------------------------------------------------------------------

  /** Appends the line composed in `lw` (plus newline) to `/log/queen.log`. */
  logLine(): void {
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
  writePath(w: ByteWriter, slot: number): void {
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

  /** Resolves an absolute path (already checked: no traversal) in the shared tree; slot or -1. */
  resolve(src: Uint8Array, off: number, len: number): number {
    const tree = this.tree;
    let slot = 0;
    let start = off + 1;
    const end = off + len;
    for (let i = off + 1; i <= end; i++) {
      if (i < end && src[i] !== 47) continue;
      if (i > start) {
        if (tree.access[slot] !== Access.Dir) return -1;
        slot = tree.child(slot, src, start, i - start);
        if (slot < 0) return -1;
      }
      start = i + 1;
    }
    return slot;
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
    const aj = this.auditLog;
    const pg = this.policyGate;
    if (aj !== null && pg !== null && aj.ajOn) {
      const pw = pg.pgPath;
      pw.reset();
      this.writePath(pw, slot);
      aj.ajDeny(s, OP_NAMES[op], pw, reason);
    }
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
    // The lifecycle gate comes first: a cordoned hive takes no new workers, whatever their ticket.
    if (this.roles.workerSubject[r] && !this.lifecycleSvc.lcAllows(Gate.WorkerAttach)) {
      this.lastAttachState = this.lifecycleSvc.lcStateName();
      return this.refuse(r, TicketStatus.LifecycleDenied);
    }
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
      worker = hasTicket ? this.workerSvc.attachable(claims.subject, role === "worker-gpu") : -1;
      if (worker < 0) return this.refuse(r, TicketStatus.BadSubject);
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
    if (hasTicket) ss.ticketId.set(s, claims.nonce);
    const sc = ss.scopes;
    sc[s] = scopes;
    this.lastAttachStatus = TicketStatus.Ok;
    ss.enterPhase(s, Phase.Setup, this.nowMs);
    if (r === this.queenRole) {
      this.rootSeenMs = this.nowMs;
      this.queenRevoked = false;
      this.queenDenied = false;
    }
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
    if (r >= 0 && r === this.queenRole) this.queenDenied = true;
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
    const ss = this.sessions;
    const s = ss.slotOf(session);
    if (s < 0) return;
    ss.free(s);
    // A revoked session closed when it was revoked; its detach does not move that time.
    if (ss.phase[s] !== Phase.Closed) ss.enterPhase(s, Phase.Closed, this.nowMs);
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
    // Authenticated queen activity keeps the root reachable; a session's first request makes it ACTIVE.
    if (ss.role[s] === this.queenRole) this.rootSeenMs = this.nowMs;
    if (ss.phase[s] === Phase.Setup) ss.enterPhase(s, Phase.Active, this.nowMs);
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
    if (result >= 0 && w >= 0) this.workerSvc.countOp(w);
    return result;
  }

  /** Role and ticket-scope check; a refusal is one audit line and -EPERM. */
  private allowed(s: number, slot: number, want: number, op: number): boolean {
    const ss = this.sessions;
    const p = this.path;
    const tree = this.tree;
    let ok = p.load(tree, slot);
    if (ok) {
      const gpu = this.workerSvc.leasedGpu(ss.worker[s]);
      const shard = this.workerSvc.shardOf(ss.worker[s]);
      const subject = ss.subject.get(s);
      ok = rulesAllow(this.roles.rules[ss.role[s]], tree, p, want, subject, gpu, shard);
      const scopes = ss.scopes[s];
      if (ok && scopes !== null) ok = rulesAllow(scopes, tree, p, want, subject, gpu, shard);
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
    if (tree.access[slot] !== Access.Dir) return -ENOTDIR;
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
    const access = this.tree.access[slot];
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
    const tree = this.tree;
    if (tree.access[slot] === Access.Dir) return -EISDIR;
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
    const p = this.providers[tree.prov[slot]];
    const n = p.nodeRead(tree.kind[slot], tree.arg[slot], offset, dst, dstOff, count);
    if (n > 0) this.chargeBytes(s, Op.Read, slot, n);
    return this.done(s, n);
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
    const tree = this.tree;
    const access = tree.access[slot];
    if (access === Access.Dir) return -EISDIR;
    if (access === Access.ReadOnly) return -EROFS;
    if (!this.allowed(s, slot, Want.Write, Op.Write)) return -EPERM;
    // A worker acts on the queen's authority only (seeds 21e): with the root cut, anything but its
    // own telemetry (which may complete) is refused as a cut, counted and audited.
    if (this.sessions.worker[s] >= 0 && tree.prov[slot] !== this.workerSvc.provId && !this.rootReachable()) {
      this.pressure.cut++;
      this.audit(s, Op.Write, slot, "root-cut");
      return -ECANCELED;
    }
    if (count < 0 || srcOff < 0 || count > src.length - srcOff) return -EINVAL;
    if (!this.chargeBytes(s, Op.Write, slot, count)) return -EMSGSIZE;
    // Control writes pass the policy gate (an approval when a rule names the path) and are audited.
    const pg = this.policyGate;
    const aj = this.auditLog;
    const ctl = access === Access.Control && pg !== null && aj !== null && (pg.pgOn || aj.ajOn);
    let token = 0;
    if (ctl) {
      token = pg.pgWrite(s, slot);
      if (token < 0) {
        aj.ajControlWrite(s, pg.pgPath, src, srcOff, count, token);
        return token;
      }
    }
    // Append-only and control files ignore the offset: every write lands at the end.
    const p = this.providers[tree.prov[slot]];
    const n = p.nodeWrite(s, tree.kind[slot], tree.arg[slot], src, srcOff, count);
    if (ctl) {
      pg.pgCommit(s, token, n, pg.pgPath);
      aj.ajControlWrite(s, pg.pgPath, src, srcOff, count, n);
    }
    // The write may have removed the node (a worker killing itself); only a live node gets an mtime.
    if (n >= 0 && tree.live[slot] !== 0) {
      const mt = tree.mtime;
      mt[slot] = Math.floor(this.nowMs / 1000);
    }
    return this.done(s, n);
  }

  readdir(session: number, node: number, index: number, out: DirEntry): number {
    const slot = this.enter(session, node, Op.Readdir);
    if (slot < 0) return slot;
    const s = this.cur;
    const tree = this.tree;
    if (tree.access[slot] !== Access.Dir) return -ENOTDIR;
    if (!this.allowed(s, slot, Want.Read, Op.Readdir)) return -EPERM;
    const c = tree.childAt(slot, index);
    if (c < 0) return this.done(s, 0);
    const h = tree.handle(c);
    out.qidType = qidType(tree.access[c]);
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
    const access = tree.access[slot];
    const h = tree.handle(slot);
    out.qidType = qidType(access);
    out.qidVersion = 0;
    out.qidPathLo = h;
    out.qidPathHi = 0;
    out.mtimeSec = tree.mtime[slot];
    out.nlink = 1;
    let size = 0;
    if (access === Access.Dir) out.mode = 0o040555;
    else {
      if (access === Access.ReadOnly) out.mode = 0o100444;
      else if (access === Access.AppendOnly) out.mode = 0o100644;
      else out.mode = 0o100220;
      size = this.providers[tree.prov[slot]].nodeSize(tree.kind[slot], tree.arg[slot]);
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
    const tree = this.tree;
    const slot = tree.slotOf(node);
    if (slot < 0) return -EBADF;
    if (tree.access[slot] === Access.Dir) return 0;
    return this.providers[tree.prov[slot]].nodeStart(tree.kind[slot], tree.arg[slot]);
  }

  /** Tmkdir: only in the directory of the mkdir hook (a write on it under the role's rules). */
  mkdir(session: number, dir: number, buf: Uint8Array, off: number, len: number, _mode: number): number {
    const slot = this.enter(session, dir, Op.Write);
    if (slot < 0) return slot;
    const s = this.cur;
    if (this.tree.access[slot] !== Access.Dir) return -ENOTDIR;
    if (!this.allowed(s, slot, Want.Write, Op.Write)) return -EPERM;
    const hook = this.mkdirHook;
    if (hook === null || hook.mhDir !== slot) return -EROFS;
    const made = hook.mhMkdir(s, buf, off, len);
    if (made < 0) return made;
    return this.done(s, this.tree.handle(made));
  }

  /** Tremove / Tunlinkat: only a directory in the mkdir hook's directory (`rmdir /updates/<epoch>`). */
  remove(session: number, node: number): number {
    const slot = this.enter(session, node, Op.Write);
    if (slot < 0) return slot;
    const s = this.cur;
    const tree = this.tree;
    const hook = this.mkdirHook;
    if (hook === null || tree.parent[slot] !== hook.mhDir || tree.access[slot] !== Access.Dir) return -EROFS;
    if (!this.allowed(s, slot, Want.Write, Op.Write)) return -EPERM;
    return this.done(s, hook.mhRemove(s, slot));
  }

  clunk(session: number, node: number): void {
    const s = this.sessions.slotOf(session);
    if (s >= 0) this.sessions.dropOpen(s, node);
  }

  /** Removes node `slot` and its subtree, and every mount that points into it. */
  dropSubtree(slot: number): void {
    const tree = this.tree;
    let c = tree.firstChild[slot];
    while (c >= 0) {
      this.sessions.dropMountsOf(c);
      c = tree.nextSibling[c];
    }
    this.sessions.dropMountsOf(slot);
    tree.remove(slot);
  }

  /** Revokes every session acting for worker slot `w` (their next operation answers Closed). */
  revokeWorkerSessions(w: number): void {
    const ss = this.sessions;
    const rv = ss.revoked;
    for (let s = 0; s < ss.cap; s++) {
      if (ss.live[s] === 0 || ss.worker[s] !== w || rv[s] !== 0) continue;
      rv[s] = 1;
      this.cutSession(s);
    }
  }

  /** The root is reachable while a queen session is attached, unrevoked, on a hive that is not OFFLINE. */
  rootReachable(): boolean {
    if (this.lifecycleSvc.lcState === LifeState.Offline) return false;
    const ss = this.sessions;
    for (let s = 0; s < ss.cap; s++) {
      if (ss.live[s] !== 0 && ss.revoked[s] === 0 && ss.role[s] === this.queenRole) return true;
    }
    return false;
  }

  /** A revoked session is CLOSED at once, counted as cut, and a revoked queen cuts the root. */
  private cutSession(s: number): void {
    const ss = this.sessions;
    ss.enterPhase(s, Phase.Closed, this.nowMs);
    this.pressure.cut++;
    if (ss.role[s] === this.queenRole) this.queenRevoked = true;
  }

  private revokeSession(s: number, reason: string): void {
    const rv = this.sessions.revoked;
    rv[s] = 1;
    this.cutSession(s);
    const lw = this.lw;
    lw.reset();
    lw.labelUint("revoke session=", s);
    lw.ascii(" reason=");
    lw.ascii(reason);
    this.logLine();
  }

  // ---- time ------------------------------------------------------------------------------------------

  /**
   * Moves the injected clock to `nowMs` (ignored if it goes backwards): runs every whole tick since
   * the last call (at most maxCatchUpTicks, the rest counted as skipped), then tells each provider
   * the time (ttl deadlines, simulated GPU jobs). The first call fixes the origin: ticks fall at
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
    const provs = this.providers;
    let ran = 0;
    while (this.nextTickMs <= nowMs && ran < this.boot.limits.maxCatchUpTicks) {
      // Each caught-up tick happens at its own scheduled time (trace stamps, ttl checks).
      this.nowMs = this.nextTickMs;
      this.tickCount++;
      for (let i = 0; i < provs.length; i++) provs[i].onTick();
      ran++;
      this.nextTickMs = this.nextTickMs + tickMs;
    }
    this.nowMs = nowMs;
    if (this.nextTickMs <= nowMs) {
      const skip = Math.floor((nowMs - this.nextTickMs) / tickMs) + 1;
      this.pressure.ticksSkipped += skip;
      this.nextTickMs = this.nextTickMs + skip * tickMs;
    }
    for (let i = 0; i < provs.length; i++) provs[i].onClock(nowMs);
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

function qidType(access: number): number {
  if (access === Access.Dir) return QTDIR;
  if (access === Access.AppendOnly) return QTAPPEND;
  return QTFILE;
}
