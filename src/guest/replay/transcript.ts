/**
 * Prints the replay transcript without building strings at run time: every line is a literal or
 * an entry of a literal table. Bytes are printed one per line as two lowercase hex digits; every
 * other line starts with a non-hex character (`=`, `@`, `<`), so the stream is unambiguous.
 * `src/host/guest_build/transcript.ts` renders it back to readable text.
 */
import { ByteWriter } from "../lib/bytes.ts";
import { HEX_TOKENS } from "./hex_table.ts";

/** "<N": output of slot N follows. */
export const OUT_TAGS: string[] = ["<0", "<1", "<2", "<3", "<4", "<5", "<6", "<7", "<8", "<9", "<10", "<11", "<12", "<13", "<14", "<15"];
/** "@open N" / "@in N" / "@close N" / "@closed N": op markers per slot. */
export const OPEN_TAGS: string[] = ["@open 0", "@open 1", "@open 2", "@open 3", "@open 4", "@open 5", "@open 6", "@open 7", "@open 8", "@open 9", "@open 10", "@open 11", "@open 12", "@open 13", "@open 14", "@open 15"];
export const IN_TAGS: string[] = ["@in 0", "@in 1", "@in 2", "@in 3", "@in 4", "@in 5", "@in 6", "@in 7", "@in 8", "@in 9", "@in 10", "@in 11", "@in 12", "@in 13", "@in 14", "@in 15"];
export const CLOSE_TAGS: string[] = ["@close 0", "@close 1", "@close 2", "@close 3", "@close 4", "@close 5", "@close 6", "@close 7", "@close 8", "@close 9", "@close 10", "@close 11", "@close 12", "@close 13", "@close 14", "@close 15"];
export const CLOSED_TAGS: string[] = ["@closed 0", "@closed 1", "@closed 2", "@closed 3", "@closed 4", "@closed 5", "@closed 6", "@closed 7", "@closed 8", "@closed 9", "@closed 10", "@closed 11", "@closed 12", "@closed 13", "@closed 14", "@closed 15"];

export class Transcript {
  /** Scratch for decimal numbers. */
  num: ByteWriter;

  constructor() {
    this.num = new ByteWriter(24);
  }

  /** Prints a literal (or table) line. */
  line(s: string): void {
    console.log(s);
  }

  /** Prints buf[off..off+len) one hex byte per line. */
  bytes(buf: Uint8Array, off: number, len: number): void {
    for (let i = 0; i < len; i++) console.log(HEX_TOKENS[buf[off + i]]);
  }

  /** Prints a non-negative integer as the hex of its decimal ASCII digits. */
  uint(v: number): void {
    const num = this.num;
    num.reset();
    num.uint(v);
    this.bytes(num.buf, 0, num.len);
  }
}
