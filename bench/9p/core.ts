/**
 * The server core alone, in-process (no sockets, no client): how much of the TCP rows the core
 * itself costs. diod has no in-process mode, so this row has no peer and no ratio.
 */
import { HostNineServer } from "../../src/secure9p/host/fast_server.ts";
import { StaticNamespace } from "../../src/secure9p/static_namespace.ts";
import { encodeReq } from "../../src/secure9p/host/client.ts";
import * as C from "../../src/secure9p/codec.ts";

export function measureCore(seconds: number): { smallOps: number; readMBs: number } {
  const ns = new StaticNamespace();
  ns.addFile(0, "f4k", new Uint8Array(4096), true);
  ns.addFile(0, "big", new Uint8Array(1 << 20), true);
  const server = new HostNineServer(ns, {
    msize: 8192,
    maxWalk: 8,
    maxSessions: 1,
    maxFidsPerSession: 16,
    maxTagsPerSession: 16,
  });
  const s = server.openSession();
  const out = new Uint8Array(16384);
  const feed = (f: Uint8Array) => {
    server.input(s, f, 0, f.length);
    server.output(s, out, 0, out.length);
  };
  const req = (type: number, nums: number[], strs: string[] = []) =>
    encodeReq(type, 1, { nums, strs }, 8192).slice();
  feed(req(C.Tversion, [8192], ["9P2000.L"]));
  feed(req(C.Tattach, [1, C.NOFID, 0], ["queen", ""]));
  feed(req(C.Twalk, [1, 3, 1], ["big"]));
  feed(req(C.Tlopen, [3, 0]));
  const read = req(C.Tread, [3, 0, 8168]);
  const g = req(C.Tgetattr, [2, 0x7ff]);
  // Fresh fid numbers per op (clunked numbers are retired); the frames are rewritten in place.
  const w = req(C.Twalk, [1, 2, 1], ["f4k"]);
  const c = req(C.Tclunk, [2]);
  let fid = 10;
  let ops = 0;
  let t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < 1000; i++, fid++) {
      C.putU32(w, 11, fid);
      C.putU32(g, 7, fid);
      C.putU32(c, 7, fid);
      feed(w);
      feed(g);
      feed(c);
    }
    ops += 1000;
  }
  const smallOps = ops / ((performance.now() - t0) / 1000);
  if (out[4] !== C.Rclunk) throw new Error(`Core bench: expected Rclunk, got ${C.messageName(out[4])}`);
  let reads = 0;
  t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < 1000; i++) feed(read);
    reads += 1000;
  }
  const readMBs = (reads * 8168) / ((performance.now() - t0) / 1000) / 1e6;
  if (out.at(4) !== C.Rread || C.getU32(out, 7) !== 8168) {
    throw new Error("Core bench: expected a full Rread");
  }
  server.closeSession(s);
  return { smallOps, readMBs };
}
