/**
 * `Hive`: the sans-IO guest. It composes the namespace (NineDoor), the Secure9P server core and
 * the console sessions behind one connection table. The hosted runtime (src/host/dev) and the
 * native platform main loop are its only callers: they open connections, feed input bytes,
 * drain output bytes and advance the injected clock. No async, no I/O, no clock of its own.
 *
 * Connection ids index a fixed table; each entry is a console session or a 9P server session.
 * Every table and buffer is allocated in the constructor (Porffor has no GC).
 */
import { EBADF, EBUSY, EINVAL } from "../secure9p/errors.ts";
import type { Namespace } from "../secure9p/namespace.ts";
import { NineServer } from "../secure9p/server.ts";
import type { BootConfig } from "./boot.ts";
import { NineDoor } from "./ninedoor/ninedoor.ts";
import type { NamespaceExtension } from "./ninedoor/extension.ts";
import type { TicketVerifier } from "./tickets/ticket.ts";
import { Auditor } from "./console/audit.ts";
import { ConsoleConfig, ConsoleKind, ConsoleSession } from "./console/session.ts";

/** Most connections at once (console + 9P). */
export const MAX_CONNECTIONS = 32;
/** Most console sessions at once (each holds ~30 KiB of buffers). */
export const MAX_CONSOLES = 8;
/** Most 9P sessions at once. */
export const MAX_NINEP = 16;

const C_FREE = 0;
const C_CONSOLE = 1;
const C_NINEP = 2;

/** Hive settings that are not part of the manifest's BootConfig. */
export interface HiveOptions {
  /** TCP console AUTH token (default `changeme`). */
  authToken?: string;
  /** Ticket signature verifier handed to NineDoor (the host supplies it; null: ticketless roles only). */
  verifier?: TicketVerifier | null;
  /** A namespace to serve instead of NineDoor (tests of the console against other providers). */
  namespace?: Namespace;
  /** Providers linked beyond NineDoor's own (the `[ecosystem]` services); none when absent. */
  extension?: NamespaceExtension | null;
}

export class Hive {
  boot: BootConfig;
  ns: Namespace;
  /** The NineDoor namespace when it is the one served (it owns the clock-driven state). */
  nineDoor: NineDoor | null = null;
  server: NineServer;
  consoleCfg: ConsoleConfig = new ConsoleConfig();
  consoles: ConsoleSession[] = [];
  auditor: Auditor;
  nowMs = 0;

  connKind: Uint8Array = new Uint8Array(MAX_CONNECTIONS);
  /** console index or 9P server session of each connection */
  connSlot: Int32Array = new Int32Array(MAX_CONNECTIONS);

  constructor(boot: BootConfig, options?: HiveOptions) {
    this.boot = boot;
    let ns: Namespace;
    if (options !== undefined && options.namespace !== undefined) ns = options.namespace;
    else {
      const verifier = options !== undefined && options.verifier !== undefined ? options.verifier : null;
      const extension = options !== undefined && options.extension !== undefined ? options.extension : null;
      const nd = new NineDoor(boot, verifier, extension);
      this.nineDoor = nd;
      ns = nd;
    }
    this.ns = ns;
    if (options !== undefined && options.authToken !== undefined) this.consoleCfg.authToken = options.authToken;
    // Secure9P limits come from the manifest ([secure9p]); the server still caps msize and walk depth.
    this.server = new NineServer(ns, {
      msize: boot.limits.msize,
      maxWalk: boot.limits.maxWalk,
      maxSessions: MAX_NINEP,
      maxFidsPerSession: boot.limits.maxOpenPerSession,
      maxTagsPerSession: boot.limits.maxTagsPerSession,
      allowFidReuse: boot.limits.allowFidReuse === true,
    });
    const auditor = new Auditor(ns);
    this.auditor = auditor;
    for (let i = 0; i < MAX_CONSOLES; i++) {
      this.consoles.push(new ConsoleSession(ns, this.consoleCfg, auditor, this.nineDoor));
    }
  }

  /** Advances the injected clock (ms, monotonic). */
  advance(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    if (this.nineDoor !== null) this.nineDoor.advance(this.nowMs);
    for (let i = 0; i < MAX_CONSOLES; i++) {
      const c = this.consoles[i];
      if (!c.isFree()) c.tick(this.nowMs);
    }
    this.server.poll();
  }

  /** Opens a console connection (`tcp`: framed, AUTH first; `serial`: newline lines). Returns its id or -errno. */
  openConsole(kind: string): number {
    let k = 0;
    if (kind === "tcp") k = ConsoleKind.Tcp;
    else if (kind === "serial") k = ConsoleKind.Serial;
    else return -EINVAL;
    let slot = -1;
    for (let i = 0; i < MAX_CONSOLES; i++) {
      if (this.consoles[i].isFree()) {
        slot = i;
        break;
      }
    }
    if (slot < 0) return -EBUSY;
    const id = this.freeConn();
    if (id < 0) return id;
    this.consoles[slot].open(k, this.nowMs);
    this.setConn(id, C_CONSOLE, slot);
    return id;
  }

  /** Opens a 9P2000.L connection. Returns its id or -errno. */
  openNinep(): number {
    const id = this.freeConn();
    if (id < 0) return id;
    const s = this.server.openSession();
    if (s < 0) return -EBUSY;
    this.setConn(id, C_NINEP, s);
    return id;
  }

  /** Feeds input bytes; returns how many were consumed (offer the rest after draining output) or -errno. */
  input(id: number, src: Uint8Array, off: number, len: number): number {
    const kind = this.kindOf(id);
    if (kind === C_CONSOLE) {
      const c = this.consoles[this.connSlot[id]];
      c.nowMs = this.nowMs;
      return c.input(src, off, len);
    }
    if (kind === C_NINEP) {
      const s = this.connSlot[id];
      const space = this.server.inputSpace(s);
      const n = len < space ? len : space;
      if (n > 0) this.server.input(s, src, off, n);
      return n;
    }
    return -EBADF;
  }

  /** Drains up to `max` output bytes into dst[dstOff..]; returns the count (0: nothing pending). */
  output(id: number, dst: Uint8Array, dstOff: number, max: number): number {
    const kind = this.kindOf(id);
    if (kind === C_CONSOLE) return this.consoles[this.connSlot[id]].output(dst, dstOff, max);
    if (kind === C_NINEP) return this.server.output(this.connSlot[id], dst, dstOff, max);
    return 0;
  }

  /** True once the guest ended the connection and its output is drained (the host should close it). */
  closed(id: number): boolean {
    const kind = this.kindOf(id);
    if (kind === C_CONSOLE) return this.consoles[this.connSlot[id]].wantsClose();
    if (kind === C_NINEP) {
      const s = this.connSlot[id];
      return this.server.closed(s) && this.server.pendingOutput(s) === 0;
    }
    return true;
  }

  /** The host closed the connection (or acknowledges `closed`): frees everything it held. */
  close(id: number): void {
    const kind = this.kindOf(id);
    if (kind === C_CONSOLE) this.consoles[this.connSlot[id]].release();
    else if (kind === C_NINEP) this.server.closeSession(this.connSlot[id]);
    if (kind !== C_FREE) this.setConn(id, C_FREE, -1);
  }

  kindOf(id: number): number {
    if (id < 0 || id >= MAX_CONNECTIONS) return C_FREE;
    return this.connKind[id];
  }

  freeConn(): number {
    const kinds = this.connKind;
    for (let i = 0; i < MAX_CONNECTIONS; i++) if (kinds[i] === C_FREE) return i;
    return -EBUSY;
  }

  setConn(id: number, kind: number, slot: number): void {
    const kinds = this.connKind;
    const slots = this.connSlot;
    kinds[id] = kind;
    slots[id] = slot;
  }
}
