/**
 * Prints a guest ByteWriter's lines with console.log and empties it: how the guest-side test drivers
 * (update vectors, /updates parity) hand their output to the platform under porf, qemu and seL4.
 * Porffor rules: a module-level function, no closures.
 */
import type { ByteWriter } from "../../src/guest/lib/bytes.ts";

export function printWriterLines(w: ByteWriter): void {
  const buf = w.buf;
  let line = "";
  for (let k = 0; k < w.len; k++) {
    if (buf[k] === 10) {
      console.log(line);
      line = "";
    } else line += String.fromCharCode(buf[k]);
  }
  if (w.overflow) console.log("driver output overflow");
  w.reset();
}
