/**
 * Runs a decoded op stream against a `ReplayTarget` and prints every output byte (see
 * `transcript.ts` for the format). Synchronous, deterministic, and allocation-free per op once
 * constructed: the drain buffer, slot table and digest are allocated here, at boot.
 */
import { equalsAscii } from "../lib/bytes.ts";
import { Digest } from "./digest.ts";
import { OpReader } from "./op_reader.ts";
import { CONN, MAX_SLOTS, OP } from "./ops.ts";
import type { ReplayTarget } from "./target.ts";
import { CLOSE_TAGS, CLOSED_TAGS, IN_TAGS, OPEN_TAGS, OUT_TAGS, Transcript } from "./transcript.ts";

const DRAIN_BYTES = 4096;
/** Console kinds a corpus may open (the console transports of the hive). */
const CONSOLE_KINDS: string[] = ["tcp", "serial"];

export class Replayer {
  ops: OpReader;
  out: Transcript;
  digest: Digest;
  drainBuf: Uint8Array;
  /** Connection id per slot, -1 when the slot is not open. */
  ids: number[] = [];
  /** 1 once "@closed" was printed for the slot's connection. */
  closedSeen: number[] = [];
  nowMs = 0;

  constructor(hex: string) {
    this.ops = new OpReader(hex);
    this.out = new Transcript();
    this.digest = new Digest();
    this.drainBuf = new Uint8Array(DRAIN_BYTES);
    for (let i = 0; i < MAX_SLOTS; i++) {
      this.ids.push(-1);
      this.closedSeen.push(0);
    }
  }

  /** Reads the leading TARGET op; returns the target kind or -1 when the stream does not start with one. */
  readTarget(): number {
    const op = this.ops.u8();
    if (op !== OP.TARGET) return -1;
    return this.ops.u8();
  }

  /** Runs every remaining op; returns 0, or 1 when the stream was malformed (an "@bad-corpus" line says so). */
  run(t: ReplayTarget): number {
    const ops = this.ops;
    const out = this.out;
    while (!ops.bad && !ops.atEnd()) {
      const op = ops.u8();
      if (op === OP.END) break;
      if (op === OP.OPEN) this.open(t);
      else if (op === OP.INPUT) {
        const slot = this.slot();
        ops.blob();
        if (slot < 0) break;
        out.line(IN_TAGS[slot]);
        const id = this.ids[slot];
        if (id < 0) out.line("@not-open");
        else this.feed(t, id, ops.blobOff, ops.blobLen, false);
      } else if (op === OP.TICK) {
        this.nowMs = this.nowMs + ops.u32();
        out.line("@tick");
        t.advance(this.nowMs);
        this.drainAll(t, false);
      } else if (op === OP.CLOSE) {
        const slot = this.slot();
        if (slot < 0) break;
        out.line(CLOSE_TAGS[slot]);
        const id = this.ids[slot];
        if (id >= 0) {
          this.drainAll(t, false);
          t.close(id);
          this.ids[slot] = -1;
        }
      } else if (op === OP.MARK) {
        ops.blob();
        out.line("@mark");
        out.bytes(ops.bytes, ops.blobOff, ops.blobLen);
      } else if (op === OP.REPEAT) this.repeat(t);
      else if (op === OP.DIGEST) this.printDigest();
      else {
        ops.bad = true;
      }
    }
    if (ops.bad) {
      out.line("@bad-corpus");
      return 1;
    }
    return 0;
  }

  /** Reads a slot byte; marks the stream bad when it is out of range. */
  slot(): number {
    const s = this.ops.u8();
    if (s >= MAX_SLOTS) {
      this.ops.bad = true;
      return -1;
    }
    return s;
  }

  open(t: ReplayTarget): void {
    const ops = this.ops;
    const out = this.out;
    const slot = this.slot();
    const type = ops.u8();
    ops.blob();
    if (slot < 0) return;
    out.line(OPEN_TAGS[slot]);
    let id = -1;
    if (type === CONN.NINEP) id = t.openNinep();
    else {
      // Console kinds are matched against literals: building strings in a loop is unreliable under Porffor.
      let kind = "";
      for (let k = 0; k < CONSOLE_KINDS.length; k++) {
        if (equalsAscii(ops.bytes, ops.blobOff, ops.blobLen, CONSOLE_KINDS[k])) kind = CONSOLE_KINDS[k];
      }
      if (kind === "") {
        out.line("@unknown-console-kind");
        return;
      }
      id = t.openConsole(kind);
    }
    if (id < 0) {
      out.line("@open-failed");
      out.uint(-id);
      return;
    }
    this.ids[slot] = id;
    this.closedSeen[slot] = 0;
    this.drainAll(t, false);
  }

  /**
   * Feeds bytes to one connection, draining every open slot after each offer. The target may take
   * fewer bytes than offered (flow control): the rest is offered again after the drain, until it
   * takes everything, refuses (-errno), or takes nothing twice in a row ("@input-stalled").
   */
  feed(t: ReplayTarget, id: number, off: number, len: number, quiet: boolean): void {
    let done = 0;
    let idle = 0;
    while (done < len) {
      const r = t.input(id, this.ops.bytes, off + done, len - done);
      if (r < 0) {
        if (!quiet) {
          this.out.line("@input-error");
          this.out.uint(-r);
        }
        break;
      }
      done = done + r;
      this.drainAll(t, quiet);
      if (r === 0) {
        idle = idle + 1;
        if (idle >= 2) {
          if (!quiet) this.out.line("@input-stalled");
          break;
        }
      } else idle = 0;
    }
    if (len === 0) this.drainAll(t, quiet);
  }

  repeat(t: ReplayTarget): void {
    const ops = this.ops;
    const count = ops.u32();
    const slot = this.slot();
    ops.blob();
    if (slot < 0) return;
    this.out.line("@repeat");
    this.out.uint(count);
    const id = this.ids[slot];
    if (id < 0) {
      this.out.line("@not-open");
      return;
    }
    for (let i = 0; i < count; i++) this.feed(t, id, ops.blobOff, ops.blobLen, true);
  }

  printDigest(): void {
    const d = this.digest;
    const out = this.out;
    out.line("@digest");
    out.uint(d.count);
    out.line("@h1");
    out.uint(d.h1);
    out.line("@h2");
    out.uint(d.h2);
    d.reset();
  }

  /** Drains every open slot in slot order; quiet output goes to the digest instead of the transcript. */
  drainAll(t: ReplayTarget, quiet: boolean): void {
    const buf = this.drainBuf;
    const out = this.out;
    for (let s = 0; s < MAX_SLOTS; s++) {
      const id = this.ids[s];
      if (id < 0) continue;
      let tagged = false;
      for (;;) {
        const n = t.output(id, buf, 0, DRAIN_BYTES);
        if (n <= 0) break;
        if (quiet) this.digest.add(buf, 0, n);
        else {
          if (!tagged) {
            out.line(OUT_TAGS[s]);
            tagged = true;
          }
          out.bytes(buf, 0, n);
        }
      }
      if (this.closedSeen[s] === 0 && t.closed(id)) {
        this.closedSeen[s] = 1;
        if (!quiet) out.line(CLOSED_TAGS[s]);
      }
    }
  }
}
