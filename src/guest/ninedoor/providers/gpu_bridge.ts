/**
 * The GPU bridge's files (namespace reference §5, Milestones 6/6a/22), mounted when `[gpu.bridge]`
 * is enabled:
 * - `/gpu/bridge/ctl` (AO, queen): the host bridge's snapshot upload (GpuSnapshotStore);
 *   `/gpu/bridge/status` (RO): `state=idle|receiving bytes=<n>|ok bytes=<n> sha256=<hex>|err reason=<d>`.
 * - `/gpu/<uuid>/info` (RO) for every GPU of the last snapshot (bridged GPUs sit beside the simulated ones).
 * - `/gpu/<id>/lease` (RO): `gpu-lease/v1` lines of a simulated GPU (GpuLeaseQueue), at most 1024 bytes.
 * - `/gpu/models/available/<model>/manifest.toml` (RO, from the snapshot), `/gpu/models/active` (the
 *   pointer, a control file so the policy gate and audit journal see each switch: a write names an
 *   available model; reads give it), `/gpu/telemetry/schema.json` (RO).
 * - A configured GPU whose id the snapshot names (its nvidia-smi uuid) shows the bridge's info.
 * It also serves two writes of the core GPU files through `NineDoor.gpuHooks`: `LEASE` on
 * `/gpu/<id>/ctl` and `gpu-breadcrumb/v1` lines on `/gpu/<id>/status` (at most 512 bytes each).
 * Porffor: state is allocated in the constructor; a bridged GPU or model seen for the first time
 * allocates its directory name (bounded by max_gpus / max_models).
 */
import { allocI32, allocU8, sizedWriter } from "../alloc.ts";
import type { BootConfig, GpuBridgeSpec } from "../../boot.ts";
import { decodeUtf8, equalsAscii, startsWithAscii } from "../../lib/bytes.ts";
import type { ByteWriter } from "../../lib/bytes.ts";
import { EINVAL, EMSGSIZE, ENOENT, EROFS } from "../../../secure9p/errors.ts";
import type { GpuHooks } from "../extension.ts";
import { GbRecords, GpuSnapshotStore } from "../gpu_snapshot.ts";
import { GpuLeaseQueue } from "../gpu_leases.ts";
import { JsonType } from "../json.ts";
import type { LoraExportFiles } from "./lora_export.ts";
import type { NineDoor } from "../ninedoor.ts";
import { type Provider, readRendered, trimmedLen } from "../provider.ts";
import { Access } from "../tree.ts";

const Kind = { BridgeCtl: 1, BridgeStatus: 2, Info: 3, Manifest: 4, Active: 5, Schema: 6, Lease: 7 } as const;
export const BREADCRUMB_MAX = 512;
const MODEL_ID_MAX = 64;

/** Boot nodes: bridge dir, ctl, status; models, available, active; telemetry, schema.json. */
const GB_BOOT_NODES = 8;

export function gpuBridgeNodeCount(boot: BootConfig): number {
  const b = boot.ecosystem.gpuBridge;
  if (!b.enable) return 0;
  return GB_BOOT_NODES + boot.gpus.length + 2 * b.maxGpus + 2 * b.maxModels;
}

/** `gpu-telemetry/v1`: the learning-loop record schema (Milestone 6a), served as a constant. */
const TELEMETRY_SCHEMA = '{"schema":"gpu-telemetry/v1","max_record_bytes":4096,"append_only":true,' +
  '"required":["schema_version","device_id","model_id","time_window","token_count","latency_histogram"],' +
  '"optional":["lora_id","confidence","entropy","drift","operator_feedback"],' +
  '"fields":{"schema_version":"string","device_id":"string","model_id":"string","lora_id":"string|null",' +
  '"time_window":{"start_ms":"u64","end_ms":"u64"},"token_count":"u64",' +
  '"latency_histogram":{"buckets_ms":"u32[]","counts":"u64[]"}},' +
  '"paths":["/gpu/telemetry","/worker/<id>/telemetry","/queen/export/lora_jobs/<job>/telemetry.cbor"]}\n';

export class GpuBridgeFiles implements Provider, GpuHooks {
  provId = -1;
  private gbNd: NineDoor;
  private gbSpec: GpuBridgeSpec;
  gbStore: GpuSnapshotStore;
  gbLeases: GpuLeaseQueue;
  private gbGpuDir = -1;
  private gbAvailDir = -1;
  private gbActive: Uint8Array = allocU8(MODEL_ID_MAX);
  private gbActiveLen = 0;
  private gbPrev: Uint8Array = allocU8(MODEL_ID_MAX);
  private gbPrevLen = 0;
  private gbLine: ByteWriter = sizedWriter(BREADCRUMB_MAX + 2);
  /** For each configured GPU: the live bridged record with its id, or -1 (its info stays simulated). */
  private gbSimRec: Int32Array;
  /** Where an EXIT OK breadcrumb naming a `lora_job` freezes the job's export. */
  private gbLora: LoraExportFiles;

  constructor(nd: NineDoor, lora: LoraExportFiles) {
    this.gbNd = nd;
    this.gbLora = lora;
    const spec = nd.boot.ecosystem.gpuBridge;
    this.gbSpec = spec;
    this.gbStore = new GpuSnapshotStore(spec.enable ? spec.snapshotMaxBytes : 0, spec.enable ? spec.maxGpus : 0, spec.enable ? spec.maxModels : 0);
    this.gbLeases = new GpuLeaseQueue(nd, spec.enable ? spec.leaseQueue : 0);
    this.gbSimRec = allocI32(nd.gpus.count);
    const sr = this.gbSimRec;
    for (let g = 0; g < nd.gpus.count; g++) sr[g] = -1;
  }

  mountNodes(): void {
    if (!this.gbSpec.enable) return;
    const nd = this.gbNd;
    const t = nd.tree;
    const id = this.provId;
    const gpu = t.child(0, GPU_NAME, 0, 3);
    if (gpu < 0) return;
    this.gbGpuDir = gpu;
    nd.gpuHooks = this;
    const sim = nd.gpus;
    for (let g = 0; g < sim.count; g++) {
      const d = t.child(gpu, this.gbIdBytes(g), 0, sim.ids[g].length);
      if (d >= 0) t.add(d, "lease", id, Kind.Lease, Access.ReadOnly, g, 0);
    }
    const br = t.addDir(gpu, "bridge", 0, 0);
    t.add(br, "ctl", id, Kind.BridgeCtl, Access.AppendOnly, 0, 0);
    t.add(br, "status", id, Kind.BridgeStatus, Access.ReadOnly, 0, 0);
    const models = t.addDir(gpu, "models", 0, 0);
    this.gbAvailDir = t.addDir(models, "available", 0, 0);
    // A control file: the policy gate can require an approval for it and the audit journal records each switch.
    t.add(models, "active", id, Kind.Active, Access.Control, 0, 0);
    const tel = t.addDir(gpu, "telemetry", 0, 0);
    t.add(tel, "schema.json", id, Kind.Schema, Access.ReadOnly, 0, 0);
  }

  private gbIdScratch: Uint8Array = allocU8(64);
  private gbIdBytes(g: number): Uint8Array {
    const s = this.gbNd.gpus.ids[g];
    const b = this.gbIdScratch;
    for (let i = 0; i < s.length && i < 64; i++) b[i] = s.charCodeAt(i);
    return b;
  }

  nodeRead(kind: number, arg: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    const w = this.gbNd.scratch;
    w.reset();
    const st = this.gbStore;
    if (kind === Kind.BridgeStatus) st.gsRender(w);
    else if (kind === Kind.Info) {
      const r = st.gpusLive;
      w.bytes(r.grBody, arg * r.grMax, r.grBodyLen[arg]);
      w.byte(10);
    } else if (kind === Kind.Manifest) {
      const r = st.modelsLive;
      w.bytes(r.grBody, arg * r.grMax, r.grBodyLen[arg]);
    } else if (kind === Kind.Active) {
      if (this.gbActiveLen > 0) {
        w.bytes(this.gbActive, 0, this.gbActiveLen);
        w.byte(10);
      }
    } else if (kind === Kind.Schema) w.ascii(TELEMETRY_SCHEMA);
    else if (kind === Kind.Lease) this.gbLeases.lqRender(arg, w);
    else return 0;
    return readRendered(w, offset, dst, dstOff, count);
  }

  nodeWrite(_s: number, kind: number, _arg: number, src: Uint8Array, srcOff: number, count: number): number {
    const len = trimmedLen(src, srcOff, count);
    let r = 0;
    if (kind === Kind.BridgeCtl) r = this.gbCtl(src, srcOff, len);
    else if (kind === Kind.Active) r = this.gbActivate(src, srcOff, len);
    else return -EROFS;
    return r < 0 ? r : count;
  }

  nodeSize(_kind: number, _arg: number): number {
    return 0;
  }

  nodeStart(_kind: number, _arg: number): number {
    return 0;
  }

  onTick(): void {}

  onClock(_nowMs: number): void {
    if (this.gbSpec.enable) this.gbLeases.lqPump();
  }

  // ---- GpuHooks ------------------------------------------------------------------------------------

  ghInfo(g: number, w: ByteWriter): boolean {
    const i = this.gbSimRec[g];
    if (i < 0) return false;
    const r = this.gbStore.gpusLive;
    w.bytes(r.grBody, i * r.grMax, r.grBodyLen[i]);
    w.byte(10);
    return true;
  }

  ghLease(g: number, src: Uint8Array, off: number, len: number): number {
    return this.gbLeases.lqRequest(g, src, off, len);
  }

  /**
   * One `gpu-breadcrumb/v1` line on `/gpu/<id>/status`: a JSON object with schema, event, command,
   * status and exit_code (optional duration_ms, worker_id, lora_job), at most 512 bytes with its newline.
   */
  ghBreadcrumb(g: number, src: Uint8Array, off: number, count: number): number {
    const len = trimmedLen(src, off, count);
    if (len + 1 > BREADCRUMB_MAX) return -EMSGSIZE;
    const t = this.gbNd.parser.tokens;
    if (t.parse(src, off, len) < 0 || t.type[0] !== JsonType.Object) return -EINVAL;
    let seen = 0;
    let i = 1;
    let exitOk = 0;
    let code = -1;
    let ms = 0;
    let job = -1;
    let worker = -1;
    for (let p = 0; p < t.size[0]; p++) {
      const v = i + 1;
      const ty = t.type[v];
      let bit = 0;
      if (t.is(i, "schema")) bit = t.is(v, "gpu-breadcrumb/v1") && ty === JsonType.String ? 1 : -1;
      else if (t.is(i, "event")) bit = ty === JsonType.String && t.end[v] > t.start[v] ? 2 : -1;
      else if (t.is(i, "command")) bit = ty === JsonType.String ? 4 : -1;
      else if (t.is(i, "status")) bit = ty === JsonType.String && bcStatus(src, t.start[v], t.end[v] - t.start[v]) ? 8 : -1;
      else if (t.is(i, "exit_code")) bit = ty === JsonType.Number || ty === JsonType.Literal ? 16 : -1;
      else if (t.is(i, "duration_ms")) bit = ty === JsonType.Number ? 32 : -1;
      else if (t.is(i, "worker_id")) bit = ty === JsonType.String ? 64 : -1;
      else if (t.is(i, "lora_job")) bit = ty === JsonType.String ? 128 : -1;
      if (bit === 2 && t.is(v, "EXIT")) exitOk++;
      if (bit === 8 && t.is(v, "OK")) exitOk++;
      if (bit === 16) code = t.uint(v);
      if (bit === 32) ms = t.uint(v);
      if (bit === 64) worker = v;
      if (bit === 128) job = v;
      if (bit < 0 || bit === 0 || Math.floor(seen / bit) % 2 === 1) return -EINVAL;
      seen += bit;
      i = t.next[v];
    }
    if (seen % 32 !== 31) return -EINVAL;
    if (job >= 0) {
      // A finished LoRA job: EXIT, OK, exit code 0, its worker named; its export is frozen first.
      if (exitOk !== 2 || code !== 0 || worker < 0 || ms < 0) return -EINVAL;
      const r = this.gbLora.lxRecord(g, src, t.start[job], t.end[job] - t.start[job], t.start[worker], t.end[worker] - t.start[worker], code, ms, this.gbActive, this.gbActiveLen);
      if (r < 0) return r;
    }
    const lw = this.gbLine;
    lw.reset();
    lw.bytes(src, off, len);
    lw.byte(10);
    if (lw.overflow) return -EMSGSIZE;
    this.gbNd.gpus.status.append(g, lw.buf, 0, lw.len);
    return count;
  }

  // ---- bridge upload ----------------------------------------------------------------------------------

  private gbCtl(src: Uint8Array, off: number, len: number): number {
    const st = this.gbStore;
    let why = "";
    if (startsWithAscii(src, off, len, "begin ")) why = st.gsBegin(src, off, len);
    else if (startsWithAscii(src, off, len, "b64:")) why = st.gsData(src, off, len);
    else if (equalsAscii(src, off, len, "end")) {
      why = st.gsEnd();
      if (why === "") why = this.gbApply();
      if (why === "") {
        this.gbLog("ok", "");
        return 0;
      }
    } else why = "unknown-command";
    if (why === "") return 0;
    // Errors before a begin leave the state as it was (reference: Invalid, "gpu bridge ... without begin").
    if (why !== "data-without-begin" && why !== "end-without-begin" && why !== "unknown-command") {
      st.gsState = 3;
      st.gsReason = why;
    }
    this.gbLog("err", why);
    return why === "too-big" || why === "over-length" ? -EMSGSIZE : -EINVAL;
  }

  private gbLog(outcome: string, reason: string): void {
    const nd = this.gbNd;
    const lw = nd.lw;
    lw.reset();
    lw.ascii("gpu-bridge outcome=");
    lw.ascii(outcome);
    if (reason.length > 0) {
      lw.ascii(" reason=");
      lw.ascii(reason);
    } else {
      lw.labelUint(" bytes=", this.gbStore.gsOkBytes);
      lw.labelUint(" gpus=", this.gbStore.gpusLive.grCount);
      lw.labelUint(" models=", this.gbStore.modelsLive.grCount);
    }
    nd.logLine();
  }

  /** Makes the staged snapshot live: checks names against the tree, then swaps tables and nodes. */
  private gbApply(): string {
    const st = this.gbStore;
    const sim = this.gbNd.gpus;
    if (st.gsHasGpus) {
      const s = st.gpusStage;
      for (let i = 0; i < s.grCount; i++) {
        const off = i * 64;
        const n = s.grNameLen[i];
        if (reservedName(s.grName, off, n)) return "name-taken";
      }
    }
    if (st.gsHasModels && this.gbActiveLen > 0 && st.modelsStage.grFind(this.gbActive, 0, this.gbActiveLen) < 0) {
      return "active-model-removed";
    }
    if (st.gsHasGpus) {
      this.gbSwap(st.gpusLive, st.gpusStage, this.gbGpuDir, "info", Kind.Info);
      const old = st.gpusLive;
      st.gpusLive = st.gpusStage;
      st.gpusStage = old;
    }
    // Configured GPUs the snapshot names (same id) take its info; the others show simulated info.
    const live = st.gpusLive;
    const sr = this.gbSimRec;
    for (let g = 0; g < sim.count; g++) sr[g] = -1;
    for (let i = 0; i < live.grCount; i++) {
      const g = sim.indexOf(live.grName, i * 64, live.grNameLen[i]);
      if (g >= 0) sr[g] = i;
    }
    if (st.gsHasModels) {
      this.gbSwap(st.modelsLive, st.modelsStage, this.gbAvailDir, "manifest.toml", Kind.Manifest);
      const old = st.modelsLive;
      st.modelsLive = st.modelsStage;
      st.modelsStage = old;
    }
    return "";
  }

  /**
   * Moves directories from `live` to `stage` by name, drops the ones the new snapshot lacks, adds new
   * ones, so `stage` can become the live table (the caller swaps them).
   */
  private gbSwap(live: GbRecords, stage: GbRecords, parent: number, file: string, kind: number): void {
    const nd = this.gbNd;
    const t = nd.tree;
    const sd = stage.grDir;
    const ld = live.grDir;
    for (let i = 0; i < stage.grCount; i++) {
      const j = live.grFind(stage.grName, i * 64, stage.grNameLen[i]);
      sd[i] = j >= 0 ? ld[j] : -1;
      if (j >= 0) ld[j] = -1;
    }
    for (let j = 0; j < live.grCount; j++) {
      if (ld[j] >= 0) nd.dropSubtree(ld[j]);
      ld[j] = -1;
    }
    const args = t.arg;
    const now = Math.floor(nd.nowMs / 1000);
    const sim = nd.gpus;
    for (let i = 0; i < stage.grCount; i++) {
      // A configured GPU already has its directory (core provider): no second one.
      if (kind === Kind.Info && sim.indexOf(stage.grName, i * 64, stage.grNameLen[i]) >= 0) sd[i] = -1;
      else if (sd[i] < 0) {
        const name = decodeUtf8(stage.grName, i * 64, stage.grNameLen[i]);
        sd[i] = t.addDir(parent, name, 0, now);
        t.add(sd[i], file, this.provId, kind, Access.ReadOnly, i, now);
      } else {
        args[t.firstChild[sd[i]]] = i;
        const mt = t.mtime;
        mt[t.firstChild[sd[i]]] = now;
      }
    }
    live.grCount = 0;
  }

  // ---- models ---------------------------------------------------------------------------------------------

  /** `/gpu/models/active`: names an available model; the previous one is kept for the log (rollback is the host's). */
  private gbActivate(src: Uint8Array, off: number, len: number): number {
    const models = this.gbStore.modelsLive;
    if (len < 1 || len > MODEL_ID_MAX) return -EINVAL;
    if (models.grFind(src, off, len) < 0) return -ENOENT;
    const prev = this.gbPrev;
    const act = this.gbActive;
    for (let i = 0; i < this.gbActiveLen; i++) prev[i] = act[i];
    this.gbPrevLen = this.gbActiveLen;
    for (let i = 0; i < len; i++) act[i] = src[off + i];
    this.gbActiveLen = len;
    const nd = this.gbNd;
    const lw = nd.lw;
    lw.reset();
    lw.ascii("gpu-model activate model=");
    lw.bytes(act, 0, len);
    lw.ascii(" previous=");
    if (this.gbPrevLen === 0) lw.ascii("none");
    else lw.bytes(prev, 0, this.gbPrevLen);
    nd.logLine();
    return 0;
  }
}

const GPU_NAME: Uint8Array = asciiBytes("gpu");

function asciiBytes(s: string): Uint8Array {
  const b = allocU8(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

function reservedName(b: Uint8Array, off: number, n: number): boolean {
  return equalsAscii(b, off, n, "bridge") || equalsAscii(b, off, n, "models") || equalsAscii(b, off, n, "telemetry");
}

function bcStatus(b: Uint8Array, off: number, n: number): boolean {
  return equalsAscii(b, off, n, "QUEUED") || equalsAscii(b, off, n, "RUNNING") || equalsAscii(b, off, n, "OK") ||
    equalsAscii(b, off, n, "ERR");
}
