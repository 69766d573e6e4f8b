/** The spool-store lines of `cohesix status --offline`: a read-only look, nothing is repaired. */
import { FatError } from "../../../images/fat.ts";
import { FatVolume } from "../../../images/fat_read.ts";
import { ESP_SPOOL_DIR } from "../image/artifacts.ts";
import { ESP_NAMING, EspBackend } from "../spool/esp_backend.ts";
import { inspectSpool, SpoolError, type SpoolLimits, type SpoolLocation } from "../spool/store.ts";

export interface SpoolSummary {
  dir: string;
  name: string;
  records: number;
  bytes: number;
  torn: number;
  firstSeq: number | null;
  lastSeq: number | null;
  limits: SpoolLimits;
  /** Set when the store's bounds file is damaged: the store is listed, not read. */
  error?: string;
}

export async function spoolSummary(at: SpoolLocation): Promise<SpoolSummary> {
  const s = await inspectSpool(at);
  const seqs = s.records.map((r) => r.seq);
  return {
    dir: typeof at === "string" ? at : at.where,
    name: s.name,
    records: s.records.length,
    bytes: s.bytes,
    torn: s.torn,
    firstSeq: seqs.length ? seqs[0] : null,
    lastSeq: seqs.length ? seqs[seqs.length - 1] : null,
    limits: s.limits,
  };
}

/**
 * Every spool store under the ESP's spool directory (none on an ESP built before stores existed).
 * A store whose bounds file is damaged is listed with the reason rather than hiding the image report.
 */
export async function espSpools(image: string): Promise<SpoolSummary[]> {
  const vol = new FatVolume(await Deno.readFile(image));
  let dirs;
  try {
    dirs = vol.list(ESP_SPOOL_DIR).filter((e) => e.isDir);
  } catch (err) {
    if (err instanceof FatError) return [];
    throw err;
  }
  const out: SpoolSummary[] = [];
  for (const d of dirs) {
    if (!vol.list(d.path).some((e) => !e.isDir && e.path.toUpperCase().endsWith(`/${ESP_NAMING.config}`))) {
      continue;
    }
    const backend = new EspBackend(image, d.path);
    try {
      out.push(await spoolSummary(backend));
    } catch (err) {
      if (!(err instanceof SpoolError)) throw err;
      out.push({
        dir: backend.where,
        name: d.path.slice(d.path.lastIndexOf("/") + 1),
        records: 0,
        bytes: 0,
        torn: 0,
        firstSeq: null,
        lastSeq: null,
        limits: { maxRecords: 0, maxBytes: 0, maxRecordBytes: 0 },
        error: err.message,
      });
    }
  }
  return out;
}

export function formatSpool(s: SpoolSummary): string {
  if (s.error) {
    return `spool      ${s.name} at ${s.dir}: DAMAGED (${s.error}); to keep its records, delete the bounds ` +
      `file (mdel) and write it again with 'cohesix spool init --esp ${s.dir} --kind K'`;
  }
  const range = s.firstSeq === null ? "empty" : `seq ${s.firstSeq}..${s.lastSeq}`;
  return `spool      ${s.name} at ${s.dir}: ${s.records}/${s.limits.maxRecords} records, ` +
    `${s.bytes}/${s.limits.maxBytes} bytes (${range}), torn ${s.torn}` +
    (s.torn ? " (dropped at the next open)" : "");
}
