/**
 * SHA-256 (FIPS 180-4) for guest code, written for Porffor: 32-bit words are plain numbers in
 * [0, 2^32) and every bitwise operator only ever sees 16-bit halves (Porffor's bit operations break
 * on values that reach 2^31); rotations, shifts and additions are arithmetic. No allocation per
 * call: the message schedule and state live in the `Sha256` object, the digest goes into the
 * caller's buffer. The guest needs it for shard labels (`sha256(worker_id)[0]`); tests check it
 * against WebCrypto on many inputs, hosted and under `porf`.
 */

const TWO16 = 65536;
const TWO32 = 4294967296;

const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

function xor32(a: number, b: number): number {
  // Split into 16-bit halves; the bit operators then only see values below 2^16.
  // porf-check-ignore bitops: operands are 16-bit halves (< 2^16), far below Porffor's 2^31 limit
  const hi = Math.floor(a / TWO16) ^ Math.floor(b / TWO16);
  // porf-check-ignore bitops: 16-bit halves, as above (checked against WebCrypto under porf)
  const lo = (a % TWO16) ^ (b % TWO16);
  return hi * TWO16 + lo;
}

function and32(a: number, b: number): number {
  // porf-check-ignore bitops: operands are 16-bit halves (< 2^16), far below Porffor's 2^31 limit
  const hi = Math.floor(a / TWO16) & Math.floor(b / TWO16);
  // porf-check-ignore bitops: 16-bit halves, as above (checked against WebCrypto under porf)
  const lo = (a % TWO16) & (b % TWO16);
  return hi * TWO16 + lo;
}

/** POW2[n] = 2^n for n in 0..32 (no Math.pow per rotation). */
const POW2 = new Float64Array(new ArrayBuffer(33 * 8));
for (let i = 0, v = 1; i <= 32; i++, v = v * 2) POW2[i] = v;

/** Rotates a 32-bit word right by n (1..31). */
function rotr32(x: number, n: number): number {
  const p = POW2[n];
  const lo = x % p;
  return (x - lo) / p + lo * POW2[32 - n];
}

function shr32(x: number, n: number): number {
  const p = POW2[n];
  return (x - (x % p)) / p;
}

export class Sha256 {
  private w: Float64Array = new Float64Array(new ArrayBuffer(64 * 8));
  private h: Float64Array = new Float64Array(new ArrayBuffer(8 * 8));
  /** One 64-byte block being filled. */
  private block: Uint8Array = new Uint8Array(new ArrayBuffer(64));

  /** Writes sha256(src[off..off+len)) into dst[dstOff..dstOff+32). */
  digest(src: Uint8Array, off: number, len: number, dst: Uint8Array, dstOff: number): void {
    const h = this.h;
    for (let i = 0; i < 8; i++) h[i] = H0[i];
    const block = this.block;
    let pos = 0;
    while (len - pos >= 64) {
      for (let i = 0; i < 64; i++) block[i] = src[off + pos + i];
      this.compress();
      pos += 64;
    }
    // The tail, the 0x80 marker, zero padding and the bit length (big-endian, 64 bits).
    const rest = len - pos;
    for (let i = 0; i < 64; i++) block[i] = i < rest ? src[off + pos + i] : 0;
    block[rest] = 0x80;
    if (rest >= 56) {
      this.compress();
      for (let i = 0; i < 64; i++) block[i] = 0;
    }
    let bits = len * 8;
    for (let i = 63; i >= 56; i--) {
      block[i] = bits % 256;
      bits = Math.floor(bits / 256);
    }
    this.compress();
    for (let i = 0; i < 8; i++) {
      let v = h[i];
      for (let k = 3; k >= 0; k--) {
        dst[dstOff + i * 4 + k] = v % 256;
        v = Math.floor(v / 256);
      }
    }
  }

  private compress(): void {
    const w = this.w;
    const h = this.h;
    const block = this.block;
    for (let t = 0; t < 16; t++) {
      w[t] = block[t * 4] * 16777216 + block[t * 4 + 1] * 65536 + block[t * 4 + 2] * 256 + block[t * 4 + 3];
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15];
      const y = w[t - 2];
      const s0 = xor32(xor32(rotr32(x, 7), rotr32(x, 18)), shr32(x, 3));
      const s1 = xor32(xor32(rotr32(y, 17), rotr32(y, 19)), shr32(y, 10));
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) % TWO32;
    }
    let a = h[0];
    let b = h[1];
    let c = h[2];
    let d = h[3];
    let e = h[4];
    let f = h[5];
    let g = h[6];
    let hh = h[7];
    for (let t = 0; t < 64; t++) {
      const S1 = xor32(xor32(rotr32(e, 6), rotr32(e, 11)), rotr32(e, 25));
      // ch(e, f, g) = (e & f) ^ (~e & g); ~e is TWO32 - 1 - e.
      const ch = xor32(and32(e, f), and32(TWO32 - 1 - e, g));
      const t1 = (hh + S1 + ch + K[t] + w[t]) % TWO32;
      const S0 = xor32(xor32(rotr32(a, 2), rotr32(a, 13)), rotr32(a, 22));
      const maj = xor32(xor32(and32(a, b), and32(a, c)), and32(b, c));
      const t2 = (S0 + maj) % TWO32;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) % TWO32;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) % TWO32;
    }
    h[0] = (h[0] + a) % TWO32;
    h[1] = (h[1] + b) % TWO32;
    h[2] = (h[2] + c) % TWO32;
    h[3] = (h[3] + d) % TWO32;
    h[4] = (h[4] + e) % TWO32;
    h[5] = (h[5] + f) % TWO32;
    h[6] = (h[6] + g) % TWO32;
    h[7] = (h[7] + hh) % TWO32;
  }
}
