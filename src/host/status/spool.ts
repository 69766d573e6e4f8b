/** The spool-store lines of `cohesix status --offline`: a read-only look, nothing is repaired. */
import { inspectSpool, type SpoolLimits } from "../spool/store.ts";

export interface SpoolSummary {
  dir: string;
  name: string;
  records: number;
  bytes: number;
  torn: number;
  firstSeq: number | null;
  lastSeq: number | null;
  limits: SpoolLimits;
}

export async function spoolSummary(dir: string): Promise<SpoolSummary> {
  const s = await inspectSpool(dir);
  const seqs = s.records.map((r) => r.seq);
  return {
    dir,
    name: s.name,
    records: s.records.length,
    bytes: s.bytes,
    torn: s.torn,
    firstSeq: seqs.length ? seqs[0] : null,
    lastSeq: seqs.length ? seqs[seqs.length - 1] : null,
    limits: s.limits,
  };
}

export function formatSpool(s: SpoolSummary): string {
  const range = s.firstSeq === null ? "empty" : `seq ${s.firstSeq}..${s.lastSeq}`;
  return `spool      ${s.name} at ${s.dir}: ${s.records}/${s.limits.maxRecords} records, ` +
    `${s.bytes}/${s.limits.maxBytes} bytes (${range}), torn ${s.torn}` +
    (s.torn ? " (dropped at the next open)" : "");
}
