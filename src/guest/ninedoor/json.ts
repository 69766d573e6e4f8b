/**
 * `JsonTokens`: a strict, allocation-free JSON tokenizer for control files (one object per line).
 * It validates RFC 8259 syntax and records tokens in preorder into columns allocated at boot;
 * strings stay byte ranges of the caller's buffer (escapes are validated, not decoded).
 */
import { allocI32, allocU8 } from "./alloc.ts";
import { equalsAscii } from "../lib/bytes.ts";

export const JsonType = { Object: 1, Array: 2, String: 3, Number: 4, Literal: 5 } as const;

const MAX_DEPTH = 8;

export class JsonTokens {
  readonly cap: number;
  type: Int32Array;
  /** Byte range of the token: strings exclude their quotes. */
  start: Int32Array;
  end: Int32Array;
  /** Objects: number of key/value pairs; arrays: number of elements. */
  size: Int32Array;
  /** Index of the first token after this token's subtree. */
  next: Int32Array;
  count = 0;
  buf: Uint8Array = allocU8(0);
  private pos = 0;
  private limit = 0;

  constructor(cap: number) {
    this.cap = cap;
    this.type = allocI32(cap);
    this.start = allocI32(cap);
    this.end = allocI32(cap);
    this.size = allocI32(cap);
    this.next = allocI32(cap);
  }

  /** Tokenizes buf[off..off+len) as exactly one JSON value. Returns the token count or -1. */
  parse(buf: Uint8Array, off: number, len: number): number {
    this.buf = buf;
    this.pos = off;
    this.limit = off + len;
    this.count = 0;
    this.skipWs();
    if (!this.value(0)) return -1;
    this.skipWs();
    if (this.pos !== this.limit) return -1;
    return this.count;
  }

  /** True when string token `t` is exactly the ASCII text `s`. */
  is(t: number, s: string): boolean {
    return this.type[t] === JsonType.String &&
      equalsAscii(this.buf, this.start[t], this.end[t] - this.start[t], s);
  }

  /** The value of a non-negative integer token below 2^53, or -1 for anything else. */
  uint(t: number): number {
    if (this.type[t] !== JsonType.Number) return -1;
    const buf = this.buf;
    const s = this.start[t];
    const e = this.end[t];
    if (e - s > 15) return -1;
    let v = 0;
    for (let i = s; i < e; i++) {
      const b = buf[i];
      if (b < 48 || b > 57) return -1;
      v = v * 10 + (b - 48);
    }
    return v;
  }

  private skipWs(): void {
    const buf = this.buf;
    while (this.pos < this.limit) {
      const b = buf[this.pos];
      if (b !== 32 && b !== 9 && b !== 10 && b !== 13) return;
      this.pos++;
    }
  }

  private push(type: number, start: number): number {
    const t = this.count;
    if (t >= this.cap) return -1;
    const ty = this.type;
    const st = this.start;
    const sz = this.size;
    ty[t] = type;
    st[t] = start;
    sz[t] = 0;
    this.count = t + 1;
    return t;
  }

  private close(t: number, end: number): void {
    const en = this.end;
    const nx = this.next;
    en[t] = end;
    nx[t] = this.count;
  }

  private value(depth: number): boolean {
    if (this.pos >= this.limit || depth > MAX_DEPTH) return false;
    const b = this.buf[this.pos];
    if (b === 123) return this.container(depth, true);
    if (b === 91) return this.container(depth, false);
    if (b === 34) return this.string();
    if (b === 45 || (b >= 48 && b <= 57)) return this.number();
    return this.literal("true") || this.literal("false") || this.literal("null");
  }

  /** An object (`keyed`: "name": value members, closed by `}`) or an array (values, closed by `]`). */
  private container(depth: number, keyed: boolean): boolean {
    const t = this.push(keyed ? JsonType.Object : JsonType.Array, this.pos);
    if (t < 0) return false;
    const buf = this.buf;
    const sz = this.size;
    const closer = keyed ? 125 : 93;
    this.pos++;
    this.skipWs();
    if (this.pos < this.limit && buf[this.pos] === closer) {
      this.pos++;
      this.close(t, this.pos);
      return true;
    }
    for (;;) {
      this.skipWs();
      if (keyed) {
        if (this.pos >= this.limit || buf[this.pos] !== 34 || !this.string()) return false;
        this.skipWs();
        if (this.pos >= this.limit || buf[this.pos] !== 58) return false;
        this.pos++;
        this.skipWs();
      }
      if (!this.value(depth + 1)) return false;
      sz[t] = sz[t] + 1;
      this.skipWs();
      if (this.pos >= this.limit) return false;
      const c = buf[this.pos];
      this.pos++;
      if (c === closer) break;
      if (c !== 44) return false;
    }
    this.close(t, this.pos);
    return true;
  }

  private string(): boolean {
    const buf = this.buf;
    const t = this.push(JsonType.String, this.pos + 1);
    if (t < 0) return false;
    let p = this.pos + 1;
    while (p < this.limit) {
      const b = buf[p];
      if (b === 34) {
        this.close(t, p);
        this.pos = p + 1;
        return true;
      }
      if (b < 32) return false;
      if (b === 92) {
        if (p + 1 >= this.limit) return false;
        const e = buf[p + 1];
        if (e === 117) {
          if (p + 5 >= this.limit) return false;
          for (let k = p + 2; k < p + 6; k++) {
            const h = buf[k];
            const hex = (h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102);
            if (!hex) return false;
          }
          p += 6;
          continue;
        }
        if (
          e !== 34 && e !== 92 && e !== 47 && e !== 98 && e !== 102 && e !== 110 && e !== 114 && e !== 116
        ) {
          return false;
        }
        p += 2;
        continue;
      }
      p++;
    }
    return false;
  }

  private digits(): number {
    const buf = this.buf;
    let n = 0;
    while (this.pos < this.limit && buf[this.pos] >= 48 && buf[this.pos] <= 57) {
      this.pos++;
      n++;
    }
    return n;
  }

  private number(): boolean {
    const buf = this.buf;
    const t = this.push(JsonType.Number, this.pos);
    if (t < 0) return false;
    if (buf[this.pos] === 45) this.pos++;
    const first = this.pos;
    const n = this.digits();
    if (n === 0 || (n > 1 && buf[first] === 48)) return false;
    if (this.pos < this.limit && buf[this.pos] === 46) {
      this.pos++;
      if (this.digits() === 0) return false;
    }
    if (this.pos < this.limit && (buf[this.pos] === 101 || buf[this.pos] === 69)) {
      this.pos++;
      if (this.pos < this.limit && (buf[this.pos] === 43 || buf[this.pos] === 45)) this.pos++;
      if (this.digits() === 0) return false;
    }
    this.close(t, this.pos);
    return true;
  }

  private literal(word: string): boolean {
    const n = word.length;
    if (this.pos + n > this.limit || !equalsAscii(this.buf, this.pos, n, word)) return false;
    const t = this.push(JsonType.Literal, this.pos);
    if (t < 0) return false;
    this.pos += n;
    this.close(t, this.pos);
    return true;
  }
}
