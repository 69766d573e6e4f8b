/** The files every path of the mount benchmark serves: the same bytes on 9P and on local disk. */
import { benchFile } from "../9p/files.ts";

export const BIG = "file4m";
export const SMALL = "small";

export function BENCH_FILES(): [string, Uint8Array][] {
  return [[BIG, benchFile(4 << 20)], [SMALL, benchFile(4096)]];
}
