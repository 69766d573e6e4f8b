/**
 * Typed-array allocation that is safe under Porffor 0.61.13: `new Uint8Array(n)` there always gets
 * one 16 KiB page whatever `n` is, so a larger array silently overwrites the next allocation
 * (measured: a Float64Array(2100) corrupts its neighbour). An array built on an ArrayBuffer is
 * sized exactly, which also makes small tables cost their size instead of a whole page.
 * Plain arrays have the same one-page limit (about 1,800 elements), hence `StringTable`, and one
 * allocation must stay below Porffor's 1 MiB allocator chunk, hence chunked rings (ring.ts).
 */
import { ByteWriter } from "../lib/bytes.ts";

export function allocU8(n: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(n));
}

export function allocI32(n: number): Int32Array {
  return new Int32Array(new ArrayBuffer(n * 4));
}

export function allocF64(n: number): Float64Array {
  return new Float64Array(new ArrayBuffer(n * 8));
}

/** A ByteWriter of any capacity (its own constructor uses `new Uint8Array(n)`, limited to one page). */
export function sizedWriter(n: number): ByteWriter {
  const w = new ByteWriter(0);
  w.buf = allocU8(n);
  return w;
}

const STRING_CHUNK = 1024;

/** A fixed-size table of strings, stored in chunks of 1,024 (a Porffor array holds ~1,800). */
export class StringTable {
  readonly size: number;
  chunks: string[][] = [];

  constructor(size: number) {
    this.size = size;
    for (let base = 0; base < size; base += STRING_CHUNK) {
      const chunk: string[] = [];
      for (let i = 0; i < STRING_CHUNK; i++) chunk.push("");
      this.chunks.push(chunk);
    }
  }

  get(i: number): string {
    return this.chunks[Math.floor(i / STRING_CHUNK)][i % STRING_CHUNK];
  }

  set(i: number, s: string): void {
    const chunk = this.chunks[Math.floor(i / STRING_CHUNK)];
    chunk[i % STRING_CHUNK] = s;
  }
}
