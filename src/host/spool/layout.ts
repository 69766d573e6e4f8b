/**
 * The spool stores a fresh ESP carries (laid out by `cohesix image`): one store per kind, each in its
 * own directory so telemetry filling up never crowds out settings. Directory names are 8.3 short
 * names (see esp_backend.ts); the kind is the store's name in its bounds file.
 */
import type { FatFile } from "../../../images/fat.ts";
import { ESP_NAMING } from "./esp_backend.ts";
import { configBytes, type SpoolLimits } from "./store.ts";

export type SpoolKind = "settings" | "telemetry";

export const SPOOL_KINDS: Record<SpoolKind, { dir: string; limits: SpoolLimits }> = {
  settings: { dir: "SETTINGS", limits: { maxRecords: 64, maxBytes: 16 * 1024, maxRecordBytes: 4096 } },
  telemetry: {
    dir: "TELEMTRY",
    limits: { maxRecords: 256, maxBytes: 256 * 1024, maxRecordBytes: 16 * 1024 },
  },
};

export function isSpoolKind(k: string): k is SpoolKind {
  return Object.hasOwn(SPOOL_KINDS, k);
}

/** The bounds files of empty stores of every kind under `root` (a '/'-separated ESP directory). */
export function spoolLayoutFiles(root: string): FatFile[] {
  return (Object.keys(SPOOL_KINDS) as SpoolKind[]).map((kind) => ({
    path: `${root}/${SPOOL_KINDS[kind].dir}/${ESP_NAMING.config}`,
    data: configBytes(kind, SPOOL_KINDS[kind].limits),
  }));
}

/**
 * Upper bound of the ESP space the default stores can take when full: payload bytes plus, per
 * record, its 44-byte frame and one partly used cluster. `cohesix image` leaves at least this free.
 */
export function spoolReserveBytes(clusterBytes: number): number {
  return Object.values(SPOOL_KINDS).reduce(
    (n, { limits: l }) => n + l.maxBytes + l.maxRecords * (44 + clusterBytes),
    0,
  );
}
