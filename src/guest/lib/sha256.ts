/**
 * SHA-256 (FIPS 180-4) for guest code, written for Porffor: every 32-bit word is kept as two 16-bit
 * halves, so the bit operators (which break on values reaching 2^31 under Porffor) only ever see
 * values below 2^16 and shifts stay below 2^31; additions carry from the low half by hand. No
 * allocation per call: the schedule and state live in the `Sha256` object, the digest goes into the
 * caller's buffer. The guest needs it for shard labels (`sha256(worker_id)[0]`); tests check it
 * against WebCrypto on many inputs, hosted and under `porf`.
 *
 * porf-check: this file waives `bitops` line by line; every operand is a 16-bit half (< 2^16).
 */

const M = 65535;

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

/** K split into halves once: KS[2t] high, KS[2t + 1] low. */
const KS = new Int32Array(new ArrayBuffer(128 * 4));
for (let i = 0; i < 64; i++) {
  KS[2 * i] = Math.floor(K[i] / 65536);
  KS[2 * i + 1] = K[i] % 65536;
}

export class Sha256 {
  /** The message schedule, two halves per word. */
  private w: Int32Array = new Int32Array(new ArrayBuffer(128 * 4));
  /** The chaining state, two halves per word. */
  private h: Int32Array = new Int32Array(new ArrayBuffer(16 * 4));
  /** One 64-byte block being filled. */
  private block: Uint8Array = new Uint8Array(new ArrayBuffer(64));

  /** Writes sha256(src[off..off+len)) into dst[dstOff..dstOff+32). */
  digest(src: Uint8Array, off: number, len: number, dst: Uint8Array, dstOff: number): void {
    const h = this.h;
    for (let i = 0; i < 8; i++) {
      h[2 * i] = Math.floor(H0[i] / 65536);
      h[2 * i + 1] = H0[i] % 65536;
    }
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
    for (let i = 0; i < 16; i++) {
      dst[dstOff + 2 * i] = Math.floor(h[i] / 256);
      dst[dstOff + 2 * i + 1] = h[i] % 256;
    }
  }

  private compress(): void {
    const w = this.w;
    const h = this.h;
    const block = this.block;
    for (let t = 0; t < 32; t++) w[t] = block[2 * t] * 256 + block[2 * t + 1];
    for (let t = 16; t < 64; t++) {
      const xh = w[2 * t - 30];
      const xl = w[2 * t - 29];
      const yh = w[2 * t - 4];
      const yl = w[2 * t - 3];
      // porf-check-ignore bitops: 16-bit halves; left shifts stay below 2^31
      const s0h = (((xh >>> 7) | (xl << 9)) ^ ((xl >>> 2) | (xh << 14)) ^ (xh >>> 3)) & M;
      // porf-check-ignore bitops: 16-bit halves; left shifts stay below 2^31
      const s0l = (((xl >>> 7) | (xh << 9)) ^ ((xh >>> 2) | (xl << 14)) ^ ((xl >>> 3) | (xh << 13))) & M;
      // porf-check-ignore bitops: 16-bit halves; left shifts stay below 2^31
      const s1h = (((yl >>> 1) | (yh << 15)) ^ ((yl >>> 3) | (yh << 13)) ^ (yh >>> 10)) & M;
      // porf-check-ignore bitops: 16-bit halves; left shifts stay below 2^31
      const s1l = (((yh >>> 1) | (yl << 15)) ^ ((yh >>> 3) | (yl << 13)) ^ ((yl >>> 10) | (yh << 6))) & M;
      const lo = w[2 * t - 31] + s0l + w[2 * t - 13] + s1l;
      const hi = w[2 * t - 32] + s0h + w[2 * t - 14] + s1h + Math.floor(lo / 65536);
      w[2 * t] = hi % 65536;
      w[2 * t + 1] = lo % 65536;
    }
    let ah = h[0], al = h[1], bh = h[2], bl = h[3], ch = h[4], cl = h[5], dh = h[6], dl = h[7];
    let eh = h[8], el = h[9], fh = h[10], fl = h[11], gh = h[12], gl = h[13], hh = h[14], hl = h[15];
    for (let t = 0; t < 64; t++) {
      // porf-check-ignore bitops: 16-bit halves; left shifts stay below 2^31
      const S1h = (((eh >>> 6) | (el << 10)) ^ ((eh >>> 11) | (el << 5)) ^ ((el >>> 9) | (eh << 7))) & M;
      // porf-check-ignore bitops: 16-bit halves; left shifts stay below 2^31
      const S1l = (((el >>> 6) | (eh << 10)) ^ ((el >>> 11) | (eh << 5)) ^ ((eh >>> 9) | (el << 7))) & M;
      // ch(e, f, g) = (e & f) ^ (~e & g), with ~e = e ^ 0xffff per half.
      // porf-check-ignore bitops: 16-bit halves
      const chh = (eh & fh) ^ ((eh ^ M) & gh);
      // porf-check-ignore bitops: 16-bit halves
      const chl = (el & fl) ^ ((el ^ M) & gl);
      const t1l = hl + S1l + chl + KS[2 * t + 1] + w[2 * t + 1];
      const t1h = hh + S1h + chh + KS[2 * t] + w[2 * t] + Math.floor(t1l / 65536);
      // porf-check-ignore bitops: 16-bit halves; left shifts stay below 2^31
      const S0h = (((ah >>> 2) | (al << 14)) ^ ((ah >>> 13) | (al << 3)) ^ ((al >>> 6) | (ah << 10))) & M;
      // porf-check-ignore bitops: 16-bit halves; left shifts stay below 2^31
      const S0l = (((al >>> 2) | (ah << 14)) ^ ((al >>> 13) | (ah << 3)) ^ ((ah >>> 6) | (al << 10))) & M;
      // porf-check-ignore bitops: 16-bit halves
      const mjh = (ah & bh) ^ (ah & ch) ^ (bh & ch);
      // porf-check-ignore bitops: 16-bit halves
      const mjl = (al & bl) ^ (al & cl) ^ (bl & cl);
      const t2l = S0l + mjl;
      const t2h = S0h + mjh;
      hh = gh;
      hl = gl;
      gh = fh;
      gl = fl;
      fh = eh;
      fl = el;
      const el2 = dl + (t1l % 65536);
      eh = (dh + t1h + Math.floor(el2 / 65536)) % 65536;
      el = el2 % 65536;
      dh = ch;
      dl = cl;
      ch = bh;
      cl = bl;
      bh = ah;
      bl = al;
      const al2 = (t1l % 65536) + t2l;
      ah = (t1h + t2h + Math.floor(al2 / 65536)) % 65536;
      al = al2 % 65536;
    }
    addWord(h, 0, ah, al);
    addWord(h, 2, bh, bl);
    addWord(h, 4, ch, cl);
    addWord(h, 6, dh, dl);
    addWord(h, 8, eh, el);
    addWord(h, 10, fh, fl);
    addWord(h, 12, gh, gl);
    addWord(h, 14, hh, hl);
  }
}

/** h[i]:h[i + 1] += hi:lo (mod 2^32). */
function addWord(h: Int32Array, i: number, hi: number, lo: number): void {
  const l = h[i + 1] + lo;
  h[i] = (h[i] + hi + Math.floor(l / 65536)) % 65536;
  h[i + 1] = l % 65536;
}
