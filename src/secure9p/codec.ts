/**
 * 9P2000.L codec: one const layout table drives decode, encode and the round-trip tests.
 *
 * Guest code (Porffor): no allocation per frame, u32 by arithmetic, u64 as two u32 slots.
 * A decoded message lives in a caller-owned, reused `Fcall`: numeric fields in `n` (in layout
 * order; a u64 takes two slots lo, hi; a qid takes four: type, version, pathLo, pathHi),
 * strings as byte ranges (`sOff`/`sLen` into `sBuf`), a data payload as a range of `dataBuf`.
 * Errors are negative `DecodeError` numbers, never exceptions.
 */

export const Tlerror = 6;
export const Rlerror = 7;
export const Tstatfs = 8;
export const Rstatfs = 9;
export const Tlopen = 12;
export const Rlopen = 13;
export const Tlcreate = 14;
export const Rlcreate = 15;
export const Tsymlink = 16;
export const Rsymlink = 17;
export const Tmknod = 18;
export const Rmknod = 19;
export const Trename = 20;
export const Rrename = 21;
export const Treadlink = 22;
export const Rreadlink = 23;
export const Tgetattr = 24;
export const Rgetattr = 25;
export const Tsetattr = 26;
export const Rsetattr = 27;
export const Txattrwalk = 30;
export const Rxattrwalk = 31;
export const Txattrcreate = 32;
export const Rxattrcreate = 33;
export const Treaddir = 40;
export const Rreaddir = 41;
export const Tfsync = 50;
export const Rfsync = 51;
export const Tlock = 52;
export const Rlock = 53;
export const Tgetlock = 54;
export const Rgetlock = 55;
export const Tlink = 70;
export const Rlink = 71;
export const Tmkdir = 72;
export const Rmkdir = 73;
export const Trenameat = 74;
export const Rrenameat = 75;
export const Tunlinkat = 76;
export const Runlinkat = 77;
export const Tversion = 100;
export const Rversion = 101;
export const Tauth = 102;
export const Rauth = 103;
export const Tattach = 104;
export const Rattach = 105;
export const Tflush = 108;
export const Rflush = 109;
export const Twalk = 110;
export const Rwalk = 111;
export const Tread = 116;
export const Rread = 117;
export const Twrite = 118;
export const Rwrite = 119;
export const Tclunk = 120;
export const Rclunk = 121;
export const Tremove = 122;
export const Rremove = 123;

export const NOTAG = 0xffff;
export const NOFID = 0xffffffff;
/** size[4] type[1] tag[2] */
export const HEADER_SIZE = 7;
/** Bytes of an Rread/Twrite header before the payload: size type tag count. */
export const IO_HEADER = 11;
/** The wire limit of walk elements (Linux MAXWELEM); the server allows fewer. */
export const MAX_WELEM = 16;

/** Decode failures (negative numbers). */
export const DecodeError = {
  /** A field runs past the end of the frame. */
  Truncated: -1,
  /** The type byte names no 9P2000.L message. */
  UnknownType: -2,
  /** Bytes are left after the last field. */
  TrailingBytes: -3,
  /** The size prefix disagrees with the bytes given, or is below the header size. */
  BadSize: -4,
  /** A count (walk names, qids) exceeds the wire limit. */
  TooMany: -5,
  /** The destination buffer cannot hold the encoded frame. */
  NoSpace: -6,
} as const;

/**
 * Field codes: b u8, h u16, w u32, q u64 (2 slots), s string, Q qid (4 slots),
 * D count[u32] + bytes, N nwname[u16] + names, M nwqid[u16] + qids.
 * N and M put their count in one slot; M then adds four slots per qid.
 */
const LAYOUT_TYPES = [
  Rlerror,
  Tstatfs,
  Rstatfs,
  Tlopen,
  Rlopen,
  Tlcreate,
  Rlcreate,
  Tsymlink,
  Rsymlink,
  Tmknod,
  Rmknod,
  Trename,
  Rrename,
  Treadlink,
  Rreadlink,
  Tgetattr,
  Rgetattr,
  Tsetattr,
  Rsetattr,
  Txattrwalk,
  Rxattrwalk,
  Txattrcreate,
  Rxattrcreate,
  Treaddir,
  Rreaddir,
  Tfsync,
  Rfsync,
  Tlock,
  Rlock,
  Tgetlock,
  Rgetlock,
  Tlink,
  Rlink,
  Tmkdir,
  Rmkdir,
  Trenameat,
  Rrenameat,
  Tunlinkat,
  Runlinkat,
  Tversion,
  Rversion,
  Tauth,
  Rauth,
  Tattach,
  Rattach,
  Tflush,
  Rflush,
  Twalk,
  Rwalk,
  Tread,
  Rread,
  Twrite,
  Rwrite,
  Tclunk,
  Rclunk,
  Tremove,
  Rremove,
];
const LAYOUT_FIELDS = [
  "w",
  "w",
  "wwqqqqqqw",
  "ww",
  "Qw",
  "wswww",
  "Qw",
  "wssw",
  "Q",
  "wswwww",
  "Q",
  "wws",
  "",
  "w",
  "s",
  "wq",
  "qQwwwqqqqqqqqqqqqqqq",
  "wwwwwqqqqq",
  "",
  "wws",
  "q",
  "wsqw",
  "",
  "wqw",
  "D",
  "ww",
  "",
  "wbwqqws",
  "b",
  "wbqqws",
  "bqqws",
  "wws",
  "",
  "wsww",
  "Q",
  "wsws",
  "",
  "wsw",
  "",
  "ws",
  "ws",
  "wssw",
  "Q",
  "wwssw",
  "Q",
  "h",
  "",
  "wwN",
  "M",
  "wqw",
  "D",
  "wqD",
  "w",
  "w",
  "",
  "w",
  "",
];
const LAYOUT_NAMES = [
  "Rlerror",
  "Tstatfs",
  "Rstatfs",
  "Tlopen",
  "Rlopen",
  "Tlcreate",
  "Rlcreate",
  "Tsymlink",
  "Rsymlink",
  "Tmknod",
  "Rmknod",
  "Trename",
  "Rrename",
  "Treadlink",
  "Rreadlink",
  "Tgetattr",
  "Rgetattr",
  "Tsetattr",
  "Rsetattr",
  "Txattrwalk",
  "Rxattrwalk",
  "Txattrcreate",
  "Rxattrcreate",
  "Treaddir",
  "Rreaddir",
  "Tfsync",
  "Rfsync",
  "Tlock",
  "Rlock",
  "Tgetlock",
  "Rgetlock",
  "Tlink",
  "Rlink",
  "Tmkdir",
  "Rmkdir",
  "Trenameat",
  "Rrenameat",
  "Tunlinkat",
  "Runlinkat",
  "Tversion",
  "Rversion",
  "Tauth",
  "Rauth",
  "Tattach",
  "Rattach",
  "Tflush",
  "Rflush",
  "Twalk",
  "Rwalk",
  "Tread",
  "Rread",
  "Twrite",
  "Rwrite",
  "Tclunk",
  "Rclunk",
  "Tremove",
  "Rremove",
];

/** type number → layout index, or -1 (built once at module load). */
const LAYOUT_INDEX = new Int16Array(256);
for (let i = 0; i < 256; i++) LAYOUT_INDEX[i] = -1;
for (let i = 0; i < LAYOUT_TYPES.length; i++) LAYOUT_INDEX[LAYOUT_TYPES[i]] = i;

/** Every message type the codec knows, in table order (for tests and tools). */
export function messageTypes(): number[] {
  return LAYOUT_TYPES.slice();
}

/** The field layout string of a type, or "" with `knownType` false for unknown types. */
export function layoutOf(type: number): string {
  const i = type >= 0 && type < 256 ? LAYOUT_INDEX[type] : -1;
  return i < 0 ? "" : LAYOUT_FIELDS[i];
}

export function knownType(type: number): boolean {
  return type >= 0 && type < 256 && LAYOUT_INDEX[type] >= 0;
}

/** The message name of a type ("Twalk"), or "T?" for unknown types. */
export function messageName(type: number): string {
  const i = type >= 0 && type < 256 ? LAYOUT_INDEX[type] : -1;
  return i < 0 ? "T?" : LAYOUT_NAMES[i];
}

/** Numeric slots an Fcall holds: enough for Rgetattr (39) and an Rwalk of 16 qids (65). */
export const FCALL_NUMS = 72;
/** String slots: enough for a Twalk of 16 names. */
export const FCALL_STRS = 20;

/** A reusable decoded (or to-be-encoded) message. */
export class Fcall {
  type = 0;
  tag = 0;
  n: Float64Array = new Float64Array(FCALL_NUMS);
  nCount = 0;
  sBuf: Uint8Array = new Uint8Array(0);
  sOff: Int32Array = new Int32Array(FCALL_STRS);
  sLen: Int32Array = new Int32Array(FCALL_STRS);
  sCount = 0;
  dataBuf: Uint8Array = new Uint8Array(0);
  dataOff = 0;
  dataLen = 0;
}

/** Little-endian readers/writers by arithmetic (Porffor: no bit ops on values reaching 2^31). */
export function getU16(buf: Uint8Array, off: number): number {
  return buf[off] + buf[off + 1] * 256;
}

export function getU32(buf: Uint8Array, off: number): number {
  return buf[off] + buf[off + 1] * 256 + buf[off + 2] * 65536 + buf[off + 3] * 16777216;
}

export function putU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v % 256;
  buf[off + 1] = Math.floor(v / 256) % 256;
}

export function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v % 256;
  buf[off + 1] = Math.floor(v / 256) % 256;
  buf[off + 2] = Math.floor(v / 65536) % 256;
  buf[off + 3] = Math.floor(v / 16777216) % 256;
}

/** Copies len bytes; a plain loop because a `subarray` view per call would leak under Porffor. */
export function copyBytes(
  dst: Uint8Array,
  dstOff: number,
  src: Uint8Array,
  srcOff: number,
  len: number,
): void {
  for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i];
}

/**
 * Decodes one whole frame buf[off..off+len) into `f`. The size prefix must equal `len`.
 * Returns 0, or a negative `DecodeError`. On error `f` holds no usable message.
 */
export function decode(buf: Uint8Array, off: number, len: number, f: Fcall): number {
  if (len < HEADER_SIZE) return DecodeError.BadSize;
  if (getU32(buf, off) !== len) return DecodeError.BadSize;
  const type = buf[off + 4];
  const li = LAYOUT_INDEX[type];
  f.type = type;
  f.tag = getU16(buf, off + 5);
  f.nCount = 0;
  f.sCount = 0;
  f.dataLen = 0;
  f.dataOff = 0;
  f.sBuf = buf;
  f.dataBuf = buf;
  if (li < 0) return DecodeError.UnknownType;
  const layout = LAYOUT_FIELDS[li];
  const n = f.n;
  const sOff = f.sOff;
  const sLen = f.sLen;
  const end = off + len;
  let p = off + HEADER_SIZE;
  let ni = 0;
  let si = 0;
  for (let k = 0; k < layout.length; k++) {
    const c = layout.charCodeAt(k);
    if (c === 98) { // b
      if (p + 1 > end) return DecodeError.Truncated;
      n[ni++] = buf[p];
      p += 1;
    } else if (c === 104) { // h
      if (p + 2 > end) return DecodeError.Truncated;
      n[ni++] = getU16(buf, p);
      p += 2;
    } else if (c === 119) { // w
      if (p + 4 > end) return DecodeError.Truncated;
      n[ni++] = getU32(buf, p);
      p += 4;
    } else if (c === 113) { // q
      if (p + 8 > end) return DecodeError.Truncated;
      n[ni++] = getU32(buf, p);
      n[ni++] = getU32(buf, p + 4);
      p += 8;
    } else if (c === 115) { // s
      if (p + 2 > end) return DecodeError.Truncated;
      const sl = getU16(buf, p);
      if (p + 2 + sl > end) return DecodeError.Truncated;
      sOff[si] = p + 2;
      sLen[si] = sl;
      si++;
      p += 2 + sl;
    } else if (c === 81) { // Q
      if (p + 13 > end) return DecodeError.Truncated;
      n[ni++] = buf[p];
      n[ni++] = getU32(buf, p + 1);
      n[ni++] = getU32(buf, p + 5);
      n[ni++] = getU32(buf, p + 9);
      p += 13;
    } else if (c === 68) { // D
      if (p + 4 > end) return DecodeError.Truncated;
      const dl = getU32(buf, p);
      if (p + 4 + dl > end) return DecodeError.Truncated;
      n[ni++] = dl;
      f.dataOff = p + 4;
      f.dataLen = dl;
      p += 4 + dl;
    } else if (c === 78) { // N
      if (p + 2 > end) return DecodeError.Truncated;
      const cnt = getU16(buf, p);
      if (cnt > MAX_WELEM) return DecodeError.TooMany;
      n[ni++] = cnt;
      p += 2;
      for (let j = 0; j < cnt; j++) {
        if (p + 2 > end) return DecodeError.Truncated;
        const sl = getU16(buf, p);
        if (p + 2 + sl > end) return DecodeError.Truncated;
        sOff[si] = p + 2;
        sLen[si] = sl;
        si++;
        p += 2 + sl;
      }
    } else { // M
      if (p + 2 > end) return DecodeError.Truncated;
      const cnt = getU16(buf, p);
      if (cnt > MAX_WELEM) return DecodeError.TooMany;
      n[ni++] = cnt;
      p += 2;
      if (p + 13 * cnt > end) return DecodeError.Truncated;
      for (let j = 0; j < cnt; j++) {
        n[ni++] = buf[p];
        n[ni++] = getU32(buf, p + 1);
        n[ni++] = getU32(buf, p + 5);
        n[ni++] = getU32(buf, p + 9);
        p += 13;
      }
    }
  }
  if (p !== end) return DecodeError.TrailingBytes;
  f.nCount = ni;
  f.sCount = si;
  return 0;
}

/**
 * Encodes `f` as one frame into dst[off..off+cap). Strings come from `f.sBuf` ranges, the data
 * payload from `f.dataBuf`. Returns the frame length, or a negative `DecodeError`.
 */
export function encode(f: Fcall, dst: Uint8Array, off: number, cap: number): number {
  const type = f.type;
  const li = type >= 0 && type < 256 ? LAYOUT_INDEX[type] : -1;
  if (li < 0) return DecodeError.UnknownType;
  const layout = LAYOUT_FIELDS[li];
  const n = f.n;
  const sOff = f.sOff;
  const sLen = f.sLen;
  const sBuf = f.sBuf;
  const end = off + cap;
  if (HEADER_SIZE > cap) return DecodeError.NoSpace;
  dst[off + 4] = type;
  putU16(dst, off + 5, f.tag);
  let p = off + HEADER_SIZE;
  let ni = 0;
  let si = 0;
  for (let k = 0; k < layout.length; k++) {
    const c = layout.charCodeAt(k);
    if (c === 98) {
      if (p + 1 > end) return DecodeError.NoSpace;
      dst[p] = n[ni++] % 256;
      p += 1;
    } else if (c === 104) {
      if (p + 2 > end) return DecodeError.NoSpace;
      putU16(dst, p, n[ni++]);
      p += 2;
    } else if (c === 119) {
      if (p + 4 > end) return DecodeError.NoSpace;
      putU32(dst, p, n[ni++]);
      p += 4;
    } else if (c === 113) {
      if (p + 8 > end) return DecodeError.NoSpace;
      putU32(dst, p, n[ni++]);
      putU32(dst, p + 4, n[ni++]);
      p += 8;
    } else if (c === 115) {
      const sl = sLen[si];
      if (p + 2 + sl > end) return DecodeError.NoSpace;
      putU16(dst, p, sl);
      copyBytes(dst, p + 2, sBuf, sOff[si], sl);
      si++;
      p += 2 + sl;
    } else if (c === 81) {
      if (p + 13 > end) return DecodeError.NoSpace;
      dst[p] = n[ni++] % 256;
      putU32(dst, p + 1, n[ni++]);
      putU32(dst, p + 5, n[ni++]);
      putU32(dst, p + 9, n[ni++]);
      p += 13;
    } else if (c === 68) {
      const dl = f.dataLen;
      if (p + 4 + dl > end) return DecodeError.NoSpace;
      ni++;
      putU32(dst, p, dl);
      copyBytes(dst, p + 4, f.dataBuf, f.dataOff, dl);
      p += 4 + dl;
    } else if (c === 78) {
      const cnt = n[ni++];
      if (cnt > MAX_WELEM) return DecodeError.TooMany;
      if (p + 2 > end) return DecodeError.NoSpace;
      putU16(dst, p, cnt);
      p += 2;
      for (let j = 0; j < cnt; j++) {
        const sl = sLen[si];
        if (p + 2 + sl > end) return DecodeError.NoSpace;
        putU16(dst, p, sl);
        copyBytes(dst, p + 2, sBuf, sOff[si], sl);
        si++;
        p += 2 + sl;
      }
    } else {
      const cnt = n[ni++];
      if (cnt > MAX_WELEM) return DecodeError.TooMany;
      if (p + 2 + 13 * cnt > end) return DecodeError.NoSpace;
      putU16(dst, p, cnt);
      p += 2;
      for (let j = 0; j < cnt; j++) {
        dst[p] = n[ni++] % 256;
        putU32(dst, p + 1, n[ni++]);
        putU32(dst, p + 5, n[ni++]);
        putU32(dst, p + 9, n[ni++]);
        p += 13;
      }
    }
  }
  putU32(dst, off, p - off);
  return p - off;
}
