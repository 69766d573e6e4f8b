/**
 * Guest-side helpers of the parity drivers (fixtures run under Deno and under porf, their output
 * compared byte for byte): walk an absolute path, write a text as one write, print a file's bytes
 * between the -1000 and -2000 markers that `decodeDriver` (tests/ninedoor/policy_porf.ts) reads.
 * Porffor rules: buffers allocated once, typed-array fields written through a local alias, no closures,
 * names prefixed `nsd`.
 */
import type { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";

export class NsDriver {
  nsdNd: NineDoor;
  nsdSess: number;
  /** Path components, then the text of a write. */
  nsdBuf: Uint8Array;
  /** What `nsdDump` reads (at most its length). */
  nsdOut: Uint8Array;

  constructor(nd: NineDoor, sess: number, bufBytes: number, outBytes: number) {
    this.nsdNd = nd;
    this.nsdSess = sess;
    this.nsdBuf = new Uint8Array(new ArrayBuffer(bufBytes));
    this.nsdOut = new Uint8Array(new ArrayBuffer(outBytes));
  }

  /** Walks `path` (absolute), to its parent directory when `parent`: the node or the first -errno. */
  nsdWalk(path: string, parent: boolean): number {
    const nd = this.nsdNd;
    const buf = this.nsdBuf;
    const end = parent ? path.lastIndexOf("/") : path.length;
    let node = nd.root(this.nsdSess);
    let start = 1;
    for (let i = 1; i <= end && node >= 0; i++) {
      if (i < end && path.charCodeAt(i) !== 47) continue;
      const n = i - start;
      if (n > 0) {
        for (let k = 0; k < n; k++) buf[k] = path.charCodeAt(start + k);
        node = nd.walk(this.nsdSess, node, buf, 0, n);
      }
      start = i + 1;
    }
    return node;
  }

  /** Opens `path` for writing and writes `text` (one byte per character) as one write: bytes or -errno. */
  nsdWrite(path: string, text: string): number {
    const nd = this.nsdNd;
    const node = this.nsdWalk(path, false);
    if (node < 0) return node;
    const o = nd.open(this.nsdSess, node, 1);
    if (o < 0) return o;
    const buf = this.nsdBuf;
    for (let k = 0; k < text.length; k++) buf[k] = text.charCodeAt(k);
    const r = nd.write(this.nsdSess, node, 0, 0, buf, 0, text.length);
    nd.clunk(this.nsdSess, node);
    return r;
  }

  /** Prints the file's first bytes (decimal, one per line) between -1000 and -2000; none when it fails. */
  nsdDump(path: string): void {
    const nd = this.nsdNd;
    const node = this.nsdWalk(path, false);
    const o = node < 0 ? node : nd.open(this.nsdSess, node, 0);
    const out = this.nsdOut;
    const n = o < 0 ? o : nd.read(this.nsdSess, node, 0, 0, out, 0, out.length);
    console.log(-1000);
    for (let i = 0; i < n; i++) console.log(out[i]);
    console.log(-2000);
    if (node >= 0) nd.clunk(this.nsdSess, node);
  }
}
