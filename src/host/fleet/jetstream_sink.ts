/**
 * Publishes hive telemetry lines and events to NATS JetStream (npm `@nats-io/transport-node` +
 * `@nats-io/jetstream`) and recovers the fleet's cursors from the stream itself, so the fleet keeps
 * no local state: a restarted `cohesix fleet` asks JetStream for the last message of each hive and of
 * each worker and resumes after it.
 *
 * Subjects: `cohesix.<hive>.telemetry.<worker>` (one message per line) and `cohesix.<hive>.events`
 * (JSON). Every message carries the hive's sequence number as its `Nats-Msg-Id` (`<hive>-<seq>`), so a
 * publish retried after a lost ack is dropped by the stream's duplicate window, and headers with the
 * hive boot, the worker's end offset and the hive's spawn count, which are the cursor on recovery.
 */
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, type JetStreamClient, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";

/** One message ready to publish; `seq` is the hive's sequence number. */
export interface OutMsg {
  hive: string;
  seq: number;
  boot: string;
  spawned: number;
  /** Worker id for telemetry, "" for an event. */
  worker: string;
  /** Telemetry: the ring offset just past this line. */
  offsetEnd: number;
  data: string;
}

/** What JetStream last stored for a hive (or a worker of it). */
export interface StoredCursor {
  seq: number;
  boot: string;
  spawned: number;
  offsetEnd: number;
}

/** Where the fleet publishes; implemented by JetStream (and by nothing else in production). */
export interface FleetSink {
  hiveHead(hive: string): Promise<StoredCursor | null>;
  workerHead(hive: string, worker: string): Promise<StoredCursor | null>;
  /** Publishes every message; resolves when all are stored (duplicates count as stored). */
  publish(batch: OutMsg[]): Promise<void>;
  close(): Promise<void>;
}

export const H_SEQ = "Cohesix-Seq";
export const H_BOOT = "Cohesix-Boot";
export const H_OFFSET = "Cohesix-Offset";
export const H_SPAWNED = "Cohesix-Spawned";

const enc = new TextEncoder();

export function telemetrySubject(hive: string, worker: string): string {
  return `cohesix.${hive}.telemetry.${worker}`;
}

export function eventsSubject(hive: string): string {
  return `cohesix.${hive}.events`;
}

/** A NATS subject token may not hold `.`, `*`, `>` or whitespace; worker ids are mapped, not refused. */
export function subjectToken(s: string): string {
  return s.replace(/[.*>\s]/g, "_");
}

export class JetStreamSink implements FleetSink {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly stream: string,
  ) {}

  /**
   * Connects (the client reconnects by itself forever) and makes sure the stream exists with
   * `cohesix.>` as its subjects; an existing stream is used as it is.
   */
  static async open(url: string, stream: string, duplicateWindowMs = 120_000): Promise<JetStreamSink> {
    const nc = await connect({
      servers: url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      name: "cohesix-fleet",
    });
    try {
      const jsm = await jetstreamManager(nc);
      try {
        await jsm.streams.info(stream);
      } catch {
        await jsm.streams.add({
          name: stream,
          subjects: ["cohesix.>"],
          duplicate_window: duplicateWindowMs * 1_000_000,
        });
      }
      return new JetStreamSink(nc, jetstream(nc, { timeout: 10_000 }), jsm, stream);
    } catch (e) {
      await nc.close();
      throw e;
    }
  }

  private async head(subject: string): Promise<StoredCursor | null> {
    const m = await this.jsm.streams.getMessage(this.stream, { last_by_subj: subject });
    if (m === null) return null;
    const h = m.header;
    return {
      seq: Number(h.get(H_SEQ) || 0),
      boot: h.get(H_BOOT) || "",
      spawned: Number(h.get(H_SPAWNED) || 0),
      offsetEnd: Number(h.get(H_OFFSET) || 0),
    };
  }

  hiveHead(hive: string): Promise<StoredCursor | null> {
    return this.head(`cohesix.${hive}.>`);
  }

  workerHead(hive: string, worker: string): Promise<StoredCursor | null> {
    return this.head(telemetrySubject(hive, subjectToken(worker)));
  }

  async publish(batch: OutMsg[]): Promise<void> {
    const acks = batch.map((m) => {
      const h = headers();
      h.set(H_SEQ, String(m.seq));
      h.set(H_BOOT, m.boot);
      h.set(H_SPAWNED, String(m.spawned));
      if (m.worker !== "") h.set(H_OFFSET, String(m.offsetEnd));
      const subject = m.worker !== ""
        ? telemetrySubject(m.hive, subjectToken(m.worker))
        : eventsSubject(m.hive);
      return this.js.publish(subject, enc.encode(m.data), { msgID: `${m.hive}-${m.seq}`, headers: h });
    });
    const results = await Promise.allSettled(acks);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}
