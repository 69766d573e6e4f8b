/**
 * The output of `nvidia-smi --query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits`, parsed into
 * typed GPU rows. Fields nvidia-smi cannot report come as `[N/A]` or `[Not Supported]` and become
 * null; anything else that is not what the column promises is refused with the line number, so a
 * driver that changes its output never publishes half-understood GPUs.
 */

/** The columns asked for, in order (the parser relies on this order). */
export const QUERY_FIELDS = [
  "index",
  "uuid",
  "name",
  "pci.bus_id",
  "driver_version",
  "memory.total",
  "memory.used",
  "utilization.gpu",
  "temperature.gpu",
  "power.draw",
  "power.limit",
] as const;

/** The argv that asks nvidia-smi for the columns above. */
export const NVIDIA_SMI_ARGS = [`--query-gpu=${QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"];

export interface GpuRow {
  index: number;
  /** `GPU-<uuid>`: the stable id the hive names the GPU by (`/gpu/<uuid>/info`). */
  uuid: string;
  name: string;
  busId: string | null;
  driver: string | null;
  memTotalMb: number;
  memUsedMb: number | null;
  utilPct: number | null;
  tempC: number | null;
  powerW: number | null;
  powerLimitW: number | null;
}

export class SmiParseError extends Error {
  constructor(readonly line: number, message: string) {
    super(`nvidia-smi output line ${line}: ${message}`);
    this.name = "SmiParseError";
  }
}

const UUID = /^GPU-[0-9a-fA-F-]{8,64}$/;
/** Names and versions become JSON strings and 9P file names' neighbours: printable ASCII only. */
const PRINTABLE = /^[\x20-\x7e]{1,96}$/;

function missing(v: string): boolean {
  return v === "[N/A]" || v === "[Not Supported]" || v === "N/A" || v === "[Unknown Error]";
}

function num(line: number, field: string, v: string, integer: boolean, max: number): number | null {
  if (missing(v)) return null;
  const ok = integer ? /^\d+$/.test(v) : /^\d+(\.\d+)?$/.test(v);
  const n = Number(v);
  if (!ok || n > max) throw new SmiParseError(line, `${field} '${v}' is not a number in 0..${max}`);
  return n;
}

function text(line: number, field: string, v: string): string | null {
  if (missing(v)) return null;
  if (!PRINTABLE.test(v) || v.includes('"') || v.includes("\\")) {
    throw new SmiParseError(line, `${field} '${v}' has characters outside printable ASCII (or quotes)`);
  }
  return v;
}

/** Parses the whole CSV output; an empty output is no GPUs. */
export function parseNvidiaSmi(output: string): GpuRow[] {
  const rows: GpuRow[] = [];
  const seen = new Set<string>();
  const lines = output.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, "");
    if (raw.trim() === "") continue;
    const n = i + 1;
    const f = raw.split(",").map((s) => s.trim());
    if (f.length !== QUERY_FIELDS.length) {
      throw new SmiParseError(n, `${f.length} fields, expected ${QUERY_FIELDS.length} (${QUERY_FIELDS.join(",")})`);
    }
    const index = num(n, "index", f[0], true, 255);
    if (index === null) throw new SmiParseError(n, "index is missing");
    if (!UUID.test(f[1])) throw new SmiParseError(n, `uuid '${f[1]}' is not GPU-<hex>`);
    if (seen.has(f[1])) throw new SmiParseError(n, `uuid ${f[1]} is listed twice`);
    seen.add(f[1]);
    const name = text(n, "name", f[2]);
    if (name === null) throw new SmiParseError(n, "name is missing");
    const total = num(n, "memory.total", f[5], true, 1 << 24);
    if (total === null) throw new SmiParseError(n, "memory.total is missing");
    rows.push({
      index,
      uuid: f[1],
      name,
      busId: text(n, "pci.bus_id", f[3]),
      driver: text(n, "driver_version", f[4]),
      memTotalMb: total,
      memUsedMb: num(n, "memory.used", f[6], true, 1 << 24),
      utilPct: num(n, "utilization.gpu", f[7], true, 100),
      tempC: num(n, "temperature.gpu", f[8], true, 200),
      powerW: num(n, "power.draw", f[9], false, 100000),
      powerLimitW: num(n, "power.limit", f[10], false, 100000),
    });
  }
  return rows;
}

/**
 * The `/gpu/<uuid>/info` document of a bridged GPU: one JSON object, keys in a fixed order, so the
 * same nvidia-smi output always publishes the same bytes.
 */
export function infoJson(g: GpuRow): string {
  return JSON.stringify({
    id: g.uuid,
    index: g.index,
    model: g.name,
    bus_id: g.busId,
    driver: g.driver,
    mem_mb: g.memTotalMb,
    mem_used_mb: g.memUsedMb,
    util_pct: g.utilPct,
    temp_c: g.tempC,
    power_w: g.powerW,
    power_limit_w: g.powerLimitW,
    simulated: false,
  });
}
