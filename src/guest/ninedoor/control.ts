/**
 * `/queen/ctl` commands: one JSON object per line, parsed strictly into a reused `CtlCommand`.
 * This module does the syntax and schema half (unknown or duplicate keys, wrong types, missing
 * fields → Invalid with a fixed reason); the namespace does the state half (does the worker or
 * GPU exist) and applies a whole write only when every line of it passed both.
 */
import { EINVAL } from "../../secure9p/errors.ts";
import { allocI32 } from "./alloc.ts";
import { JsonTokens, JsonType } from "./json.ts";

export const CtlOp = { Spawn: 1, Kill: 2, Budget: 3, Bind: 4, Mount: 5 } as const;
export const SpawnKind = { Heartbeat: 1, Gpu: 2 } as const;

/** Fixed rejection reasons (module constants: no strings are built per command). */
export const Reason = {
  BadJson: "malformed-json",
  NotObject: "not-an-object",
  UnknownKey: "unknown-key",
  DuplicateKey: "duplicate-key",
  NoCommand: "no-command",
  TwoCommands: "conflicting-commands",
  BadSpawn: "spawn-accepts-heartbeat-or-gpu",
  NeedTicks: "heartbeat-spawn-requires-ticks",
  NeedLease: "gpu-spawn-requires-lease",
  BadNumber: "expected-unsigned-integer",
  BadString: "expected-string",
  BadObject: "expected-object",
  EmptyBudget: "budget-needs-a-field",
  BadPath: "path-must-be-absolute",
  Traversal: "path-contains-traversal-component",
  TooMany: "too-many-commands",
  TooBig: "write-too-large",
} as const;

/** A byte range of the write buffer holding a JSON string's raw contents. */
export class Span {
  off = 0;
  len = 0;
}

export class CtlCommand {
  op = 0;
  spawnKind = 0;
  /** -1: not given. */
  ticks = -1;
  budgetTicks = -1;
  budgetOps = -1;
  budgetTtlS = -1;
  leaseMemMb = -1;
  leaseStreams = -1;
  leaseTtlS = -1;
  leasePriority = 0;
  gpu: Span = new Span();
  /** kill target, or budget's optional `worker`. */
  worker: Span = new Span();
  hasWorker = false;
  from: Span = new Span();
  to: Span = new Span();
  errno = 0;
  reason = "";

  clear(): void {
    this.op = 0;
    this.spawnKind = 0;
    this.ticks = -1;
    this.budgetTicks = -1;
    this.budgetOps = -1;
    this.budgetTtlS = -1;
    this.leaseMemMb = -1;
    this.leaseStreams = -1;
    this.leaseTtlS = -1;
    this.leasePriority = 0;
    this.hasWorker = false;
    this.errno = 0;
    this.reason = "";
  }

  fail(reason: string): boolean {
    this.errno = EINVAL;
    this.reason = reason;
    return false;
  }
}

const TOP_KEYS = ["spawn", "ticks", "lease", "budget", "kill", "worker", "bind", "mount"];
const K_SPAWN = 0;
const K_TICKS = 1;
const K_LEASE = 2;
const K_BUDGET = 3;
const K_KILL = 4;
const K_WORKER = 5;
const K_BIND = 6;
const K_MOUNT = 7;

/** Parses queen commands; owns the token columns and per-key scratch. */
export class CtlParser {
  tokens: JsonTokens;
  /** Value token per top-level key, -1 when absent. */
  keyTok: Int32Array;

  constructor() {
    this.tokens = new JsonTokens(64);
    this.keyTok = allocI32(TOP_KEYS.length);
  }

  /** Parses buf[off..off+len) into `out`. Returns true, or false with out.errno/out.reason set. */
  parse(buf: Uint8Array, off: number, len: number, out: CtlCommand): boolean {
    out.clear();
    const t = this.tokens;
    if (t.parse(buf, off, len) < 0) return out.fail(Reason.BadJson);
    if (t.type[0] !== JsonType.Object) return out.fail(Reason.NotObject);
    const keyTok = this.keyTok;
    for (let k = 0; k < keyTok.length; k++) keyTok[k] = -1;
    let i = 1;
    for (let p = 0; p < t.size[0]; p++) {
      let which = -1;
      for (let k = 0; k < TOP_KEYS.length; k++) if (t.is(i, TOP_KEYS[k])) which = k;
      if (which < 0) return out.fail(Reason.UnknownKey);
      if (keyTok[which] >= 0) return out.fail(Reason.DuplicateKey);
      keyTok[which] = i + 1;
      i = t.next[i + 1];
    }
    let commands = 0;
    if (keyTok[K_SPAWN] >= 0) commands++;
    if (keyTok[K_KILL] >= 0) commands++;
    if (keyTok[K_BIND] >= 0) commands++;
    if (keyTok[K_MOUNT] >= 0) commands++;
    if (commands === 0 && keyTok[K_BUDGET] >= 0) return this.budgetCommand(out);
    if (commands === 0) return out.fail(Reason.NoCommand);
    if (commands > 1) return out.fail(Reason.TwoCommands);
    if (keyTok[K_SPAWN] >= 0) return this.spawn(out);
    if (!this.only(keyTok[K_KILL] >= 0 ? K_KILL : keyTok[K_BIND] >= 0 ? K_BIND : K_MOUNT)) {
      return out.fail(Reason.UnknownKey);
    }
    if (keyTok[K_KILL] >= 0) {
      out.op = CtlOp.Kill;
      return this.str(keyTok[K_KILL], out.worker, out);
    }
    if (keyTok[K_BIND] >= 0) {
      out.op = CtlOp.Bind;
      return this.pair(keyTok[K_BIND], "from", "to", out, true);
    }
    out.op = CtlOp.Mount;
    return this.pair(keyTok[K_MOUNT], "service", "at", out, false);
  }

  /** True when no top-level key other than `k` is present. */
  private only(k: number): boolean {
    const keyTok = this.keyTok;
    for (let j = 0; j < keyTok.length; j++) if (j !== k && keyTok[j] >= 0) return false;
    return true;
  }

  private str(tok: number, span: Span, out: CtlCommand): boolean {
    const t = this.tokens;
    if (t.type[tok] !== JsonType.String) return out.fail(Reason.BadString);
    span.off = t.start[tok];
    span.len = t.end[tok] - t.start[tok];
    return true;
  }

  private spawn(out: CtlCommand): boolean {
    const t = this.tokens;
    const keyTok = this.keyTok;
    if (keyTok[K_KILL] >= 0 || keyTok[K_WORKER] >= 0) return out.fail(Reason.UnknownKey);
    out.op = CtlOp.Spawn;
    const v = keyTok[K_SPAWN];
    if (t.is(v, "heartbeat")) {
      out.spawnKind = SpawnKind.Heartbeat;
      if (keyTok[K_LEASE] >= 0) return out.fail(Reason.UnknownKey);
      if (keyTok[K_TICKS] < 0) return out.fail(Reason.NeedTicks);
      out.ticks = t.uint(keyTok[K_TICKS]);
      if (out.ticks < 0) return out.fail(Reason.BadNumber);
    } else if (t.is(v, "gpu")) {
      out.spawnKind = SpawnKind.Gpu;
      if (keyTok[K_TICKS] >= 0) return out.fail(Reason.UnknownKey);
      if (keyTok[K_LEASE] < 0) return out.fail(Reason.NeedLease);
      if (!this.lease(keyTok[K_LEASE], out)) return false;
    } else return out.fail(Reason.BadSpawn);
    if (keyTok[K_BUDGET] >= 0) return this.budget(keyTok[K_BUDGET], out);
    return true;
  }

  private lease(tok: number, out: CtlCommand): boolean {
    const t = this.tokens;
    if (t.type[tok] !== JsonType.Object) return out.fail(Reason.BadObject);
    let i = tok + 1;
    let seen = 0;
    for (let p = 0; p < t.size[tok]; p++) {
      const v = i + 1;
      let bit = 0;
      if (t.is(i, "gpu_id")) {
        bit = 1;
        if (!this.str(v, out.gpu, out)) return false;
      } else if (t.is(i, "mem_mb")) {
        bit = 2;
        out.leaseMemMb = t.uint(v);
      } else if (t.is(i, "streams")) {
        bit = 4;
        out.leaseStreams = t.uint(v);
      } else if (t.is(i, "ttl_s")) {
        bit = 8;
        out.leaseTtlS = t.uint(v);
      } else if (t.is(i, "priority")) {
        bit = 16;
        out.leasePriority = t.uint(v);
        if (out.leasePriority < 0) return out.fail(Reason.BadNumber);
      } else return out.fail(Reason.UnknownKey);
      if (Math.floor(seen / bit) % 2 === 1) return out.fail(Reason.DuplicateKey);
      seen += bit;
      i = t.next[v];
    }
    // gpu_id, mem_mb, streams and ttl_s are required; priority defaults to 0.
    if (seen % 16 !== 15) return out.fail(Reason.NeedLease);
    if (out.leaseMemMb < 0 || out.leaseStreams < 0 || out.leaseTtlS < 0) return out.fail(Reason.BadNumber);
    return true;
  }

  private budget(tok: number, out: CtlCommand): boolean {
    const t = this.tokens;
    if (t.type[tok] !== JsonType.Object) return out.fail(Reason.BadObject);
    let i = tok + 1;
    for (let p = 0; p < t.size[tok]; p++) {
      const v = i + 1;
      const n = t.uint(v);
      if (n < 0) return out.fail(Reason.BadNumber);
      if (t.is(i, "ttl_s")) {
        if (out.budgetTtlS >= 0) return out.fail(Reason.DuplicateKey);
        out.budgetTtlS = n;
      } else if (t.is(i, "ops")) {
        if (out.budgetOps >= 0) return out.fail(Reason.DuplicateKey);
        out.budgetOps = n;
      } else if (t.is(i, "ticks")) {
        if (out.budgetTicks >= 0) return out.fail(Reason.DuplicateKey);
        out.budgetTicks = n;
      } else return out.fail(Reason.UnknownKey);
      i = t.next[v];
    }
    if (out.budgetTtlS < 0 && out.budgetOps < 0 && out.budgetTicks < 0) return out.fail(Reason.EmptyBudget);
    return true;
  }

  private budgetCommand(out: CtlCommand): boolean {
    const keyTok = this.keyTok;
    if (keyTok[K_TICKS] >= 0 || keyTok[K_LEASE] >= 0) return out.fail(Reason.UnknownKey);
    out.op = CtlOp.Budget;
    if (keyTok[K_WORKER] >= 0) {
      if (!this.str(keyTok[K_WORKER], out.worker, out)) return false;
      out.hasWorker = true;
    }
    return this.budget(keyTok[K_BUDGET], out);
  }

  /** Parses `{"<a>":"…","<b>":"…"}` into out.from / out.to; `aPath` says whether `a` is a path. */
  private pair(tok: number, a: string, b: string, out: CtlCommand, aPath: boolean): boolean {
    const t = this.tokens;
    if (t.type[tok] !== JsonType.Object) return out.fail(Reason.BadObject);
    if (t.size[tok] !== 2) return out.fail(t.size[tok] > 2 ? Reason.UnknownKey : Reason.BadObject);
    let i = tok + 1;
    let seen = 0;
    for (let p = 0; p < 2; p++) {
      const v = i + 1;
      if (t.is(i, a) && seen !== 1) {
        if (!this.str(v, out.from, out)) return false;
        seen += 1;
      } else if (t.is(i, b) && seen !== 2) {
        if (!this.str(v, out.to, out)) return false;
        seen += 2;
      } else return out.fail(Reason.UnknownKey);
      i = t.next[v];
    }
    if (aPath && !checkPath(t.buf, out.from, out)) return false;
    return checkPath(t.buf, out.to, out);
  }
}

/** Absolute, no `.`/`..` components, no escapes (paths are compared as raw bytes). */
function checkPath(buf: Uint8Array, span: Span, out: CtlCommand): boolean {
  if (span.len === 0 || buf[span.off] !== 47) return out.fail(Reason.BadPath);
  let compStart = span.off + 1;
  const end = span.off + span.len;
  for (let i = span.off + 1; i <= end; i++) {
    if (i < end && buf[i] === 92) return out.fail(Reason.BadPath);
    if (i === end || buf[i] === 47) {
      const n = i - compStart;
      if (n === 1 && buf[compStart] === 46) return out.fail(Reason.Traversal);
      if (n === 2 && buf[compStart] === 46 && buf[compStart + 1] === 46) return out.fail(Reason.Traversal);
      compStart = i + 1;
    }
  }
  return true;
}
