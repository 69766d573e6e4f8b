/**
 * The memory model behind the "budgets exceed the profile's memory" red line. The guest has no GC and
 * allocates every table at boot, so its footprint is the sum of these fixed sizes. Object overhead uses
 * the measured ~16 KiB per long-lived object of the native (Porffor) build.
 */
import type { ManifestIR } from "./schema.ts";
import { casManifestCap } from "../guest/updates/manifest_reader.ts";

/** Bytes one long-lived guest object costs on the native build. */
export const OBJECT_BYTES = 16384;
/** Long-lived objects per worker (record, telemetry ring, trace node) and per session (state, fid table). */
export const OBJECTS_PER_WORKER = 3;
export const OBJECTS_PER_SESSION = 2;
/** Bytes per fid slot in a session's fixed fid table. */
export const FID_SLOT_BYTES = 64;

export interface Budget {
  frames: number;
  fid_tables: number;
  telemetry: number;
  ingest: number;
  trace: number;
  log: number;
  ecosystem: number;
  /** `[cas]`: the chunk slab and one manifest staging buffer per epoch (casStagingBytes). */
  cas: number;
  objects: number;
  total: number;
  limit: number;
}

/** Computes the boot-time footprint of a manifest, in bytes. */
export function computeBudget(ir: ManifestIR): Budget {
  const s = ir.secure9p;
  const frames = s.msize * 2 * s.max_sessions;
  const fid_tables = s.max_sessions * s.max_fids_per_session * FID_SLOT_BYTES;
  const telemetry = ir.telemetry.ring_bytes_per_worker * ir.profile.max_workers;
  const trace = ir.trace.ring_bytes + ir.trace.worker_ring_bytes * ir.profile.max_workers;
  const ti = ir.telemetry_ingest;
  // Ingest segments are preallocated: every device slot x every segment slot x the segment size.
  const ingest = ti.max_devices * ti.max_segments_per_device * ti.max_bytes_per_segment;
  const log = ir.log.queen_log_bytes;
  const eco = ir.ecosystem;
  // Audit: both journal rings and the replay records (128 target + 256 payload bytes each, twice: the
  // records and the fresh state a replay applies them to). Policy: the queue bytes and 160 per approval.
  const ecosystem = (eco.audit.enable ? eco.audit.journal_max_bytes + eco.audit.decisions_max_bytes : 0) +
    (eco.audit.enable && eco.audit.replay_enable ? eco.audit.replay_max_entries * (384 + 128) : 0) +
    (eco.policy.enable ? eco.policy.queue_max_bytes + eco.policy.queue_max_entries * 160 : 0);
  const c = ir.cas;
  const cas = c.enable ? c.store.max_bytes + c.store.max_epochs * casManifestCap(c.store.max_chunks) : 0;
  const objects = OBJECT_BYTES * (ir.profile.max_workers * OBJECTS_PER_WORKER + s.max_sessions * OBJECTS_PER_SESSION);
  const total = frames + fid_tables + telemetry + ingest + trace + log + ecosystem + cas + objects;
  return { frames, fid_tables, telemetry, ingest, trace, log, ecosystem, cas, objects, total, limit: ir.profile.memory_bytes };
}
