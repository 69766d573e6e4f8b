/**
 * `cohesix fleet` into a real `nats-server -js`: every telemetry line a hive wrote is in the stream
 * exactly once, across a fleet restart (a new Fleet with no memory, cursors recovered from the
 * stream), a hive restart on the same port (worker ids and ring offsets start again at 0), and a
 * NATS server restart while the fleet runs (batches re-sent with the same Nats-Msg-Id).
 */
import { connect } from "@nats-io/transport-node";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { assert, assertEquals } from "../support/assert.ts";
import { Fleet } from "../../src/host/fleet/fleet.ts";
import { H_BOOT, H_SEQ } from "../../src/host/fleet/jetstream_sink.ts";
import { startNats, TestHive, until } from "./engines.ts";

const dec = new TextDecoder();
const STREAM = "COHESIX";

interface Stored {
  subject: string;
  data: string;
  boot: string;
  seq: number;
}

async function readStream(jsm: JetStreamManager): Promise<Stored[]> {
  const info = await jsm.streams.info(STREAM);
  const out: Stored[] = [];
  for (let s = info.state.first_seq; s <= info.state.last_seq && info.state.messages > 0; s++) {
    const m = await jsm.streams.getMessage(STREAM, { seq: s });
    if (!m) continue;
    out.push({
      subject: m.subject,
      data: dec.decode(m.data),
      boot: m.header.get(H_BOOT),
      seq: Number(m.header.get(H_SEQ)),
    });
  }
  return out;
}

/** Telemetry messages stored so far; -1 while our own connection is still re-made after a NATS restart. */
async function telemetryCount(jsm: JetStreamManager): Promise<number> {
  try {
    const info = await jsm.streams.info(STREAM, { subjects_filter: "cohesix.*.telemetry.>" });
    return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  } catch {
    return -1;
  }
}

/** The hive's own view: `<boot> <worker> <line>` for every line in each worker's ring. */
async function hiveLines(hive: TestHive, boot: string): Promise<string[]> {
  const ids = (await hive.read("/proc/workers")).split("\n").slice(1).filter((l) => l).map((l) =>
    l.split(" ")[0]
  );
  const out: string[] = [];
  for (const id of ids) {
    for (const line of (await hive.read(`/worker/${id}/telemetry`)).split("\n")) {
      if (line) out.push(`${boot} ${id} ${line}`);
    }
  }
  return out;
}

function startFleet(hivePort: number, url: string): Promise<Fleet> {
  return Fleet.start({
    hives: [{ name: "h1", host: "127.0.0.1", port: hivePort }],
    nats: url,
    stream: STREAM,
    pollMs: 20,
    backoffMs: 20,
    backoffMaxMs: 200,
  });
}

Deno.test({
  name: "Fleet publishes every telemetry line to JetStream exactly once across fleet, hive and NATS restarts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cohesix-fleet-js-" });
    let nats = await startNats(dir);
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    let hive = new TestHive();
    let fleet: Fleet | null = null;
    try {
      const jsm = await jetstreamManager(nc);
      const expected: string[] = [];
      const waitStored = (n: number) =>
        until(async () => (await telemetryCount(jsm)) >= n, `${n} telemetry messages in JetStream`);

      // Boot 1: three workers, ten heartbeats each while the fleet follows.
      await hive.spawn(3);
      fleet = await startFleet(hive.port, nats.url);
      await hive.tick(5);
      await waitStored(15);
      await hive.tick(5);
      await waitStored(30);

      // Fleet restart: five more heartbeats each while no fleet runs; a fresh Fleet resumes from the stream.
      await fleet.stop();
      fleet = null;
      await hive.tick(5);
      expected.push(...await hiveLines(hive, "e1"));
      assertEquals(expected.length, 45);
      fleet = await startFleet(hive.port, nats.url);
      await waitStored(45);

      // NATS restart under a running fleet: the store survives (-sd), batches are re-sent until acked.
      const natsPort = nats.port;
      await nats.engine.stop();
      await hive.tick(2);
      nats = await startNats(dir, natsPort);
      await waitStored(51);

      // Hive restart on the same port: ids and offsets start again, the fleet sees a new boot.
      expected.splice(0, expected.length, ...await hiveLines(hive, "e1"));
      const port = hive.port;
      await hive.stop();
      hive = new TestHive(port);
      await hive.spawn(2);
      await hive.tick(3);
      expected.push(...await hiveLines(hive, "e2"));
      await waitStored(expected.length);
      await until(
        () => fleet!.followers[0].snapshot.up && fleet!.followers[0].snapshot.pending === 0,
        "fleet idle",
      );
      await fleet.stop();
      fleet = null;

      const stored = await readStream(jsm);
      const telemetry = stored.filter((m) => m.subject.startsWith("cohesix.h1.telemetry."));
      const got = telemetry.map((m) => `${m.boot} ${m.subject.split(".").pop()} ${m.data}`);
      assertEquals([...got].sort(), [...expected].sort(), "every line once, none missing");
      assertEquals(new Set(got).size, got.length, "no duplicates");
      // Per-hive sequence numbers: strictly increasing in stream order, never reused.
      const seqs = stored.map((m) => m.seq);
      for (let i = 1; i < seqs.length; i++) {
        assert(seqs[i] > seqs[i - 1], `hive seq ${seqs[i]} after ${seqs[i - 1]}`);
      }
      const events = stored.filter((m) => m.subject === "cohesix.h1.events").map((m) => JSON.parse(m.data));
      assertEquals(events.filter((e) => e.event === "hive_boot").map((e) => e.boot), ["e1", "e2"]);
      assertEquals(events.filter((e) => e.event === "worker_up").length, 5);
    } finally {
      await fleet?.stop();
      await hive.stop();
      await nc.close();
      await nats.engine.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
