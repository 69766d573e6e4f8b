/**
 * `GpuSnapshotStore`: receives the host bridge's snapshot on /gpu/bridge/ctl (namespace reference §5:
 * `begin bytes=<n> sha256=<hex>`, `b64:<chunk>` lines, `end`) and keeps what the last good one said:
 * bridged GPUs (uuid + info JSON) and available models (id + manifest.toml). The snapshot is checked
 * whole (length, sha256, every record) into a staging table before anything changes, so a bad upload
 * leaves the published state as it was. Format (src/host/gpu/snapshot.ts):
 *   `cohesix-gpu-snapshot/v1 gpus=<0|1> models=<0|1>\n` then records `<gpu|model> <name> <n>\n<n bytes>\n`.
 * Porffor: every buffer is allocated here, at boot; requests only copy bytes.
 */
import { allocI32, allocU8 } from "./alloc.ts";
import { equalsAscii, startsWithAscii } from "../lib/bytes.ts";
import type { ByteWriter } from "../lib/bytes.ts";
import { Sha256 } from "../lib/sha256.ts";
import { safeBytes } from "./provider.ts";

export const GB_INFO_MAX = 512;
export const GB_MANIFEST_MAX = 1024;
export const GB_NAME_MAX = 64;
const HEADER = "cohesix-gpu-snapshot/v1 gpus=";

export const UpState = { Idle: 0, Receiving: 1, Ok: 2, Err: 3 } as const;

/** One table of named byte records (bridged GPUs or models): live and staged copies. */
export class GbRecords {
  readonly grCap: number;
  readonly grMax: number;
  grCount = 0;
  grName: Uint8Array;
  grNameLen: Int32Array;
  grBody: Uint8Array;
  grBodyLen: Int32Array;
  /** Node slot of the record's directory (-1: not mounted yet); the provider keeps it. */
  grDir: Int32Array;

  constructor(cap: number, maxBody: number) {
    this.grCap = cap;
    this.grMax = maxBody;
    this.grName = allocU8(cap * GB_NAME_MAX);
    this.grNameLen = allocI32(cap);
    this.grBody = allocU8(cap * maxBody);
    this.grBodyLen = allocI32(cap);
    this.grDir = allocI32(cap);
    const d = this.grDir;
    for (let i = 0; i < cap; i++) d[i] = -1;
  }

  grFind(buf: Uint8Array, off: number, len: number): number {
    const names = this.grName;
    for (let i = 0; i < this.grCount; i++) {
      if (this.grNameLen[i] !== len) continue;
      let same = true;
      for (let k = 0; k < len; k++) if (names[i * GB_NAME_MAX + k] !== buf[off + k]) same = false;
      if (same) return i;
    }
    return -1;
  }

  /** Appends a record (caller checked room and sizes). */
  grPush(src: Uint8Array, nameOff: number, nameLen: number, bodyOff: number, bodyLen: number): void {
    const i = this.grCount;
    const names = this.grName;
    const body = this.grBody;
    const nl = this.grNameLen;
    const bl = this.grBodyLen;
    for (let k = 0; k < nameLen; k++) names[i * GB_NAME_MAX + k] = src[nameOff + k];
    for (let k = 0; k < bodyLen; k++) body[i * this.grMax + k] = src[bodyOff + k];
    nl[i] = nameLen;
    bl[i] = bodyLen;
    this.grCount = i + 1;
  }
}

export class GpuSnapshotStore {
  gsState: number = UpState.Idle;
  /** Bytes announced by `begin`, bytes received so far. */
  gsExpect = 0;
  gsHave = 0;
  gsBuf: Uint8Array;
  gsWant: Uint8Array = allocU8(32);
  gsGot: Uint8Array = allocU8(32);
  /** The last good snapshot: size and digest. */
  gsOkBytes = 0;
  gsOkDigest: Uint8Array = allocU8(32);
  gsReason = "";
  gsApplied = 0;
  gpusLive: GbRecords;
  gpusStage: GbRecords;
  modelsLive: GbRecords;
  modelsStage: GbRecords;
  /** Which sets the staged snapshot replaces. */
  gsHasGpus = false;
  gsHasModels = false;
  private gsSha: Sha256 = new Sha256();

  constructor(maxBytes: number, maxGpus: number, maxModels: number) {
    this.gsBuf = allocU8(maxBytes);
    this.gpusLive = new GbRecords(maxGpus, GB_INFO_MAX);
    this.gpusStage = new GbRecords(maxGpus, GB_INFO_MAX);
    this.modelsLive = new GbRecords(maxModels, GB_MANIFEST_MAX);
    this.modelsStage = new GbRecords(maxModels, GB_MANIFEST_MAX);
  }

  private gsFail(reason: string): void {
    this.gsState = UpState.Err;
    this.gsReason = reason;
  }

  /** `begin bytes=<n> sha256=<64 hex>`: 0, or a reason when refused (state err). */
  gsBegin(src: Uint8Array, off: number, len: number): string {
    if (!startsWithAscii(src, off, len, "begin bytes=")) return this.gsRefuse("bad-begin");
    let p = off + 12;
    const end = off + len;
    let n = 0;
    let digits = 0;
    while (p < end && src[p] >= 48 && src[p] <= 57 && digits < 9) {
      n = n * 10 + (src[p] - 48);
      p++;
      digits++;
    }
    if (digits === 0 || end - p !== 72 || !startsWithAscii(src, p, end - p, " sha256=")) return this.gsRefuse("bad-begin");
    if (n > this.gsBuf.length) return this.gsRefuse("too-big");
    const want = this.gsWant;
    for (let i = 0; i < 32; i++) {
      const hi = hexVal(src[p + 8 + 2 * i]);
      const lo = hexVal(src[p + 9 + 2 * i]);
      if (hi < 0 || lo < 0) return this.gsRefuse("bad-begin");
      want[i] = hi * 16 + lo;
    }
    this.gsExpect = n;
    this.gsHave = 0;
    this.gsState = UpState.Receiving;
    return "";
  }

  private gsRefuse(reason: string): string {
    this.gsFail(reason);
    return reason;
  }

  /** `b64:<chunk>`: decodes into the upload buffer. */
  gsData(src: Uint8Array, off: number, len: number): string {
    if (this.gsState !== UpState.Receiving) return "data-without-begin";
    const buf = this.gsBuf;
    let have = this.gsHave;
    let acc = 0;
    let bits = 0;
    let pad = 0;
    for (let i = off + 4; i < off + len; i++) {
      const c = src[i];
      if (c === 61) {
        pad++;
        continue;
      }
      const v = b64Val(c);
      if (v < 0 || pad > 0) return this.gsRefuse("bad-base64");
      acc = acc * 64 + v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        const p2 = bits === 0 ? 1 : bits === 2 ? 4 : 16;
        const b = Math.floor(acc / p2);
        acc = acc % p2;
        if (have >= this.gsExpect) return this.gsRefuse("over-length");
        buf[have] = b;
        have++;
      }
    }
    if ((len - 4) % 4 !== 0 || pad > 2) return this.gsRefuse("bad-base64");
    this.gsHave = have;
    return "";
  }

  /** `end`: checks length and digest, then stages and applies the snapshot. */
  gsEnd(): string {
    if (this.gsState !== UpState.Receiving) return "end-without-begin";
    if (this.gsHave !== this.gsExpect) return this.gsRefuse("short");
    const got = this.gsGot;
    this.gsSha.digest(this.gsBuf, 0, this.gsHave, got, 0);
    for (let i = 0; i < 32; i++) if (got[i] !== this.gsWant[i]) return this.gsRefuse("sha256-mismatch");
    const why = this.gsStage(this.gsBuf, this.gsHave);
    if (why !== "") return this.gsRefuse(why);
    this.gsState = UpState.Ok;
    this.gsOkBytes = this.gsHave;
    const d = this.gsOkDigest;
    for (let i = 0; i < 32; i++) d[i] = got[i];
    this.gsApplied++;
    return "";
  }

  /** Parses the snapshot into the staging tables; "" or why it is refused. */
  private gsStage(b: Uint8Array, n: number): string {
    const hl = HEADER.length;
    if (n < hl + 10 || !startsWithAscii(b, 0, hl, HEADER)) return "bad-header";
    const g = b[hl];
    if ((g !== 48 && g !== 49) || !startsWithAscii(b, hl + 1, 8, " models=")) return "bad-header";
    const m = b[hl + 9];
    if ((m !== 48 && m !== 49) || b[hl + 10] !== 10) return "bad-header";
    this.gsHasGpus = g === 49;
    this.gsHasModels = m === 49;
    const gs = this.gpusStage;
    const ms = this.modelsStage;
    gs.grCount = 0;
    ms.grCount = 0;
    let p = hl + 11;
    while (p < n) {
      let kind = 0;
      if (startsWithAscii(b, p, n - p, "gpu ")) kind = 1;
      else if (startsWithAscii(b, p, n - p, "model ")) kind = 2;
      else return "bad-record";
      const nameOff = p + (kind === 1 ? 4 : 6);
      let q = nameOff;
      while (q < n && b[q] !== 32) q++;
      const nameLen = q - nameOff;
      if (q >= n || nameLen < 1 || nameLen > GB_NAME_MAX || !safeBytes(b, nameOff, nameLen)) return "bad-name";
      if (equalsAscii(b, nameOff, nameLen, ".") || equalsAscii(b, nameOff, nameLen, "..")) return "bad-name";
      q++;
      let len = 0;
      let digits = 0;
      while (q < n && b[q] >= 48 && b[q] <= 57 && digits < 6) {
        len = len * 10 + (b[q] - 48);
        q++;
        digits++;
      }
      if (digits === 0 || q >= n || b[q] !== 10) return "bad-record";
      const bodyOff = q + 1;
      if (bodyOff + len + 1 > n || b[bodyOff + len] !== 10) return "bad-length";
      const t = kind === 1 ? gs : ms;
      if (kind === 1 && !this.gsHasGpus) return "gpu-record-without-gpus-1";
      if (kind === 2 && !this.gsHasModels) return "model-record-without-models-1";
      if (t.grCount >= t.grCap) return kind === 1 ? "too-many-gpus" : "too-many-models";
      if (len > t.grMax) return kind === 1 ? "info-too-big" : "manifest-too-big";
      if (t.grFind(b, nameOff, nameLen) >= 0) return "duplicate-name";
      // A bridged GPU's info is one JSON object on one line.
      if (kind === 1 && (len < 2 || b[bodyOff] !== 123 || b[bodyOff + len - 1] !== 125 || hasByte(b, bodyOff, len, 10))) {
        return "bad-info";
      }
      t.grPush(b, nameOff, nameLen, bodyOff, len);
      p = bodyOff + len + 1;
    }
    return "";
  }

  /** `/gpu/bridge/status`. */
  gsRender(w: ByteWriter): void {
    const st = this.gsState;
    if (st === UpState.Idle) w.ascii("state=idle");
    else if (st === UpState.Receiving) w.labelUint("state=receiving bytes=", this.gsHave);
    else if (st === UpState.Ok) {
      w.labelUint("state=ok bytes=", this.gsOkBytes);
      w.ascii(" sha256=");
      hexOut(w, this.gsOkDigest, 32);
    } else {
      w.ascii("state=err reason=");
      w.ascii(this.gsReason);
    }
    w.byte(10);
  }
}

function hasByte(b: Uint8Array, off: number, len: number, v: number): boolean {
  for (let i = 0; i < len; i++) if (b[off + i] === v) return true;
  return false;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function b64Val(c: number): number {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c === 43) return 62;
  if (c === 47) return 63;
  return -1;
}

const HEX = "0123456789abcdef";

export function hexOut(w: ByteWriter, src: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    w.byte(HEX.charCodeAt(Math.floor(src[i] / 16)));
    w.byte(HEX.charCodeAt(src[i] % 16));
  }
}
