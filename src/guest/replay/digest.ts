/**
 * A running digest of output bytes for the bulk part of a replay (REPEAT), so 10,000 commands do
 * not print 10,000 responses. Plain arithmetic modulo primes below 2^31: no bit operations.
 */
const P1 = 2147483629;
const P2 = 2147483587;

export class Digest {
  count = 0;
  h1 = 17;
  h2 = 29;

  reset(): void {
    this.count = 0;
    this.h1 = 17;
    this.h2 = 29;
  }

  add(buf: Uint8Array, off: number, len: number): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < len; i++) {
      const b = buf[off + i];
      h1 = (h1 * 31 + b + 1) % P1;
      h2 = (h2 * 257 + b + 7) % P2;
    }
    this.h1 = h1;
    this.h2 = h2;
    this.count = this.count + len;
  }
}
