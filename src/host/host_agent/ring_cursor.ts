/**
 * Followers of a NineDoor ring file (/host/actions, /bus/<adapter>/ctl): a read below the ring's
 * retained window is EINVAL (the stale-cursor rule: the hive dropped whole oldest lines this reader
 * had not read yet). The follower resumes at the oldest line still held, found by bisection between
 * its stale cursor and the end (the end is always readable); whole lines start the window.
 */
import { NineClient, NineError } from "../../secure9p/host/client.ts";
import { EINVAL } from "../../secure9p/errors.ts";

export function isStaleCursor(e: unknown): boolean {
  return e instanceof NineError && e.errno === EINVAL;
}

/** The first readable offset of the ring open on `fid`, given a cursor `stale` below it. */
export async function ringWindowStart(client: NineClient, fid: number, stale: number): Promise<number> {
  let lo = stale;
  let hi = (await client.getattr(fid)).size;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    try {
      await client.read(fid, mid, 1);
      hi = mid;
    } catch (e) {
      if (!isStaleCursor(e)) throw e;
      lo = mid;
    }
  }
  return hi;
}
