/**
 * A replay target made of the guest byte helpers only (`src/guest/lib/bytes.ts`): each input line
 * is split on spaces and every token is answered, so the parity runs compare the helpers' number
 * formatting, UTF-8 coding and token compares across Deno, Porffor and the native builds.
 * Per line: "n=<2v+1>" for a decimal token, "kw" for `hello` in any case, else "s=<utf8 round trip>",
 * then "len=<bytes>" and a newline. Lines over 200 bytes answer "ERR too long".
 */
import { ByteWriter, decodeUtf8, equalsAsciiFold, parseUint, startsWithAscii } from "../lib/bytes.ts";

const MAX_CONNS = 8;
const LINE_MAX = 200;

class ProbeConn {
  open = false;
  line: Uint8Array;
  lineLen = 0;
  overlong = false;
  out: ByteWriter;
  readPos = 0;
  quit = false;

  constructor() {
    this.line = new Uint8Array(LINE_MAX);
    this.out = new ByteWriter(4096);
  }
}

export class LibProbe {
  conns: ProbeConn[] = [];
  nowMs = 0;

  constructor() {
    for (let i = 0; i < MAX_CONNS; i++) this.conns.push(new ProbeConn());
  }

  advance(nowMs: number): void {
    this.nowMs = nowMs;
  }

  openConsole(_kind: string): number {
    for (let i = 0; i < MAX_CONNS; i++) {
      const c = this.conns[i];
      if (!c.open) {
        c.open = true;
        c.lineLen = 0;
        c.overlong = false;
        c.out.reset();
        c.readPos = 0;
        c.quit = false;
        return i;
      }
    }
    return -16; // EBUSY
  }

  openNinep(): number {
    return -95; // EOPNOTSUPP: the probe has no 9P server
  }

  input(id: number, src: Uint8Array, off: number, len: number): number {
    if (id < 0 || id >= MAX_CONNS || !this.conns[id].open) return -9; // EBADF
    const c = this.conns[id];
    const line = c.line;
    for (let i = 0; i < len; i++) {
      const b = src[off + i];
      if (b === 10) {
        this.answer(c);
        c.lineLen = 0;
        c.overlong = false;
      } else if (c.lineLen < LINE_MAX) {
        line[c.lineLen] = b;
        c.lineLen = c.lineLen + 1;
      } else c.overlong = true;
    }
    return len;
  }

  answer(c: ProbeConn): void {
    const out = c.out;
    const line = c.line;
    if (c.overlong) {
      out.ascii("ERR too long\n");
      return;
    }
    if (startsWithAscii(line, 0, c.lineLen, "quit")) {
      out.ascii("OK bye\n");
      c.quit = true;
      return;
    }
    let i = 0;
    while (i < c.lineLen) {
      while (i < c.lineLen && line[i] === 32) i++;
      const start = i;
      while (i < c.lineLen && line[i] !== 32) i++;
      const n = i - start;
      if (n === 0) break;
      const v = parseUint(line, start, n);
      if (v >= 0) {
        out.ascii("n=");
        out.uint(v * 2 + 1);
      } else if (equalsAsciiFold(line, start, n, "hello")) out.ascii("kw");
      else {
        out.ascii("s=");
        out.utf8(decodeUtf8(line, start, n));
      }
      out.byte(32);
    }
    out.ascii("len=");
    out.uint(c.lineLen);
    out.byte(10);
  }

  output(id: number, dst: Uint8Array, dstOff: number, max: number): number {
    if (id < 0 || id >= MAX_CONNS) return 0;
    const c = this.conns[id];
    const out = c.out;
    const buf = out.buf;
    let n = out.len - c.readPos;
    if (n > max) n = max;
    for (let i = 0; i < n; i++) dst[dstOff + i] = buf[c.readPos + i];
    c.readPos = c.readPos + n;
    if (c.readPos === out.len) {
      out.reset();
      c.readPos = 0;
    }
    return n;
  }

  closed(id: number): boolean {
    if (id < 0 || id >= MAX_CONNS) return true;
    const c = this.conns[id];
    return !c.open || (c.quit && c.out.len === 0);
  }

  close(id: number): void {
    if (id >= 0 && id < MAX_CONNS) this.conns[id].open = false;
  }
}
