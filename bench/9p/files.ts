/** Deterministic benchmark file contents, shared by the diod export and our namespace. */
export function benchFile(size: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    b[i] = x % 256;
  }
  return b;
}
