/**
 * Typed-array constructors for guest tables. Porffor 0.61.13 gives `new Uint8Array(n)` one
 * 16 KiB page whatever n is (a larger array overwrites the next allocation); an array over an
 * explicit ArrayBuffer gets its real size.
 */

export function newU8(n: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(n));
}

export function newI32(n: number): Int32Array {
  return new Int32Array(new ArrayBuffer(n * 4));
}

export function newF64(n: number): Float64Array {
  return new Float64Array(new ArrayBuffer(n * 8));
}
