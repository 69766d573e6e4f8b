/**
 * Decodes the hex-embedded op stream once at boot into one byte array, then reads fields in place.
 * Byte-string fields are returned as (offset, length) into `bytes`, so feeding input never copies.
 */

/** Value of one ASCII hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export class OpReader {
  bytes: Uint8Array;
  pos = 0;
  /** Set when a field ran past the end or the hex was malformed; reads then return 0. */
  bad = false;
  /** Offset and length of the last byte-string field read by `blob()`. */
  blobOff = 0;
  blobLen = 0;

  constructor(hex: string) {
    const n = Math.floor(hex.length / 2);
    // Sized through an ArrayBuffer: Porffor gives `new Uint8Array(n)` one 16 KiB page whatever n is.
    const bytes = new Uint8Array(new ArrayBuffer(n));
    if (hex.length % 2 !== 0) this.bad = true;
    for (let i = 0; i < n; i++) {
      const hi = hexValue(hex.charCodeAt(2 * i));
      const lo = hexValue(hex.charCodeAt(2 * i + 1));
      if (hi < 0 || lo < 0) {
        this.bad = true;
        break;
      }
      bytes[i] = hi * 16 + lo;
    }
    this.bytes = bytes;
  }

  atEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  u8(): number {
    const bytes = this.bytes;
    const p = this.pos;
    if (p >= bytes.length) {
      this.bad = true;
      return 0;
    }
    this.pos = p + 1;
    return bytes[p];
  }

  u32(): number {
    const b0 = this.u8();
    const b1 = this.u8();
    const b2 = this.u8();
    const b3 = this.u8();
    return b0 + b1 * 256 + b2 * 65536 + b3 * 16777216;
  }

  /** Reads a length-prefixed byte string into `blobOff` / `blobLen`. */
  blob(): void {
    const len = this.u32();
    const off = this.pos;
    if (off + len > this.bytes.length) {
      this.bad = true;
      this.blobOff = off;
      this.blobLen = 0;
      this.pos = this.bytes.length;
      return;
    }
    this.blobOff = off;
    this.blobLen = len;
    this.pos = off + len;
  }
}
