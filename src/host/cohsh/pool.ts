/**
 * Session pooling for bulk work (seeds Milestone 15): `size` sessions to the hive, each with up to
 * `batch` writes in flight, fed from one queue of records, under the manifest's retry policy.
 *
 * Retries never duplicate: a batch whose connection dropped is *uncertain* (the hive may have
 * applied some writes before the drop), so after reconnecting the pool reads the file back and
 * re-sends only the records that are not there. Records therefore carry a unique token (the run id
 * and a sequence number). A refusal from the hive (a permission or quota error) is not retried.
 *
 * `pool bench path=P ops=N batch=B` (the cohsh verb) writes N such records and reports what it
 * expected and what the read-back observed: `OK POOL bench … expected=N observed=N duplicates=0`.
 */
import type { ClientPolicy } from "../../codegen/emit/client_policy.ts";
import { TransportError } from "./transport.ts";

/** One pooled session. */
export interface PoolSession {
  /**
   * Appends each record as one line to `path`; resolves with null (accepted) or the hive's refusal
   * code (an errno name) per record. Throws TransportError when the connection dropped (the batch's outcome is unknown).
   */
  appendBatch(path: string, records: string[]): Promise<(string | null)[]>;
  /** The file's current text (for the read-back). */
  readText(path: string): Promise<string>;
  close(): void;
}

/**
 * Opens one session, attached as the shell's role, able to keep `batch` writes in flight. Throws
 * TransportError when the hive is unreachable, PoolRefusal when it refuses the attach.
 */
export type SessionFactory = (batch: number) => Promise<PoolSession>;

export type RetryPolicy = ClientPolicy["retry"];

export interface PoolRunStats {
  sessions: number;
  sent: number;
  /** Records sent again after a drop (the read-back did not find them). */
  resent: number;
  reconnects: number;
}

/** The hive refused (an errno name such as EROFS, or a console reason): not retried, the run stops. */
export class PoolRefusal extends Error {
  constructor(readonly code: string, readonly path: string) {
    super(`${code} path=${path}`);
    this.name = "PoolRefusal";
  }
}

export const MAX_POOL_OPS = 100000;
export const MAX_POOL_BATCH = 32;

/**
 * Appends every record to `path` through `size` sessions. `landed(session, records)` returns the
 * indexes (into `records`) the hive already holds; it is asked only after a drop.
 */
export async function poolAppend(
  open: SessionFactory,
  size: number,
  batch: number,
  path: string,
  records: string[],
  retry: RetryPolicy,
  landed: (s: PoolSession) => Promise<Set<number>>,
  notice: (line: string) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<PoolRunStats> {
  const stats: PoolRunStats = { sessions: size, sent: 0, resent: 0, reconnects: 0 };
  const opened = await Promise.allSettled(Array.from({ length: size }, () => open(batch)));
  const sessions = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
  const failed = opened.find((o) => o.status === "rejected");
  if (failed) {
    for (const s of sessions) s.close();
    throw (failed as PromiseRejectedResult).reason;
  }
  let next = 0;
  let stop: Error | null = null;

  const reconnect = async (slot: number): Promise<PoolSession> => {
    let delay = retry.backoff_ms;
    let last = "";
    for (let attempt = 1; attempt <= retry.max_attempts; attempt++) {
      notice(`cohsh: pool session ${slot + 1} lost its connection; reconnecting (try ${attempt} of ${retry.max_attempts}) in ${delay} ms`);
      await sleep(delay);
      try {
        const s = await open(batch);
        stats.reconnects++;
        return s;
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        last = e.message;
      }
      delay = Math.min(delay * 2, retry.ceiling_ms);
    }
    throw new TransportError(`pool session ${slot + 1} could not reconnect after ${retry.max_attempts} tries (${last})`);
  };

  const send = async (s: PoolSession, idxs: number[]): Promise<void> => {
    const out = await s.appendBatch(path, idxs.map((i) => records[i]));
    stats.sent += idxs.length;
    const refused = out.find((r) => r !== null);
    if (refused) throw new PoolRefusal(refused, path);
  };

  const worker = async (slot: number): Promise<void> => {
    let s = sessions[slot];
    while (stop === null && next < records.length) {
      let idxs: number[] = [];
      for (; idxs.length < batch && next < records.length; next++) idxs.push(next);
      for (;;) {
        try {
          await send(s, idxs);
          break;
        } catch (e) {
          if (!(e instanceof TransportError)) throw e;
          s.close();
          s = await reconnect(slot);
          sessions[slot] = s;
          const have = await landed(s);
          idxs = idxs.filter((i) => !have.has(i));
          stats.resent += idxs.length;
          if (idxs.length === 0) break;
        }
      }
    }
  };

  try {
    await Promise.all(sessions.map((_, slot) =>
      worker(slot).catch((e) => {
        stop ??= e as Error;
      })
    ));
    if (stop !== null) throw stop;
    return stats;
  } finally {
    for (const s of sessions) s.close();
  }
}

export interface PoolBenchArgs {
  path: string;
  ops: number;
  batch: number;
}

/** Parses `pool bench path=P ops=N [batch=B]`; a string is the usage error. */
export function parsePoolBench(rest: string): PoolBenchArgs | string {
  const usage = `pool bench path=<file> ops=<1..${MAX_POOL_OPS}> [batch=<1..${MAX_POOL_BATCH}>]`;
  const words = rest.trim().split(/\s+/).filter((w) => w !== "");
  if (words[0] !== "bench") return `pool: '${words[0] ?? ""}' is not a pool command (${usage})`;
  const kv = new Map<string, string>();
  for (const w of words.slice(1)) {
    const m = /^(path|ops|batch)=(\S+)$/.exec(w);
    if (!m) return `pool bench: '${w}' is not path=, ops= or batch= (${usage})`;
    if (kv.has(m[1])) return `pool bench: ${m[1]} given twice`;
    kv.set(m[1], m[2]);
  }
  const path = kv.get("path");
  if (path === undefined || !path.startsWith("/") || path.length > 96) {
    return `pool bench: path= must be an absolute path of at most 96 bytes (${usage})`;
  }
  const int = (k: string, def: number | undefined, max: number): number | string => {
    const v = kv.get(k);
    if (v === undefined) return def ?? `pool bench: ${k}= is required (${usage})`;
    if (!/^\d{1,6}$/.test(v) || Number(v) < 1 || Number(v) > max) return `pool bench: ${k} must be 1..${max}, got '${v}'`;
    return Number(v);
  };
  const ops = int("ops", undefined, MAX_POOL_OPS);
  if (typeof ops === "string") return ops;
  const batch = int("batch", 1, MAX_POOL_BATCH);
  if (typeof batch === "string") return batch;
  return { path, ops, batch };
}

/** Counts this run's records in a read-back: distinct sequence numbers and repeats. */
export function countRecords(text: string, run: string): { seen: Set<number>; duplicates: number } {
  const seen = new Set<number>();
  let duplicates = 0;
  const marker = `pool-bench run=${run} seq=`;
  for (const line of text.split("\n")) {
    const at = line.indexOf(marker);
    if (at < 0) continue;
    const seq = Number(line.slice(at + marker.length));
    if (!Number.isInteger(seq)) continue;
    if (seen.has(seq)) duplicates++;
    else seen.add(seq);
  }
  return { seen, duplicates };
}

/**
 * Runs `pool bench` and returns the reply lines (the ack last). The run id makes this run's records
 * unique in a shared file; it is not printed, so the transcript is the same on every run.
 */
export async function poolBench(
  args: PoolBenchArgs,
  open: SessionFactory,
  size: number,
  retry: RetryPolicy,
  notice: (line: string) => void,
): Promise<string> {
  const run = crypto.randomUUID().slice(0, 8);
  const records = Array.from({ length: args.ops }, (_, i) => `pool-bench run=${run} seq=${i}`);
  const landed = async (s: PoolSession) => countRecords(await s.readText(args.path), run).seen;
  let stats: PoolRunStats;
  try {
    stats = await poolAppend(open, size, args.batch, args.path, records, retry, landed, notice);
  } catch (e) {
    if (e instanceof PoolRefusal) return `ERR POOL reason=refused detail=${e.code} path=${e.path}`;
    if (e instanceof TransportError) {
      notice(`cohsh: pool bench stopped: ${e.message}`);
      return `ERR POOL reason=unreachable detail=retries-exhausted attempts=${retry.max_attempts}`;
    }
    throw e;
  }
  const reader = await open(1);
  let counted: { seen: Set<number>; duplicates: number };
  try {
    counted = countRecords(await reader.readText(args.path), run);
  } finally {
    reader.close();
  }
  return `OK POOL bench path=${args.path} sessions=${stats.sessions} ops=${args.ops} batch=${args.batch} ` +
    `expected=${args.ops} observed=${counted.seen.size} duplicates=${counted.duplicates} resent=${stats.resent}`;
}
