/**
 * `/queen/export/lora_jobs/<job>/{telemetry.cbor,base_model.ref,policy.toml}` (RO; namespace
 * reference §6, Milestones 6a/23), mounted with `[gpu.bridge]`. A LoRA job is finished when a
 * `gpu-breadcrumb/v1` EXIT line with status OK names it (`"lora_job":"<id>"`, written by
 * `cohesix run --lora-job`): the hive then freezes what the job left — the worker's telemetry lines
 * (a CBOR array of text strings), the model active at that moment (base_model.ref) and the job's
 * policy (schema, bounds, gpu, worker, exit code, duration) — for `cohesix peft export` to pull.
 * At most LORA_JOBS jobs are kept; the oldest leaves when another arrives.
 * Porffor: buffers are allocated at boot; a new job allocates its directory name.
 */
import { allocF64, allocI32, allocU8 } from "../alloc.ts";
import { decodeUtf8 } from "../../lib/bytes.ts";
import type { ByteWriter } from "../../lib/bytes.ts";
import { EEXIST, EINVAL, EROFS } from "../../../secure9p/errors.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered, safeBytes } from "../provider.ts";
import { Access } from "../tree.ts";

export const LORA_JOBS = 4;
const JOB_ID_MAX = 32;
const TEL_MAX = 2048;
const REF_MAX = 64;
const Kind = { Telemetry: 1, BaseModel: 2, Policy: 3 } as const;

export function loraNodeCount(enabled: boolean): number {
  return enabled ? 2 + LORA_JOBS * 4 : 0;
}

export class LoraExportFiles implements Provider {
  provId = -1;
  private lxNd: NineDoor;
  private lxOn: boolean;
  private lxDir = -1;
  lxUsed: Uint8Array = allocU8(LORA_JOBS);
  lxId: Uint8Array = allocU8(LORA_JOBS * JOB_ID_MAX);
  lxIdLen: Int32Array = allocI32(LORA_JOBS);
  lxTel: Uint8Array = allocU8(LORA_JOBS * TEL_MAX);
  lxTelLen: Int32Array = allocI32(LORA_JOBS);
  lxRef: Uint8Array = allocU8(LORA_JOBS * REF_MAX);
  lxRefLen: Int32Array = allocI32(LORA_JOBS);
  lxGpu: Int32Array = allocI32(LORA_JOBS);
  lxWorker: Uint8Array = allocU8(LORA_JOBS * JOB_ID_MAX);
  lxWorkerLen: Int32Array = allocI32(LORA_JOBS);
  lxExit: Float64Array = allocF64(LORA_JOBS);
  lxMs: Float64Array = allocF64(LORA_JOBS);
  lxSeq: Float64Array = allocF64(LORA_JOBS);
  lxSlot: Int32Array = allocI32(LORA_JOBS);
  private lxNext = 1;

  constructor(nd: NineDoor) {
    this.lxNd = nd;
    this.lxOn = nd.boot.ecosystem.gpuBridge.enable;
  }

  mountNodes(): void {
    if (!this.lxOn) return;
    const t = this.lxNd.tree;
    const queen = t.child(0, QUEEN, 0, 5);
    if (queen < 0) return;
    let exp = t.child(queen, EXPORT, 0, 6);
    if (exp < 0) exp = t.addDir(queen, "export", 0, 0);
    this.lxDir = t.addDir(exp, "lora_jobs", 0, 0);
  }

  /**
   * Records finished job src[jobOff..+jobLen) of worker src[wOff..+wLen) on GPU `g` (exit code and
   * duration already parsed), with `model` the active model. 0 or -errno (EEXIST: job known).
   */
  lxRecord(
    g: number,
    src: Uint8Array,
    jobOff: number,
    jobLen: number,
    wOff: number,
    wLen: number,
    exitCode: number,
    ms: number,
    model: Uint8Array,
    modelLen: number,
  ): number {
    if (this.lxDir < 0) return -EINVAL;
    if (jobLen < 1 || jobLen > JOB_ID_MAX || !safeBytes(src, jobOff, jobLen)) return -EINVAL;
    if (wLen < 1 || wLen > JOB_ID_MAX) return -EINVAL;
    if (this.lxFind(src, jobOff, jobLen) >= 0) return -EEXIST;
    const nd = this.lxNd;
    const w = nd.workers.find(src, wOff, wLen);
    // A free entry, else the oldest job gives its place up.
    let k = -1;
    for (let i = 0; i < LORA_JOBS; i++) if (this.lxUsed[i] === 0 && k < 0) k = i;
    if (k < 0) {
      k = 0;
      for (let i = 1; i < LORA_JOBS; i++) if (this.lxSeq[i] < this.lxSeq[k]) k = i;
      nd.dropSubtree(this.lxSlot[k]);
    }
    const used = this.lxUsed;
    const id = this.lxId;
    const idLen = this.lxIdLen;
    const wk = this.lxWorker;
    const wkLen = this.lxWorkerLen;
    for (let i = 0; i < jobLen; i++) id[k * JOB_ID_MAX + i] = src[jobOff + i];
    idLen[k] = jobLen;
    for (let i = 0; i < wLen; i++) wk[k * JOB_ID_MAX + i] = src[wOff + i];
    wkLen[k] = wLen;
    // The worker's telemetry as it stands (whole lines that fit).
    const tl = this.lxTelLen;
    tl[k] = 0;
    if (w >= 0) {
      const rings = nd.telemetry;
      const from = rings.start[w];
      let n = rings.end[w] - from;
      if (n > TEL_MAX) n = TEL_MAX;
      const got = rings.read(w, from, this.lxTel, k * TEL_MAX, n);
      let keep = got > 0 ? got : 0;
      while (keep > 0 && this.lxTel[k * TEL_MAX + keep - 1] !== 10) keep--;
      tl[k] = keep;
    }
    const ref = this.lxRef;
    const refLen = this.lxRefLen;
    const n = modelLen > REF_MAX ? REF_MAX : modelLen;
    for (let i = 0; i < n; i++) ref[k * REF_MAX + i] = model[i];
    refLen[k] = n;
    const gp = this.lxGpu;
    const ex = this.lxExit;
    const dm = this.lxMs;
    const sq = this.lxSeq;
    gp[k] = g;
    ex[k] = exitCode;
    dm[k] = ms;
    sq[k] = this.lxNext;
    this.lxNext++;
    used[k] = 1;
    const t = nd.tree;
    const now = Math.floor(nd.nowMs / 1000);
    const dir = t.addDir(this.lxDir, decodeUtf8(id, k * JOB_ID_MAX, jobLen), k, now);
    const slots = this.lxSlot;
    slots[k] = dir;
    t.add(dir, "telemetry.cbor", this.provId, Kind.Telemetry, Access.ReadOnly, k, now);
    t.add(dir, "base_model.ref", this.provId, Kind.BaseModel, Access.ReadOnly, k, now);
    t.add(dir, "policy.toml", this.provId, Kind.Policy, Access.ReadOnly, k, now);
    const lw = nd.lw;
    lw.reset();
    lw.ascii("lora-job export job=");
    lw.bytes(id, k * JOB_ID_MAX, jobLen);
    lw.ascii(" worker=");
    lw.bytes(wk, k * JOB_ID_MAX, wLen);
    lw.labelUint(" telemetry_bytes=", tl[k]);
    nd.logLine();
    return 0;
  }

  private lxFind(src: Uint8Array, off: number, len: number): number {
    for (let k = 0; k < LORA_JOBS; k++) {
      if (this.lxUsed[k] === 0 || this.lxIdLen[k] !== len) continue;
      let same = true;
      for (let i = 0; i < len; i++) if (this.lxId[k * JOB_ID_MAX + i] !== src[off + i]) same = false;
      if (same) return k;
    }
    return -1;
  }

  nodeRead(kind: number, k: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    const w = this.lxNd.scratch;
    w.reset();
    if (kind === Kind.Telemetry) this.lxCbor(w, k);
    else if (kind === Kind.BaseModel) {
      if (this.lxRefLen[k] === 0) w.ascii("none");
      else w.bytes(this.lxRef, k * REF_MAX, this.lxRefLen[k]);
      w.byte(10);
    } else if (kind === Kind.Policy) this.lxPolicy(w, k);
    else return 0;
    return readRendered(w, offset, dst, dstOff, count);
  }

  /** The telemetry lines as one CBOR array of text strings (RFC 8949 major types 4 and 3). */
  private lxCbor(w: ByteWriter, k: number): void {
    const tel = this.lxTel;
    const base = k * TEL_MAX;
    const len = this.lxTelLen[k];
    let lines = 0;
    for (let i = 0; i < len; i++) if (tel[base + i] === 10) lines++;
    lxHead(w, 128, lines);
    let start = 0;
    for (let i = 0; i < len; i++) {
      if (tel[base + i] !== 10) continue;
      lxHead(w, 96, i - start);
      w.bytes(tel, base + start, i - start);
      start = i + 1;
    }
  }

  private lxPolicy(w: ByteWriter, k: number): void {
    w.ascii("schema = \"gpu-telemetry/v1\"\njob = \"");
    w.bytes(this.lxId, k * JOB_ID_MAX, this.lxIdLen[k]);
    w.ascii("\"\ngpu_id = \"");
    w.ascii(this.lxNd.gpus.ids[this.lxGpu[k]]);
    w.ascii("\"\nworker_id = \"");
    w.bytes(this.lxWorker, k * JOB_ID_MAX, this.lxWorkerLen[k]);
    w.labelUint("\"\nexit_code = ", this.lxExit[k]);
    w.labelUint("\nduration_ms = ", this.lxMs[k]);
    w.labelUint("\nmax_record_bytes = ", 4096);
    w.labelUint("\ntelemetry_bytes = ", this.lxTelLen[k]);
    w.byte(10);
  }

  nodeWrite(_s: number, _kind: number, _arg: number, _src: Uint8Array, _off: number, _count: number): number {
    return -EROFS;
  }

  nodeSize(_kind: number, _arg: number): number {
    return 0;
  }

  nodeStart(_kind: number, _arg: number): number {
    return 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {}
}

/** A CBOR head: major type `major` (already times 32) with argument n (< 65536). */
function lxHead(w: ByteWriter, major: number, n: number): void {
  if (n < 24) w.byte(major + n);
  else if (n < 256) {
    w.byte(major + 24);
    w.byte(n);
  } else {
    w.byte(major + 25);
    w.byte(Math.floor(n / 256));
    w.byte(n % 256);
  }
}

const QUEEN: Uint8Array = lxAscii("queen");
const EXPORT: Uint8Array = lxAscii("export");

function lxAscii(s: string): Uint8Array {
  const b = allocU8(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}
