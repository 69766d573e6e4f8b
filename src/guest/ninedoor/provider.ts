/**
 * The contract between NineDoor (sessions, fids, roles, routing) and the services behind its files.
 *
 * A provider is one module: it adds its nodes to the shared tree (each node carries the provider's
 * index, a kind of the provider's own numbering and an argument such as a worker slot) and serves
 * their reads, writes and sizes. NineDoor has already resolved the session, checked the role, the
 * ticket scope, the node's access class and the quotas before it calls in; a provider only does its
 * service's job and returns a number (`>= 0` ok, `< 0` a negated errno).
 *
 * Porffor: calls go through `NineDoor.providers[i]` (an array of objects of different classes);
 * measured under `porf` at ~50 ns more per call than a switch. Providers allocate in their
 * constructor and `mountNodes` only; requests write into the caller's buffer or NineDoor's shared
 * scratch writer. Keep method and field names unique across the guest (a Porffor rule).
 */
import type { ByteWriter } from "../lib/bytes.ts";
import { EMSGSIZE } from "../../secure9p/errors.ts";

export interface Provider {
  /** Index in `NineDoor.providers`, set by `NineDoor.register` before `mountNodes`. */
  provId: number;
  /** Adds the provider's boot-time nodes; called once, in registration order (slots follow it). */
  mountNodes(): void;
  /** Reads node (`kind`, `arg`) at `offset` into dst[dstOff..dstOff+count). Bytes copied or -errno. */
  nodeRead(kind: number, arg: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number;
  /**
   * Writes to an append-only or control node for session slot `s`; the offset is ignored (every write
   * lands at the end or is one command). Bytes accepted or -errno.
   */
  nodeWrite(s: number, kind: number, arg: number, src: Uint8Array, srcOff: number, count: number): number;
  /** Size shown by stat (0 for rendered text files, as in /proc on Linux). */
  nodeSize(kind: number, arg: number): number;
  /** Oldest offset still readable in a ring-backed node; 0 for other nodes. */
  nodeStart(kind: number, arg: number): number;
  /** One heartbeat tick (NineDoor's clock is at the tick's scheduled time). */
  onTick(): void;
  /** The clock moved to `nowMs` (after the ticks it covered ran). */
  onClock(nowMs: number): void;
}

/** Copies w.buf[offset..] into dst (a rendered text file); 0 past the end, -EMSGSIZE if the render overflowed. */
export function readRendered(w: ByteWriter, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
  if (w.overflow) return -EMSGSIZE;
  if (offset >= w.len) return 0;
  let n = w.len - offset;
  if (n > count) n = count;
  const buf = w.buf;
  for (let i = 0; i < n; i++) dst[dstOff + i] = buf[offset + i];
  return n;
}

function isSafe(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 ||
    c === 95 ||
    c === 58;
}

export function safeBytes(buf: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (!isSafe(buf[off + i])) return false;
  return true;
}

/** Writes `s` with anything outside [A-Za-z0-9._:-] as `?`, so a log line can never be split or forged. */
export function safe(w: ByteWriter, s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    w.byte(isSafe(c) ? c : 63);
  }
}

/** Length of src[off..off+count) without trailing CR/LF. */
export function trimmedLen(src: Uint8Array, off: number, count: number): number {
  let len = count;
  while (len > 0 && (src[off + len - 1] === 10 || src[off + len - 1] === 13)) len--;
  return len;
}
