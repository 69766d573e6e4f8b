/**
 * The replay hash's reference in BigInt, independent of the guest's 16-bit-limb FNV-1a 64:
 * per action (target, LF, payload, LF, payload length as 8 little-endian bytes).
 */
const enc = new TextEncoder();

/** `pairs` alternates target and payload; returns 16 lowercase hex digits. */
export function fnvRef(pairs: string[]): string {
  let h = 0xcbf29ce484222325n;
  const feed = (b: number) => {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  };
  for (let i = 0; i < pairs.length; i += 2) {
    for (const b of enc.encode(pairs[i])) feed(b);
    feed(10);
    const p = enc.encode(pairs[i + 1]);
    for (const b of p) feed(b);
    feed(10);
    let n = p.length;
    for (let k = 0; k < 8; k++) {
      feed(n % 256);
      n = Math.floor(n / 256);
    }
  }
  return h.toString(16).padStart(16, "0");
}
