/**
 * Allocation-free byte helpers for guest code (Porffor has no GC: every `new` is forever).
 * Buffers are allocated once and reused; text goes out through `ByteWriter.ascii` / `utf8`,
 * numbers through `ByteWriter.uint`, and tokens are compared in place with `equalsAscii`.
 *
 * Porffor rule seen here: never write `this.buf[i] = v` (it is silently dropped); copy the
 * typed array into a local first (`const buf = this.buf; buf[i] = v`).
 */

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

  /** Appends a string encoded as UTF-8 (for names and payloads that may hold non-ASCII text). */
  utf8(s: string): void {
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + (c - 0xd800) * 1024 + (d - 0xdc00);
          i++;
        }
      }
      if (c < 0x80) this.byte(c);
      else if (c < 0x800) {
        this.byte(0xc0 + Math.floor(c / 64));
        this.byte(0x80 + (c % 64));
      } else if (c < 0x10000) {
        this.byte(0xe0 + Math.floor(c / 4096));
        this.byte(0x80 + (Math.floor(c / 64) % 64));
        this.byte(0x80 + (c % 64));
      } else {
        this.byte(0xf0 + Math.floor(c / 262144));
        this.byte(0x80 + (Math.floor(c / 4096) % 64));
        this.byte(0x80 + (Math.floor(c / 64) % 64));
        this.byte(0x80 + (c % 64));
      }
    }
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

  bytes(src: Uint8Array, off: number, len: number): void {
    for (let i = 0; i < len; i++) this.byte(src[off + i]);
  }
}

/** True when buf[off..off+len) holds exactly the ASCII string `s`, compared case-sensitively. */
export function equalsAscii(buf: Uint8Array, off: number, len: number, s: string): boolean {
  if (len !== s.length) return false;
  for (let i = 0; i < len; i++) if (buf[off + i] !== s.charCodeAt(i)) return false;
  return true;
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

/** Decodes buf[off..off+len) as UTF-8 into a string (allocates: use at attach/spawn time, not per byte). */
export function decodeUtf8(buf: Uint8Array, off: number, len: number): string {
  let s = "";
  let i = off;
  const end = off + len;
  while (i < end) {
    const b = buf[i];
    let c = 0xfffd;
    let n = 1;
    if (b < 0x80) c = b;
    else if (b >= 0xc2 && b < 0xe0 && i + 1 < end) {
      c = (b - 0xc0) * 64 + (buf[i + 1] - 0x80);
      n = 2;
    } else if (b >= 0xe0 && b < 0xf0 && i + 2 < end) {
      c = (b - 0xe0) * 4096 + (buf[i + 1] - 0x80) * 64 + (buf[i + 2] - 0x80);
      n = 3;
    } else if (b >= 0xf0 && b < 0xf5 && i + 3 < end) {
      c = (b - 0xf0) * 262144 + (buf[i + 1] - 0x80) * 4096 + (buf[i + 2] - 0x80) * 64 + (buf[i + 3] - 0x80);
      n = 4;
    }
    if (c >= 0x10000) {
      const v = c - 0x10000;
      s += String.fromCharCode(0xd800 + Math.floor(v / 1024), 0xdc00 + (v % 1024));
    } else s += String.fromCharCode(c);
    i += n;
  }
  return s;
}
