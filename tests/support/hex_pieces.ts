/**
 * Hex data the guest-side test drivers receive as string literals, cut in pieces of at most 8,000
 * digits (Porffor lays a literal over 16 KiB across the next one): decoded into dst, never past its end.
 * Porffor rules: a module-level function, no closures.
 */
import { hexNibble } from "../../src/guest/lib/hex.ts";

/** Decodes the lowercase hex `parts` into dst[0..]; returns the byte count. */
export function hexPiecesInto(parts: string[], dst: Uint8Array): number {
  let n = 0;
  for (let p = 0; p < parts.length; p++) {
    const hex = parts[p];
    const m = Math.floor(hex.length / 2);
    for (let i = 0; i < m && n + i < dst.length; i++) {
      dst[n + i] = hexNibble(hex.charCodeAt(2 * i)) * 16 + hexNibble(hex.charCodeAt(2 * i + 1));
    }
    n = n + m;
  }
  return n;
}

/** The host side: `b` as lowercase hex in pieces of at most 8,000 digits, for a driver's literals. */
export function hexParts(b: Uint8Array): string[] {
  let hex = "";
  for (let i = 0; i < b.length; i++) hex += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  const parts: string[] = [];
  for (let i = 0; i < hex.length; i += 8000) parts.push(hex.slice(i, i + 8000));
  return parts;
}
