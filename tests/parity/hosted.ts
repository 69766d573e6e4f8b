/** The hosted reference for serial console sessions: the same guest code under Deno. */
import { assert } from "../support/assert.ts";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";
import { Hive } from "../../src/guest/hive.ts";

/** Typed on the guest's serial console by the native and Wasm pump tests. */
export const SERIAL_INPUT = new TextEncoder().encode("attach queen\nping\ncat /proc/boot\nls /gpu\nnot-a-verb\nquit\n");

/** What a fresh hosted hive's serial console answers to `input`. */
export function hostedSerial(input: Uint8Array): string {
  const hive = new Hive(BOOT_CONFIG, { verifier: null });
  const con = hive.openConsole("serial");
  const buf = new Uint8Array(65536);
  let out = "";
  let off = 0;
  while (off < input.length) {
    const n = hive.input(con, input, off, input.length - off);
    assert(n >= 0, "hosted console accepts the input");
    off += n;
    for (let got = hive.output(con, buf, 0, buf.length); got > 0; got = hive.output(con, buf, 0, buf.length)) {
      out += new TextDecoder().decode(buf.subarray(0, got));
    }
  }
  return out;
}
