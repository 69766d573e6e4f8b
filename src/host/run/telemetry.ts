/**
 * Streams a command's output lines into a worker's telemetry file, in order, one write per line
 * (`{"run":"<request>","stream":"stdout|stderr","line":"..."}`, at most 512 bytes). The telemetry
 * path is the legacy alias /worker/<id>/telemetry when the hive has it, else the shard path.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { NineError } from "../../secure9p/host/client.ts";
import type { HiveLink } from "../cli/hive_link.ts";

const RECORD_MAX = 512;

export async function telemetryPath(link: HiveLink, worker: string): Promise<string> {
  const alias = `/worker/${worker}/telemetry`;
  try {
    await link.read(alias);
    return alias;
  } catch (e) {
    if (!(e instanceof NineError)) throw e;
  }
  const label = sha256(new TextEncoder().encode(worker))[0].toString(16).padStart(2, "0");
  return `/shard/${label}/worker/${worker}/telemetry`;
}

export class TelemetrySink {
  private chain: Promise<void> = Promise.resolve();
  lines = 0;
  refused = 0;

  constructor(private link: HiveLink, private path: string, private request: string) {}

  /** Queues one output line (writes stay in order; a refused write is counted, not fatal). */
  push(stream: "stdout" | "stderr", line: string): void {
    let rec = JSON.stringify({ run: this.request, stream, line });
    while (new TextEncoder().encode(rec).length > RECORD_MAX) {
      line = line.slice(0, Math.floor(line.length * 0.8));
      rec = JSON.stringify({ run: this.request, stream, line, truncated: true });
    }
    this.chain = this.chain.then(async () => {
      try {
        await this.link.writeLines(this.path, [rec]);
        this.lines++;
      } catch (e) {
        if (!(e instanceof NineError)) throw e;
        this.refused++;
      }
    });
  }

  flushed(): Promise<void> {
    return this.chain;
  }
}
