/**
 * The network half of the native event pump: the hive's TCP console and Secure9P connections, served
 * through the mailbox slots the platform fills from lwIP (layout and slot protocol:
 * src/guest/native/net/net_bridge.h; the offsets below must match it). Each round `beforePoll` moves
 * hive output into the slots' TX and `afterPoll` opens hive connections for new slots, feeds RX to
 * them and closes what the peer or the hive ended. Connection limits come from the net config (the
 * manifest); a refused console gets the hosted runtime's `ERR AUTH reason=busy` frame, a refused 9P
 * connection is closed. Allocation happens once, in the constructor (Porffor has no GC).
 */
import type { NetConfig } from "../boot.ts";
import { type Hive, MAX_CONSOLES, MAX_NINEP } from "../hive.ts";
import { encodeFrameHeader } from "../console/framing.ts";
import { getU32, putU32 } from "./mailbox.ts";

export const NET_AREA = 8192;
export const NET_SLOTS = 24;
export const NET_TX_CAP = 8192;
export const NET_RX_CAP = 8192;
const CFG_SET = 0;
const CFG_MODE = 1;
const CFG_CONSOLE_PORT = 2;
const CFG_NINEP_PORT = 4;
const CFG_ADDR = 8;
const CFG_PREFIX = 12;
const CFG_GATEWAY = 16;
const GUEST_BUSY = 20;
export const ST_STATE = 32;
export const ST_TRANSPORT = 33;
export const ST_ADDR = 36;
export const ST_PREFIX = 40;
export const ST_GATEWAY = 44;
export const ST_MAC = 48;
export const ST_RX_FRAMES = 56;
export const ST_RX_DROPPED = 60;
export const ST_TX_FRAMES = 64;
export const ST_ACCEPTED = 68;
export const ST_RESET = 72;
const SLOT_HDR = 128;
const SLOT_HDR_BYTES = 16;
const SL_PSTATE = 0;
const SL_KIND = 1;
const SL_GSTATE = 2;
const SL_RX_LEN = 4;
const SL_TX_LEN = 8;
const DATA = 512;
const SLOT_BYTES = NET_TX_CAP + NET_RX_CAP;
export const NET_AREA_BYTES = DATA + NET_SLOTS * SLOT_BYTES;

const P_FREE = 0;
const P_NEW = 1;
const P_PEER_CLOSED = 3;
const G_NONE = 0;
const G_OPEN = 1;
const G_CLOSING = 2;
const G_DONE = 3;
const KIND_CONSOLE = 1;

export const NET_MODE_OFF = 0;
export const NET_MODE_DHCP = 1;
export const NET_MODE_STATIC = 2;

const BUSY_TEXT = "ERR AUTH reason=busy detail=console-table-full";

export class NetPump {
  mb: Uint8Array;
  /** Offset of the network area in mb. */
  base: number;
  /** Hive connection of each slot, -1 when none. */
  conn: Int32Array = new Int32Array(NET_SLOTS);
  consoles = 0;
  nineps = 0;
  maxConsoles = 0;
  maxNinep = 0;
  busy = false;

  constructor(mb: Uint8Array, base: number) {
    this.mb = mb;
    this.base = base;
    const conn = this.conn;
    for (let i = 0; i < NET_SLOTS; i++) conn[i] = -1;
  }

  /** Writes the manifest's settings for the platform (read on its next round). */
  configure(s: NetConfig): void {
    const mb = this.mb;
    const b = this.base;
    let mode = NET_MODE_OFF;
    if (s.enabled) mode = s.mode === "static" ? NET_MODE_STATIC : NET_MODE_DHCP;
    mb[b + CFG_MODE] = mode;
    mb[b + CFG_CONSOLE_PORT] = s.consolePort % 256;
    mb[b + CFG_CONSOLE_PORT + 1] = Math.floor(s.consolePort / 256);
    mb[b + CFG_NINEP_PORT] = s.ninepPort % 256;
    mb[b + CFG_NINEP_PORT + 1] = Math.floor(s.ninepPort / 256);
    for (let i = 0; i < 4; i++) {
      mb[b + CFG_ADDR + i] = s.address[i];
      mb[b + CFG_GATEWAY + i] = s.gateway[i];
    }
    mb[b + CFG_PREFIX] = s.prefix;
    mb[b + CFG_SET] = 1;
    // The serial line holds one of the hive's consoles.
    this.maxConsoles = s.maxConsoles < MAX_CONSOLES - 1 ? s.maxConsoles : MAX_CONSOLES - 1;
    this.maxNinep = s.maxNinep < MAX_NINEP ? s.maxNinep : MAX_NINEP;
  }

  state(): number {
    return this.mb[this.base + ST_STATE];
  }

  hdr(i: number): number {
    return this.base + SLOT_HDR + i * SLOT_HDR_BYTES;
  }

  txAt(i: number): number {
    return this.base + DATA + i * SLOT_BYTES;
  }

  /** Before the poll: hive output into each open slot's TX; a connection the hive ended is handed back. */
  beforePoll(hive: Hive): void {
    const mb = this.mb;
    const conn = this.conn;
    let busy = this.busy;
    for (let i = 0; i < NET_SLOTS; i++) {
      const h = this.hdr(i);
      if (mb[h + SL_GSTATE] !== G_OPEN) continue;
      const id = conn[i];
      const tx = this.txAt(i);
      const len = getU32(mb, h + SL_TX_LEN);
      let n = len;
      while (n < NET_TX_CAP) {
        const got = hive.output(id, mb, tx + n, NET_TX_CAP - n);
        if (got <= 0) break;
        n = n + got;
      }
      if (n > len) {
        putU32(mb, h + SL_TX_LEN, n);
        busy = true;
      }
      if (n < NET_TX_CAP && hive.closed(id)) {
        // Everything the hive said is in TX: the platform sends it, then closes the socket.
        this.release(hive, i);
        mb[h + SL_GSTATE] = G_CLOSING;
      }
    }
    mb[this.base + GUEST_BUSY] = busy ? 1 : 0;
    this.busy = false;
  }

  /** After the poll: new connections, input, peers that went away. */
  afterPoll(hive: Hive): void {
    const mb = this.mb;
    const conn = this.conn;
    for (let i = 0; i < NET_SLOTS; i++) {
      const h = this.hdr(i);
      const p = mb[h + SL_PSTATE];
      if (p === P_FREE) continue;
      let g = mb[h + SL_GSTATE];
      if (p === P_NEW && g === G_NONE) {
        g = this.open(hive, i, mb[h + SL_KIND]);
        mb[h + SL_GSTATE] = g;
      } else if (p === P_PEER_CLOSED && g === G_NONE) {
        mb[h + SL_GSTATE] = G_DONE; // gone before it was opened
        continue;
      }
      if (g !== G_OPEN) continue;
      const id = conn[i];
      const rxLen = getU32(mb, h + SL_RX_LEN);
      if (rxLen > 0) {
        const rx = this.txAt(i) + NET_TX_CAP;
        let used = hive.input(id, mb, rx, rxLen);
        if (used < 0) {
          // The hive refused the connection's input (as the hosted runtime does: close it).
          used = rxLen;
          this.release(hive, i);
          mb[h + SL_GSTATE] = G_DONE;
        }
        const keep = rxLen - used;
        for (let k = 0; k < keep; k++) mb[rx + k] = mb[rx + used + k];
        putU32(mb, h + SL_RX_LEN, keep);
        if (used > 0) this.busy = true;
        if (mb[h + SL_GSTATE] !== G_OPEN) continue;
      }
      if (p === P_PEER_CLOSED) {
        this.release(hive, i);
        mb[h + SL_GSTATE] = G_DONE;
      }
    }
  }

  /** Opens the hive connection for a new slot; returns the slot's guest state. */
  open(hive: Hive, i: number, kind: number): number {
    const conn = this.conn;
    if (kind === KIND_CONSOLE) {
      const id = this.consoles < this.maxConsoles ? hive.openConsole("tcp") : -1;
      if (id < 0) {
        this.refuseConsole(i);
        return G_CLOSING;
      }
      conn[i] = id;
      this.consoles = this.consoles + 1;
      return G_OPEN;
    }
    const id = this.nineps < this.maxNinep ? hive.openNinep() : -1;
    if (id < 0) return G_CLOSING;
    conn[i] = id;
    this.nineps = this.nineps + 1;
    return G_OPEN;
  }

  /** The hosted runtime's answer to a console over the limit, in the console's framing. */
  refuseConsole(i: number): void {
    const mb = this.mb;
    const tx = this.txAt(i);
    encodeFrameHeader(mb, tx, BUSY_TEXT.length);
    for (let k = 0; k < BUSY_TEXT.length; k++) mb[tx + 4 + k] = BUSY_TEXT.charCodeAt(k);
    putU32(mb, this.hdr(i) + SL_TX_LEN, BUSY_TEXT.length + 4);
  }

  release(hive: Hive, i: number): void {
    const conn = this.conn;
    const id = conn[i];
    if (id < 0) return;
    if (this.mb[this.hdr(i) + SL_KIND] === KIND_CONSOLE) this.consoles = this.consoles - 1;
    else this.nineps = this.nineps - 1;
    hive.close(id);
    conn[i] = -1;
  }
}
