/**
 * Allocation-free byte helpers for guest code (Porffor has no GC: every `new` is forever).
 * Buffers are allocated once and reused; text goes out through `ByteWriter.ascii` / `utf8`,
 * numbers through `ByteWriter.uint`, and tokens are compared in place with `equalsAscii`.
 *
 * Porffor rule seen here: never write `this.buf[i] = v` (it is silently dropped); copy the
 * typed array into a local first (`const buf = this.buf; buf[i] = v`).
 */
import { utf8Length, writeUtf8 } from "../../secure9p/text.ts";

// One implementation of the wire text helpers, shared with Secure9P: `equalsAscii` compares in
// place; `decodeUtf8` allocates a string (attach/spawn time only, not per byte).
export { bytesEqualAscii as equalsAscii, utf8ToString as decodeUtf8 } from "../../secure9p/text.ts";

/** A fixed-capacity output buffer. Writes past the end set `overflow` instead of throwing. */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;
  overflow = false;

  constructor(capacity: number) {
    // An explicit ArrayBuffer: Porffor sizes `new Uint8Array(n)` as one 16 KiB page whatever n is.
    this.buf = new Uint8Array(new ArrayBuffer(capacity));
  }

  reset(): void {
    this.len = 0;
    this.overflow = false;
  }

  byte(b: number): void {
    const buf = this.buf;
    const n = this.len;
    if (n >= buf.length) {
      this.overflow = true;
      return;
    }
    buf[n] = b;
    this.len = n + 1;
  }

  /** Appends a string's UTF-16 code units as bytes; callers pass ASCII (protocol text). */
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
  }

  /** Appends a string encoded as UTF-8; when it does not fit, nothing is written and `overflow` is set. */
  utf8(s: string): void {
    const n = utf8Length(s);
    if (this.len + n > this.buf.length) {
      this.overflow = true;
      return;
    }
    this.len = this.len + writeUtf8(this.buf, this.len, s);
  }

  /** Appends a non-negative integer (< 2^53) in decimal without building a string. */
  uint(v: number): void {
    if (v < 10) {
      this.byte(48 + v);
      return;
    }
    let div = 1;
    while (div * 10 <= v) div = div * 10;
    while (div >= 1) {
      const digit = Math.floor(v / div) % 10;
      this.byte(48 + digit);
      div = div / 10;
      if (div < 1) break;
    }
  }

  /** Appends an ASCII label and a decimal number, the `key=value` shape of /proc files and logs. */
  labelUint(label: string, v: number): void {
    this.ascii(label);
    this.uint(v);
  }

  bytes(src: Uint8Array, off: number, len: number): void {
    for (let i = 0; i < len; i++) this.byte(src[off + i]);
  }
}

/** Like `equalsAscii` but ignores ASCII case of the buffer's letters (`s` must be lower case). */
export function equalsAsciiFold(buf: Uint8Array, off: number, len: number, s: string): boolean {
  if (len !== s.length) return false;
  for (let i = 0; i < len; i++) {
    let b = buf[off + i];
    if (b >= 65 && b <= 90) b = b + 32;
    if (b !== s.charCodeAt(i)) return false;
  }
  return true;
}

/** True when buf[off..off+len) starts with the ASCII string `s`. */
export function startsWithAscii(buf: Uint8Array, off: number, len: number, s: string): boolean {
  if (len < s.length) return false;
  for (let i = 0; i < s.length; i++) if (buf[off + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Parses an unsigned decimal in buf[off..off+len); returns -1 when it is empty, not digits or > 2^53. */
export function parseUint(buf: Uint8Array, off: number, len: number): number {
  if (len <= 0 || len > 15) return -1;
  let v = 0;
  for (let i = 0; i < len; i++) {
    const b = buf[off + i];
    if (b < 48 || b > 57) return -1;
    v = v * 10 + (b - 48);
  }
  return v;
}
