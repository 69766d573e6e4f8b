/**
 * FNV-1a 64 without BigInt and without bit operations near 2^31 (Porffor rules): the hash is kept as
 * four 16-bit limbs; the multiply by the FNV prime 2^40 + 0x1b3 is limb products (< 2^25) plus the
 * hash shifted left by 40 bits, with carries by hand. The result is reported as two u32 halves.
 */
import type { ByteWriter } from "./bytes.ts";

const PRIME_LOW = 0x1b3;
const HEX = "0123456789abcdef";

export class Fnv64 {
  /** Limbs, least significant first. */
  fnvL0 = 0x2325;
  fnvL1 = 0x8422;
  fnvL2 = 0x9ce4;
  fnvL3 = 0xcbf2;

  /** Back to the offset basis 0xcbf29ce484222325. */
  fnvReset(): void {
    this.fnvL0 = 0x2325;
    this.fnvL1 = 0x8422;
    this.fnvL2 = 0x9ce4;
    this.fnvL3 = 0xcbf2;
  }

  /** hash = (hash xor b) * prime, mod 2^64. */
  fnvByte(b: number): void {
    const low = this.fnvL0 % 256;
    // porf-check-ignore bitops: both operands are bytes (< 256)
    const l0 = this.fnvL0 - low + (low ^ (b % 256));
    const l1 = this.fnvL1;
    const r0 = l0 * PRIME_LOW;
    const r1 = l1 * PRIME_LOW + Math.floor(r0 / 65536);
    const r2 = this.fnvL2 * PRIME_LOW + (l0 % 256) * 256 + Math.floor(r1 / 65536);
    const r3 = this.fnvL3 * PRIME_LOW + Math.floor(l0 / 256) + (l1 % 256) * 256 + Math.floor(r2 / 65536);
    this.fnvL0 = r0 % 65536;
    this.fnvL1 = r1 % 65536;
    this.fnvL2 = r2 % 65536;
    this.fnvL3 = r3 % 65536;
  }

  fnvBytes(src: Uint8Array, off: number, len: number): void {
    for (let i = 0; i < len; i++) this.fnvByte(src[off + i]);
  }

  /** Feeds a non-negative integer as 8 little-endian bytes (lengths, counts). */
  fnvUint(v: number): void {
    let x = v;
    for (let i = 0; i < 8; i++) {
      this.fnvByte(x % 256);
      x = Math.floor(x / 256);
    }
  }

  /** The high u32 half. */
  fnvHi(): number {
    return this.fnvL3 * 65536 + this.fnvL2;
  }

  /** The low u32 half. */
  fnvLo(): number {
    return this.fnvL1 * 65536 + this.fnvL0;
  }

  /** Writes the hash as 16 lowercase hex digits. */
  fnvHex(w: ByteWriter): void {
    fnvLimbHex(w, this.fnvL3);
    fnvLimbHex(w, this.fnvL2);
    fnvLimbHex(w, this.fnvL1);
    fnvLimbHex(w, this.fnvL0);
  }
}

function fnvLimbHex(w: ByteWriter, limb: number): void {
  w.byte(HEX.charCodeAt(Math.floor(limb / 4096) % 16));
  w.byte(HEX.charCodeAt(Math.floor(limb / 256) % 16));
  w.byte(HEX.charCodeAt(Math.floor(limb / 16) % 16));
  w.byte(HEX.charCodeAt(limb % 16));
}
