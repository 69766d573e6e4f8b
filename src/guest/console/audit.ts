/**
 * Console audit lines in `/log/queen.log` (denied verbs, throttled or cut-off logins), written
 * through the `Namespace` like any other append, by one hive-owned queen session opened on first
 * use. Lines are composed in a fixed buffer (no allocation per line).
 */
import { ByteWriter } from "../lib/bytes.ts";
import { type Namespace, NodeStat, O_APPEND, O_WRONLY } from "../../secure9p/namespace.ts";

const LOG_PATH = "/log/queen.log";

export class Auditor {
  ns: Namespace;
  w: ByteWriter = new ByteWriter(256);
  session = -1;
  root = -1;
  node = -1;
  stat: NodeStat = new NodeStat();
  name: Uint8Array = new Uint8Array(16);
  /** Lines that could not be written (the namespace refused the audit session or the append). */
  dropped = 0;

  constructor(ns: Namespace) {
    this.ns = ns;
  }

  /** Starts a line: returns the writer to fill, then call `commit`. */
  begin(): ByteWriter {
    this.w.reset();
    this.w.ascii("console ");
    return this.w;
  }

  commit(): void {
    const w = this.w;
    w.byte(10);
    if (w.overflow || !this.ready()) {
      this.dropped++;
      return;
    }
    const ns = this.ns;
    let r = ns.stat(this.session, this.node, this.stat);
    if (r >= 0) r = ns.write(this.session, this.node, this.stat.sizeLo, this.stat.sizeHi, w.buf, 0, w.len);
    if (r < 0) this.dropped++;
  }

  /** Opens the audit session and the log file once. */
  ready(): boolean {
    if (this.node >= 0) return true;
    const ns = this.ns;
    const s = ns.attach("queen", "");
    if (s < 0) return false;
    const root = ns.root(s);
    if (root < 0) {
      ns.detach(s);
      return false;
    }
    let node = root;
    let i = 1;
    while (i <= LOG_PATH.length) {
      let j = i;
      while (j < LOG_PATH.length && LOG_PATH.charCodeAt(j) !== 47) j++;
      const name = this.name;
      for (let k = i; k < j; k++) name[k - i] = LOG_PATH.charCodeAt(k);
      const child = ns.walk(s, node, name, 0, j - i);
      if (node !== root) ns.clunk(s, node);
      if (child < 0) {
        node = -1;
        break;
      }
      node = child;
      i = j + 1;
    }
    if (node < 0 || ns.open(s, node, O_WRONLY + O_APPEND) < 0) {
      if (node >= 0) ns.clunk(s, node);
      ns.clunk(s, root);
      ns.detach(s);
      return false;
    }
    this.session = s;
    this.root = root;
    this.node = node;
    return true;
  }
}
