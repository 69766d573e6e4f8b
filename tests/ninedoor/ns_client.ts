/** A tiny synchronous client over the `Namespace` API for tests (paths in, strings out). */
import { DirEntry, type Namespace, NodeStat, O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export class NsClient {
  constructor(readonly ns: Namespace, readonly session: number) {}

  /** Walks an absolute path one element at a time; returns the node or the first -errno. */
  walk(path: string): number {
    let node = this.ns.root(this.session);
    for (const part of path.split("/").filter((p) => p.length > 0)) {
      if (node < 0) return node;
      const b = enc.encode(part);
      node = this.ns.walk(this.session, node, b, 0, b.length);
    }
    return node;
  }

  /** Walks and opens; returns the node or -errno. */
  open(path: string, flags = O_RDONLY): number {
    const node = this.walk(path);
    if (node < 0) return node;
    const r = this.ns.open(this.session, node, flags);
    return r < 0 ? r : node;
  }

  /** Reads a node from `offset` to EOF; returns text or the first -errno. */
  readNode(node: number, offset = 0): string | number {
    const buf = new Uint8Array(256);
    const chunks: Uint8Array[] = [];
    let off = offset;
    for (;;) {
      const n = this.ns.read(
        this.session,
        node,
        off % 2 ** 32,
        Math.floor(off / 2 ** 32),
        buf,
        0,
        buf.length,
      );
      if (n < 0) return n;
      if (n === 0) break;
      chunks.push(buf.slice(0, n));
      off += n;
    }
    return dec.decode(concat(chunks));
  }

  read(path: string, offset = 0): string | number {
    const node = this.open(path);
    if (node < 0) return node;
    const text = this.readNode(node, offset);
    this.ns.clunk(this.session, node);
    return text;
  }

  writeNode(node: number, text: string): number {
    const b = enc.encode(text);
    return this.ns.write(this.session, node, 0, 0, b, 0, b.length);
  }

  write(path: string, text: string): number {
    const node = this.open(path, O_WRONLY);
    if (node < 0) return node;
    const r = this.writeNode(node, text);
    this.ns.clunk(this.session, node);
    return r;
  }

  /** Writes raw bytes to a path (walk, open for writing, one write, clunk); bytes taken or -errno. */
  writeBytes(path: string, bytes: Uint8Array): number {
    const node = this.open(path, O_WRONLY);
    if (node < 0) return node;
    const r = this.ns.write(this.session, node, 0, 0, bytes, 0, bytes.length);
    this.ns.clunk(this.session, node);
    return r;
  }

  /** Tmkdir of the last element of `path` in its parent; 0 or -errno. */
  mkdir(path: string): number {
    const at = path.lastIndexOf("/");
    const dir = this.walk(path.slice(0, at) || "/");
    if (dir < 0) return dir;
    const name = enc.encode(path.slice(at + 1));
    if (this.ns.mkdir === undefined) return -95;
    const made = this.ns.mkdir(this.session, dir, name, 0, name.length, 0o755);
    this.ns.clunk(this.session, dir);
    if (made < 0) return made;
    this.ns.clunk(this.session, made);
    return 0;
  }

  /** Tremove of `path`; 0 or -errno. */
  remove(path: string): number {
    const node = this.walk(path);
    if (node < 0) return node;
    if (this.ns.remove === undefined) return -95;
    const r = this.ns.remove(this.session, node);
    this.ns.clunk(this.session, node);
    return r;
  }

  list(path: string): string[] | number {
    const node = this.open(path);
    if (node < 0) return node;
    const out: string[] = [];
    const e = new DirEntry();
    for (let i = 0;; i++) {
      const r = this.ns.readdir(this.session, node, i, e);
      if (r < 0) return r;
      if (r === 0) break;
      out.push(e.name);
    }
    this.ns.clunk(this.session, node);
    return out;
  }

  stat(path: string): NodeStat | number {
    const node = this.walk(path);
    if (node < 0) return node;
    const st = new NodeStat();
    const r = this.ns.stat(this.session, node, st);
    return r < 0 ? r : st;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
