/**
 * The server core for hosts (Deno): identical protocol behaviour, native byte copies on the
 * transport path. Guest builds use `NineServer` itself (Porffor would leak a view per copy).
 */
import { NineServer } from "../server.ts";

export class HostNineServer extends NineServer {
  override copy(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
    if (n < 64) {
      for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
    } else dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  }
}
