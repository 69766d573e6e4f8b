/**
 * UTF-8 helpers for names on the wire (guest code: no TextEncoder under Porffor, no allocation
 * except `utf8ToString`, which is meant for attach time).
 */

/** Bytes `s` takes as UTF-8 (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function isLow(d: number): boolean {
  return d >= 0xdc00 && d <= 0xdfff;
}

/** Writes `s` as UTF-8 at dst[off..]; the caller checked room with `utf8Length`. Returns bytes written. */
export function writeUtf8(dst: Uint8Array, off: number, s: string): number {
  let p = off;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      c = 0x10000 + (c - 0xd800) * 1024 + (s.charCodeAt(i + 1) - 0xdc00);
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) dst[p++] = c;
    else if (c < 0x800) {
      dst[p++] = 0xc0 + Math.floor(c / 64);
      dst[p++] = 0x80 + (c % 64);
    } else if (c < 0x10000) {
      dst[p++] = 0xe0 + Math.floor(c / 4096);
      dst[p++] = 0x80 + (Math.floor(c / 64) % 64);
      dst[p++] = 0x80 + (c % 64);
    } else {
      dst[p++] = 0xf0 + Math.floor(c / 262144);
      dst[p++] = 0x80 + (Math.floor(c / 4096) % 64);
      dst[p++] = 0x80 + (Math.floor(c / 64) % 64);
      dst[p++] = 0x80 + (c % 64);
    }
  }
  return p - off;
}

/** Decodes buf[off..off+len) (allocates a string: attach time only). Bad sequences become U+FFFD. */
export function utf8ToString(buf: Uint8Array, off: number, len: number): string {
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

/** True when buf[off..off+len) equals the ASCII string `s`. */
export function bytesEqualAscii(buf: Uint8Array, off: number, len: number, s: string): boolean {
  if (len !== s.length) return false;
  for (let i = 0; i < len; i++) if (buf[off + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** True when buf[off..off+len) holds the UTF-8 encoding of `s` (no allocation). */
export function bytesEqualUtf8(buf: Uint8Array, off: number, len: number, s: string): boolean {
  let p = off;
  const end = off + len;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      c = 0x10000 + (c - 0xd800) * 1024 + (s.charCodeAt(i + 1) - 0xdc00);
      i++;
    }
    if (c < 0x80) {
      if (p >= end || buf[p] !== c) return false;
      p++;
    } else if (c < 0x800) {
      if (p + 2 > end || buf[p] !== 0xc0 + Math.floor(c / 64) || buf[p + 1] !== 0x80 + (c % 64)) return false;
      p += 2;
    } else if (c < 0x10000) {
      if (p + 3 > end || buf[p] !== 0xe0 + Math.floor(c / 4096)) return false;
      if (buf[p + 1] !== 0x80 + (Math.floor(c / 64) % 64) || buf[p + 2] !== 0x80 + (c % 64)) return false;
      p += 3;
    } else {
      if (p + 4 > end || buf[p] !== 0xf0 + Math.floor(c / 262144)) return false;
      if (buf[p + 1] !== 0x80 + (Math.floor(c / 4096) % 64)) return false;
      if (buf[p + 2] !== 0x80 + (Math.floor(c / 64) % 64) || buf[p + 3] !== 0x80 + (c % 64)) return false;
      p += 4;
    }
  }
  return p === end;
}
