/**
 * The native event pump: the hive's serial console driven by the platform (PL011 on seL4, stdin and
 * stdout for the Linux test ELF). A Porffor module has no imports to call besides printing, so the
 * guest and the platform share a mailbox in linear memory:
 *   - the guest writes a signature into the mailbox once; the platform finds it by scanning the arena;
 *   - each round the guest puts console output in TX and prints the POLL line; the platform (which
 *     swallows that line) sends TX to the serial port, waits for input or until the clock reaches
 *     the guest's next tick (WAKE; 0: do not wait), and fills RX, the clock and the flags before the
 *     print returns. The ticks fall where the hive puts them (origin + k * event_pump.tick_ms, the
 *     origin being the first clock reading), so the platform sleeps exactly until the next one.
 * Under Deno or `porf` nobody answers (the ack byte stays 0) and `pumpMain` returns at once.
 *
 * Layout (u32 little-endian):
 *   [0, 32)    signature, (i * 73 + 41) % 256
 *   32         platform ack (1)             33  end of input (1)
 *   36         TX length (guest)            40  RX length, kept + new (platform)
 *   44, 48     clock ms, low and high u32 (platform)
 *   52         RX bytes the guest kept from the previous round (guest)
 *   56, 60     wake-up time ms, low and high u32 (guest; 0 = poll without waiting)
 *   [64, 64 + TX_CAP)              console output
 *   [64 + TX_CAP, + RX_CAP)        serial input
 *   [NET_AREA, + NET_AREA_BYTES)   the network: config, status, connection slots (net_pump.ts)
 */
import type { Hive } from "../hive.ts";
import { NET_CONFIG } from "../generated/bootstrap.ts";
import { getU32, putU32 } from "./mailbox.ts";
import { NET_AREA, NET_AREA_BYTES, NetPump } from "./net_pump.ts";

export const MB_SIG = 32;
export const MB_ACK = 32;
export const MB_EOF = 33;
export const MB_TX_LEN = 36;
export const MB_RX_LEN = 40;
export const MB_NOW_LO = 44;
export const MB_NOW_HI = 48;
export const MB_RX_KEEP = 52;
export const MB_WAKE_LO = 56;
export const MB_WAKE_HI = 60;
export const MB_TX = 64;
export const TX_CAP = 4096;
export const MB_RX = MB_TX + TX_CAP;
export const RX_CAP = 1024;
/** The network area (net_pump.ts) follows the serial buffers. */
export const MB_BYTES = NET_AREA + NET_AREA_BYTES;
/** The line the platform intercepts; it never reaches the serial port. */
export const POLL_LINE = "\u0001cohesix-poll";

const TWO32 = 4294967296;

/** Moves console output into TX; returns the new TX length. */
function fillTx(hive: Hive, con: number, mb: Uint8Array, len: number): number {
  let n = len;
  while (n < TX_CAP) {
    const got = hive.output(con, mb, MB_TX + n, TX_CAP - n);
    if (got <= 0) break;
    n = n + got;
  }
  return n;
}

/** The first tick after `nowMs` of a schedule that started at `originMs` (the hive's own rule). */
export function nextTickMs(originMs: number, nowMs: number, tickMs: number): number {
  return originMs + (Math.floor((nowMs - originMs) / tickMs) + 1) * tickMs;
}

/** Runs the serial console until the platform reports the end of input; returns 0. */
export function pumpMain(hive: Hive): number {
  const mb = new Uint8Array(new ArrayBuffer(MB_BYTES));
  for (let i = 0; i < MB_SIG; i++) mb[i] = (i * 73 + 41) % 256;
  let con = hive.openConsole("serial");
  if (con < 0) return 1;
  // The platform starts the network (and waits for an address) on the round that brings its config,
  // so "listening" is on serial before the console says it is ready.
  const net = new NetPump(mb, NET_AREA);
  net.configure(NET_CONFIG);
  putU32(mb, MB_TX_LEN, 0);
  putU32(mb, MB_RX_KEEP, 0);
  console.log(POLL_LINE);
  if (mb[MB_ACK] !== 1) return 0; // no platform behind the mailbox (Deno, porf): no console either
  // Serial input that arrived meanwhile stays in RX for the first round.
  let keep = getU32(mb, MB_RX_LEN);
  net.afterPoll(hive);
  console.log("cohesix: serial console ready");
  let origin = -1;
  for (;;) {
    const tx = fillTx(hive, con, mb, 0);
    putU32(mb, MB_TX_LEN, tx);
    putU32(mb, MB_RX_KEEP, keep);
    net.beforePoll(hive);
    console.log(POLL_LINE);
    if (mb[MB_ACK] !== 1) return 0; // no platform behind the mailbox (Deno, porf)
    const now = getU32(mb, MB_NOW_LO) + getU32(mb, MB_NOW_HI) * TWO32;
    if (origin < 0) origin = now;
    hive.advance(now);
    const wake = nextTickMs(origin, now, hive.boot.tickMs);
    putU32(mb, MB_WAKE_LO, wake % TWO32);
    putU32(mb, MB_WAKE_HI, Math.floor(wake / TWO32));
    net.afterPoll(hive);
    const rxLen = getU32(mb, MB_RX_LEN);
    let used = 0;
    if (rxLen > 0) {
      used = hive.input(con, mb, MB_RX, rxLen);
      if (used < 0) used = rxLen; // a refused connection: drop what it would not take
    }
    keep = rxLen - used;
    for (let i = 0; i < keep; i++) mb[MB_RX + i] = mb[MB_RX + used + i];
    if (hive.closed(con)) {
      // `quit` ends one console session; the serial line stays, so the next line gets a new one.
      const last = fillTx(hive, con, mb, 0);
      if (last > 0) {
        putU32(mb, MB_TX_LEN, last);
        putU32(mb, MB_RX_KEEP, 0);
        console.log(POLL_LINE);
      }
      hive.close(con);
      con = hive.openConsole("serial");
      if (con < 0) return 1;
      keep = 0;
    }
    if (mb[MB_EOF] === 1 && keep === 0 && rxLen === 0) {
      const rest = fillTx(hive, con, mb, 0);
      putU32(mb, MB_TX_LEN, rest);
      putU32(mb, MB_RX_KEEP, 0);
      console.log(POLL_LINE);
      hive.close(con);
      return 0;
    }
  }
}
