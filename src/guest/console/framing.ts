/**
 * Console byte streams → lines, without allocation after construction.
 *
 * - `FrameDecoder`: the TCP console framing, `u32 LE total length` (header included) + UTF-8 line,
 *   no trailing newline. Totals below 4 or above MAX_FRAME, and payloads above MAX_LINE, are
 *   reported as `Frame.Invalid` once the declared bytes have been skipped.
 * - `LineEditor`: the serial console line editor. `\n` ends a line, `\r` is ignored, BS/DEL
 *   delete one character, a line over MAX_LINE is reported at its newline, control characters
 *   mark the line as refused. Invalid UTF-8 is replaced by `?` (sanitised), byte for byte.
 * - `encodeFrameHeader`: writes a frame header for a payload length (used by both sides).
 *
 * Both push one byte at a time and return an event code, so the caller can stop between lines.
 */
import { MAX_FRAME, MAX_LINE } from "./grammar.ts";

/** Events returned by `push`. */
export const Frame = {
  /** the byte was absorbed; no line yet */
  More: 0,
  /** a complete line is in `line[0..lineLen)` */
  Line: 1,
  /** a frame with an invalid declared length was skipped (or is being skipped: `fatal`) */
  Invalid: 2,
  /** a line longer than MAX_LINE ended (serial) */
  TooLong: 3,
  /** a line holding refused control characters ended (serial, TCP) */
  Control: 4,
  /** a line that is not valid UTF-8 ended (TCP) */
  BadUtf8: 5,
} as const;

/** TCP console frame decoder. */
export class FrameDecoder {
  line: Uint8Array;
  lineLen = 0;
  hdr = 0;
  hdrBytes = 0;
  /** payload bytes still to come in the current frame */
  remaining = 0;
  /** the current frame is being skipped (invalid length) */
  skipping = false;
  /** the last Invalid frame declared a total below 4: nothing can be skipped reliably */
  fatal = false;
  /** UTF-8 continuation bytes still expected */
  utf8Need = 0;
  badUtf8 = false;
  control = false;

  constructor() {
    this.line = new Uint8Array(MAX_LINE);
  }

  reset(): void {
    this.lineLen = 0;
    this.hdr = 0;
    this.hdrBytes = 0;
    this.remaining = 0;
    this.skipping = false;
    this.fatal = false;
    this.utf8Need = 0;
    this.badUtf8 = false;
    this.control = false;
  }

  push(b: number): number {
    if (this.hdrBytes < 4) {
      if (this.hdrBytes === 0) this.hdr = b;
      else if (this.hdrBytes === 1) this.hdr = this.hdr + b * 256;
      else if (this.hdrBytes === 2) this.hdr = this.hdr + b * 65536;
      else this.hdr = this.hdr + b * 16777216;
      this.hdrBytes = this.hdrBytes + 1;
      if (this.hdrBytes < 4) return Frame.More;
      return this.startFrame();
    }
    this.remaining = this.remaining - 1;
    if (this.skipping) {
      if (this.remaining === 0) return this.endSkip();
      return Frame.More;
    }
    const line = this.line;
    line[this.lineLen] = b;
    this.lineLen = this.lineLen + 1;
    this.checkByte(b);
    if (this.remaining === 0) return this.endLine();
    return Frame.More;
  }

  private startFrame(): number {
    const total = this.hdr;
    this.lineLen = 0;
    this.utf8Need = 0;
    this.badUtf8 = false;
    this.control = false;
    if (total < 4) {
      this.fatal = true;
      this.hdrBytes = 0;
      return Frame.Invalid;
    }
    this.fatal = false;
    const payload = total - 4;
    this.remaining = payload;
    if (total > MAX_FRAME || payload > MAX_LINE) {
      this.skipping = true;
      if (payload === 0) return this.endSkip();
      return Frame.More;
    }
    this.skipping = false;
    if (payload === 0) {
      this.hdrBytes = 0;
      return Frame.Line;
    }
    return Frame.More;
  }

  private endSkip(): number {
    this.skipping = false;
    this.hdrBytes = 0;
    return Frame.Invalid;
  }

  private endLine(): number {
    this.hdrBytes = 0;
    if (this.utf8Need > 0) this.badUtf8 = true;
    if (this.badUtf8) return Frame.BadUtf8;
    if (this.control) return Frame.Control;
    return Frame.Line;
  }

  private checkByte(b: number): void {
    if (this.utf8Need > 0) {
      if (b >= 0x80 && b < 0xc0) this.utf8Need = this.utf8Need - 1;
      else this.badUtf8 = true;
      return;
    }
    if (b < 0x20) {
      if (b !== 9) this.control = true;
    } else if (b === 0x7f) this.control = true;
    else if (b >= 0x80) {
      if (b >= 0xc2 && b < 0xe0) this.utf8Need = 1;
      else if (b >= 0xe0 && b < 0xf0) this.utf8Need = 2;
      else if (b >= 0xf0 && b < 0xf5) this.utf8Need = 3;
      else this.badUtf8 = true;
    }
  }
}

/** Serial console line editor. */
export class LineEditor {
  line: Uint8Array;
  lineLen = 0;
  tooLong = false;
  control = false;
  /** start of the UTF-8 sequence being collected, and how many continuation bytes remain */
  seqStart = 0;
  utf8Need = 0;

  constructor() {
    this.line = new Uint8Array(MAX_LINE);
  }

  reset(): void {
    this.lineLen = 0;
    this.tooLong = false;
    this.control = false;
    this.utf8Need = 0;
  }

  push(b: number): number {
    if (b === 10) return this.endLine();
    if (b === 13) return Frame.More;
    if (b === 8 || b === 127) {
      this.erase();
      return Frame.More;
    }
    if (this.utf8Need > 0) {
      if (b >= 0x80 && b < 0xc0) {
        this.utf8Need = this.utf8Need - 1;
        this.put(b);
        return Frame.More;
      }
      this.sanitiseSequence();
    }
    if (b < 0x20 && b !== 9) {
      this.control = true;
      return Frame.More;
    }
    if (b >= 0x80) {
      if (b >= 0xc2 && b < 0xe0) this.startSequence(1);
      else if (b >= 0xe0 && b < 0xf0) this.startSequence(2);
      else if (b >= 0xf0 && b < 0xf5) this.startSequence(3);
      else {
        this.put(63);
        return Frame.More;
      }
    }
    this.put(b);
    return Frame.More;
  }

  private startSequence(need: number): void {
    this.seqStart = this.lineLen;
    this.utf8Need = need;
  }

  /** An unfinished UTF-8 sequence becomes `?` bytes. */
  private sanitiseSequence(): void {
    const line = this.line;
    const end = this.lineLen < MAX_LINE ? this.lineLen : MAX_LINE;
    for (let i = this.seqStart; i < end; i++) line[i] = 63;
    this.utf8Need = 0;
  }

  private put(b: number): void {
    if (this.lineLen >= MAX_LINE) {
      this.tooLong = true;
      return;
    }
    const line = this.line;
    line[this.lineLen] = b;
    this.lineLen = this.lineLen + 1;
  }

  /** Deletes one character: the last byte plus any UTF-8 continuation bytes before it. */
  private erase(): void {
    if (this.tooLong) return;
    this.utf8Need = 0;
    const line = this.line;
    while (this.lineLen > 0) {
      const b = line[this.lineLen - 1];
      this.lineLen = this.lineLen - 1;
      if (b < 0x80 || b >= 0xc0) break;
    }
  }

  private endLine(): number {
    if (this.utf8Need > 0) this.sanitiseSequence();
    if (this.tooLong) return Frame.TooLong;
    if (this.control) return Frame.Control;
    return Frame.Line;
  }
}

/** Writes the 4-byte little-endian frame header for a payload of `payloadLen` bytes at dst[off]. */
export function encodeFrameHeader(dst: Uint8Array, off: number, payloadLen: number): void {
  const total = payloadLen + 4;
  dst[off] = total % 256;
  dst[off + 1] = Math.floor(total / 256) % 256;
  dst[off + 2] = Math.floor(total / 65536) % 256;
  dst[off + 3] = Math.floor(total / 16777216) % 256;
}
