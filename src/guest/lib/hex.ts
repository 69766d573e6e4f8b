/**
 * Hex text into bytes, for the trusted-key tables the platform verifiers build at boot (tickets,
 * update manifests). One copy: Porffor emits every typed-array access site as its own code.
 */

/** Value of one hex digit (either case), or -1. */
export function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Hex text into dst[off..]; false when it is not exactly 2 * n hex digits. */
export function hexInto(text: string, dst: Uint8Array, off: number, n: number): boolean {
  if (text.length !== n * 2) return false;
  for (let i = 0; i < n; i++) {
    const hi = hexNibble(text.charCodeAt(i * 2));
    const lo = hexNibble(text.charCodeAt(i * 2 + 1));
    if (hi < 0 || lo < 0) return false;
    dst[off + i] = hi * 16 + lo;
  }
  return true;
}
