/**
 * `/trace/ctl` (the filter: read it, or write `{"set":{"level":…,"cats":[…]}}`) and `/trace/events`
 * (the global trace ring). Per-worker traces are served by the workers provider.
 */
import { allocU8 } from "../alloc.ts";
import { EINVAL } from "../../../secure9p/errors.ts";
import { JsonType } from "../json.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered, trimmedLen } from "../provider.ts";
import { TRACE_CATEGORIES, TRACE_LEVELS } from "../trace.ts";
import { Access } from "../tree.ts";

const Kind = { Ctl: 1, Events: 2 } as const;

export class TraceFiles implements Provider {
  provId = -1;
  private nd: NineDoor;
  private catScratch: Uint8Array;

  constructor(nd: NineDoor) {
    this.nd = nd;
    this.catScratch = allocU8(TRACE_CATEGORIES.length);
  }

  mountNodes(): void {
    const t = this.nd.tree;
    const dir = t.addDir(0, "trace", 0, 0);
    t.add(dir, "ctl", this.provId, Kind.Ctl, Access.Control, 0, 0);
    t.add(dir, "events", this.provId, Kind.Events, Access.ReadOnly, 0, 0);
  }

  nodeRead(kind: number, _arg: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    if (kind === Kind.Events) return this.nd.trace.events.read(0, offset, dst, dstOff, count);
    const w = this.nd.scratch;
    w.reset();
    this.nd.trace.describe(w);
    return readRendered(w, offset, dst, dstOff, count);
  }

  nodeWrite(_s: number, kind: number, _arg: number, src: Uint8Array, srcOff: number, count: number): number {
    if (kind !== Kind.Ctl) return -EINVAL;
    return this.traceCtl(src, srcOff, count);
  }

  nodeSize(kind: number, _arg: number): number {
    return kind === Kind.Events ? this.nd.trace.events.end[0] : 0;
  }

  nodeStart(kind: number, _arg: number): number {
    return kind === Kind.Events ? this.nd.trace.events.start[0] : 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {}

  /** `{"set":{"level":"debug","cats":["boot","ninep"]}}`; both fields optional, nothing else allowed. */
  private traceCtl(src: Uint8Array, off: number, count: number): number {
    const nd = this.nd;
    const t = nd.parser.tokens;
    const len = trimmedLen(src, off, count);
    if (t.parse(src, off, len) < 0 || t.type[0] !== JsonType.Object || t.size[0] !== 1 || !t.is(1, "set")) {
      return this.rejectTrace();
    }
    const set = 2;
    if (t.type[set] !== JsonType.Object) return this.rejectTrace();
    let level = nd.trace.level;
    const cats = this.catScratch;
    const enabled = nd.trace.enabled;
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
    nd.trace.setFilter(level, cats);
    const lw = nd.lw;
    lw.reset();
    lw.ascii("trace filter ");
    nd.trace.describe(lw);
    lw.len = lw.len - 1;
    nd.logLine();
    return count;
  }

  private rejectTrace(): number {
    this.nd.pressure.ctlRejected++;
    const lw = this.nd.lw;
    lw.reset();
    lw.ascii("trace-ctl outcome=reject error=EINVAL");
    this.nd.logLine();
    return -EINVAL;
  }
}
