/**
 * A GPU lease as `cohesix run` holds it: asks with `LEASE` on /gpu/<id>/ctl, waits in the hive's
 * priority queue until /gpu/<id>/lease shows its request ACTIVE (the worker id comes from there),
 * appends gpu-breadcrumb/v1 lines to /gpu/<id>/status and releases with `RELEASE`.
 */
import { ENOENT } from "../../secure9p/errors.ts";
import { NineError } from "../../secure9p/host/client.ts";
import type { HiveLink } from "../cli/hive_link.ts";

export interface LeaseAsk {
  gpu: string;
  request: string;
  memMb: number;
  streams: number;
  ttlS: number;
  priority: number;
}

export interface LeaseLine {
  schema: string;
  state: "ACTIVE" | "QUEUED" | "FREE" | "RELEASED" | "EXPIRED";
  gpu_id: string;
  worker_id: string | null;
  request?: string;
  position?: number;
}

export const BREADCRUMB_SCHEMA = "gpu-breadcrumb/v1";
export const BREADCRUMB_MAX = 512;

export function parseLeaseFile(text: string): LeaseLine[] {
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as LeaseLine);
}

export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunError";
  }
}

/** Sends the LEASE request; refusals become RunErrors that say what to change. */
export async function requestLease(link: HiveLink, a: LeaseAsk): Promise<void> {
  const line = `LEASE req=${a.request} mem_mb=${a.memMb} streams=${a.streams} ttl_s=${a.ttlS} priority=${a.priority}`;
  try {
    await link.writeLines(`/gpu/${a.gpu}/ctl`, [line]);
  } catch (e) {
    if (e instanceof NineError && e.errno === ENOENT && e.op === "walk") {
      throw new RunError(`the hive has no GPU '${a.gpu}'; list them with 'cohesix cohsh' -> ls /gpu`);
    }
    if (e instanceof NineError) {
      throw new RunError(
        `the hive refused 'LEASE' on /gpu/${a.gpu}/ctl (${e.message}); check --mem-mb/--ttl-s against /gpu/${a.gpu}/info, ` +
          `that the lease queue is not full, and that the hive's manifest enables [gpu.bridge]`,
      );
    }
    throw e;
  }
}

/**
 * Waits until the request holds the GPU; returns the worker id. `onQueued` hears the queue position
 * each time it changes. Polls the lease file (the hive has no change notification on files).
 */
export async function awaitGrant(
  link: HiveLink,
  a: LeaseAsk,
  onQueued: (position: number) => void,
  cancelled: () => boolean,
): Promise<string> {
  let last = -1;
  for (;;) {
    const lines = parseLeaseFile(await link.read(`/gpu/${a.gpu}/lease`));
    const mine = lines.find((l) => l.request === a.request && (l.state === "ACTIVE" || l.state === "QUEUED"));
    if (mine?.state === "ACTIVE" && mine.worker_id) return mine.worker_id;
    if (!mine) {
      const ended = lines.find((l) => l.request === a.request);
      throw new RunError(
        ended ? `the lease ended (${ended.state}) before the command could start` : `the hive dropped lease request ${a.request}`,
      );
    }
    if (mine.position !== undefined && mine.position !== last) {
      last = mine.position;
      onQueued(last);
    }
    if (cancelled()) throw new RunError("cancelled while queued for the GPU");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One gpu-breadcrumb/v1 line, the command shortened so the line stays within 512 bytes. */
export function breadcrumb(
  event: "START" | "EXIT",
  command: string,
  status: "RUNNING" | "OK" | "ERR",
  exitCode: number | null,
  extra: { duration_ms?: number; worker_id?: string; lora_job?: string } = {},
): string {
  let cmd = command;
  for (;;) {
    const line = JSON.stringify({ schema: BREADCRUMB_SCHEMA, event, command: cmd, status, exit_code: exitCode, ...extra });
    if (new TextEncoder().encode(line).length + 1 <= BREADCRUMB_MAX) return line;
    cmd = cmd.slice(0, Math.max(0, cmd.length - 16 - (new TextEncoder().encode(line).length - BREADCRUMB_MAX))) + "...";
  }
}

/** Releases the GPU if this request still holds it (never someone else's lease after ours expired). */
export async function release(link: HiveLink, a: LeaseAsk): Promise<"released" | "expired" | "ended"> {
  const lines = parseLeaseFile(await link.read(`/gpu/${a.gpu}/lease`));
  const mine = lines.find((l) => l.request === a.request);
  if (mine?.state !== "ACTIVE") return mine?.state === "EXPIRED" ? "expired" : "ended";
  await link.writeLines(`/gpu/${a.gpu}/ctl`, ["RELEASE"]);
  return "released";
}

/** Withdraws a request still waiting in the queue (a run stopped before its turn). */
export async function cancel(link: HiveLink, a: LeaseAsk): Promise<void> {
  try {
    await link.writeLines(`/gpu/${a.gpu}/ctl`, [`CANCEL req=${a.request}`]);
  } catch (e) {
    // ENOENT: it was granted or ended meanwhile; the release path covers a grant.
    if (!(e instanceof NineError)) throw e;
  }
}
