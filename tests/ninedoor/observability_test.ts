/**
 * The manifest-gated /proc files (reference §7, seeds 21e) over the Namespace API on the injected
 * clock: root reachability and every cut reason in the reference's priority order, the per-session
 * SETUP/ACTIVE/DRAINING/CLOSED states with their times and owners, the four pressure counters moved
 * by real refusals, the ingest read lag, back-pressure, drops and queue with the bounded watch, and
 * the manifest's gates and byte caps. Booted from configs/root_task.toml, which turns them all on;
 * an `observer` session (read-only everywhere) looks, so the reading never counts as queen activity.
 */
import { assert, assertEquals } from "../support/assert.ts";
import type { BootConfig } from "../../src/guest/boot.ts";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EBADF, ECANCELED, EMSGSIZE, ENOENT, EPERM } from "../../src/secure9p/errors.ts";
import { HostTicketVerifier, keyPair } from "../../src/host/ticket/codec.ts";
import { testTicket } from "../support/tickets.ts";
import { NsClient } from "./ns_client.ts";

const KEY = keyPair(new Uint8Array(32).fill(9));
const SPAWN = '{"spawn":"heartbeat","ticks":1000}\n';

function hive(tweak?: (b: BootConfig) => void): { nd: NineDoor; look: (path: string) => string | number } {
  const boot: BootConfig = structuredClone(BOOT_CONFIG);
  boot.ticketKeys = [KEY];
  tweak?.(boot);
  const nd = new NineDoor(boot, new HostTicketVerifier(boot.ticketKeys));
  nd.advance(1000);
  const observer = new NsClient(nd, nd.attach("observer", ""));
  return { nd, look: (path) => observer.read(path) };
}

const queenTicket = (nonce: string, expiresAtMs = 0) => testTicket("queen", "ops", nonce, KEY.secretKey, { expiresAtMs });

Deno.test("/proc/root: no queen is network_unreachable; an attached queen is reachable and last_seen_ms follows its requests", () => {
  const { nd, look } = hive();
  assertEquals(look("/proc/root/reachable"), "reachable=no\n");
  assertEquals(look("/proc/root/cut_reason"), "cut_reason=network_unreachable\n");
  assertEquals(look("/proc/root/last_seen_ms"), "last_seen_ms=0\n");
  const queen = new NsClient(nd, nd.attach("queen", ""));
  assertEquals([look("/proc/root/reachable"), look("/proc/root/cut_reason")], ["reachable=yes\n", "cut_reason=none\n"]);
  assertEquals(look("/proc/root/last_seen_ms"), "last_seen_ms=1000\n", "the attach is queen activity");
  nd.advance(4000);
  assertEquals(look("/proc/root/last_seen_ms"), "last_seen_ms=1000\n", "time alone is not activity");
  queen.read("/proc/boot");
  assertEquals(look("/proc/root/last_seen_ms"), "last_seen_ms=4000\n");
  nd.detach(queen.session);
  assertEquals([look("/proc/root/reachable"), look("/proc/root/cut_reason")], ["reachable=no\n", "cut_reason=network_unreachable\n"]);
  assertEquals(look("/proc/root/last_seen_ms"), "last_seen_ms=4000\n", "the last sighting stays");
});

Deno.test("/proc/root cut reasons follow the priority lifecycle_offline > session_revoked > policy_denied > network_unreachable", () => {
  const { nd, look } = hive();
  // A refused queen attach (a ticket that does not verify): policy_denied.
  assertEquals(nd.attach("queen", "not-a-ticket"), -EPERM);
  assertEquals(look("/proc/root/cut_reason"), "cut_reason=policy_denied\n");
  // A queen whose ticket expires is cut on its next request: session_revoked outranks a later refusal.
  const queen = new NsClient(nd, nd.attach("queen", queenTicket("00000000000000c1", 5000)));
  assert(queen.session >= 0);
  assertEquals(look("/proc/root/cut_reason"), "cut_reason=none\n");
  assertEquals(nd.attach("queen", "not-a-ticket"), -EPERM);
  assertEquals(look("/proc/root/cut_reason"), "cut_reason=none\n", "a refused second queen does not cut the first");
  nd.advance(6000);
  assertEquals(queen.walk("/proc"), -EBADF, "the expired queen session is cut");
  assertEquals(look("/proc/root/reachable"), "reachable=no\n");
  assertEquals(look("/proc/root/cut_reason"), "cut_reason=session_revoked\n");
  // A good queen attach clears both; its detach leaves only the network reason.
  const again = nd.attach("queen", "");
  assertEquals(look("/proc/root/cut_reason"), "cut_reason=none\n");
  nd.detach(again);
  assertEquals(look("/proc/root/cut_reason"), "cut_reason=network_unreachable\n");
  // An OFFLINE hive is cut whatever its sessions.
  const off = hive((b) => (b.lifecycle = { initialState: "OFFLINE", autoTransitions: [] }));
  off.nd.attach("queen", "");
  assertEquals([off.look("/proc/root/reachable"), off.look("/proc/root/cut_reason")], ["reachable=no\n", "cut_reason=lifecycle_offline\n"]);
});

Deno.test("a cut root stops workers acting: a GPU worker's job write is ECANCELED while no queen is attached, its telemetry still lands", () => {
  const { nd, look } = hive();
  const queen = new NsClient(nd, nd.attach("queen", ""));
  const lease = '{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1024,"streams":1,"ttl_s":600},"budget":{"ops":1000}}';
  assertEquals(queen.write("/queen/ctl", lease), lease.length);
  const gpu = new NsClient(nd, nd.attach("worker-gpu", testTicket("worker-gpu", "worker-1", "00000000000000c1", KEY.secretKey)));
  assert(gpu.session >= 0);
  assertEquals(gpu.write("/gpu/GPU-0/job", '{"id":"a","ms":10}'), 18, "with the queen attached the worker acts");
  nd.detach(queen.session);
  assertEquals(look("/proc/root/reachable"), "reachable=no\n");
  assertEquals(gpu.write("/gpu/GPU-0/job", '{"id":"b","ms":10}'), -ECANCELED);
  assertEquals(gpu.write("/gpu/GPU-0/ctl", "PRIORITY 7"), -ECANCELED);
  assertEquals(look("/proc/pressure/cut"), "cut=2\n");
  assertEquals(gpu.write("/worker/worker-1/telemetry", "still here\n"), 11, "telemetry may complete");
  assert(!(look("/gpu/GPU-0/status") as string).includes("job=b"), "the refused job never queued");
  // Authenticated queen activity restores the root; the worker acts again.
  const back = new NsClient(nd, nd.attach("queen", ""));
  assert(back.session >= 0);
  assertEquals(gpu.write("/gpu/GPU-0/job", '{"id":"b","ms":10}'), 18);
});

Deno.test("/proc/9p/session/<id>: SETUP on attach, ACTIVE on the first request, DRAINING while the hive drains, CLOSED on detach or revocation", () => {
  const { nd, look } = hive();
  // Slot 0 is the observer (it has read, so it is ACTIVE from its first look on).
  assertEquals(look("/proc/9p/session/0/state"), "state=ACTIVE\n");
  assertEquals(look("/proc/9p/session/0/owner"), "owner=observer/-\n");
  assertEquals(look("/proc/9p/session/5/owner"), "owner=none\n", "a slot never attached");
  assertEquals(look("/proc/9p/session/5/state"), "state=CLOSED\n");
  nd.advance(2000);
  const queen = new NsClient(nd, nd.attach("queen", ""));
  assertEquals([look("/proc/9p/session/1/state"), look("/proc/9p/session/1/since_ms")], ["state=SETUP\n", "since_ms=2000\n"]);
  assertEquals(look("/proc/9p/session/active"), "active=2\n");
  nd.advance(3000);
  assertEquals(queen.write("/queen/ctl", SPAWN), SPAWN.length);
  assertEquals([look("/proc/9p/session/1/state"), look("/proc/9p/session/1/since_ms")], ["state=ACTIVE\n", "since_ms=3000\n"]);
  const worker = new NsClient(nd, nd.attach("worker-heartbeat", testTicket("worker-heartbeat", "worker-1", "00000000000000b1", KEY.secretKey)));
  assertEquals(look("/proc/9p/session/2/owner"), "owner=worker-heartbeat/worker-1\n");
  nd.advance(4000);
  assertEquals(queen.write("/queen/lifecycle/ctl", "cordon\n"), 7);
  assertEquals(look("/proc/9p/session/2/state"), "state=DRAINING\n");
  assertEquals(look("/proc/9p/session/2/since_ms"), "since_ms=4000\n", "draining since the cordon");
  assertEquals(queen.write("/queen/lifecycle/ctl", "resume\n"), 7);
  // Killing the worker revokes its session: CLOSED at once, and the detach later does not move the time.
  nd.advance(5000);
  assertEquals(queen.write("/queen/ctl", '{"kill":"worker-1"}\n'), 20);
  assertEquals([look("/proc/9p/session/2/state"), look("/proc/9p/session/2/since_ms")], ["state=CLOSED\n", "since_ms=5000\n"]);
  nd.advance(6000);
  nd.detach(worker.session);
  assertEquals(look("/proc/9p/session/2/since_ms"), "since_ms=5000\n");
  assertEquals(look("/proc/9p/session/active"), "active=2\n");
  nd.detach(queen.session);
  assertEquals([look("/proc/9p/session/1/state"), look("/proc/9p/session/1/since_ms")], ["state=CLOSED\n", "since_ms=6000\n"]);
  assertEquals(look("/proc/9p/session/1/owner"), "owner=queen/-\n", "a closed slot keeps its last owner");
});

Deno.test("/proc/pressure/{busy,quota,cut,policy} count real refusals; /proc/pressure/counters keeps the full line", () => {
  const { nd, look } = hive((b) => (b.limits.maxSessions = 3));
  const queen = new NsClient(nd, nd.attach("queen", ""));
  assertEquals(queen.write("/queen/ctl", SPAWN), SPAWN.length);
  const zero = ["busy=0\n", "quota=0\n", "cut=0\n", "policy=0\n"];
  assertEquals(["busy", "quota", "cut", "policy"].map((f) => look(`/proc/pressure/${f}`)), zero);
  // Policy: a write the observer's role does not allow, and a refused attach.
  const observer = new NsClient(nd, nd.sessions.handle(0));
  assertEquals(observer.write("/queen/ctl", SPAWN), -EPERM);
  assertEquals(nd.attach("queen", "not-a-ticket"), -EPERM);
  assertEquals(look("/proc/pressure/policy"), "policy=2\n");
  // Quota: a ticket with a one-op quota, used twice.
  const w = new NsClient(nd, nd.attach("worker-heartbeat", testTicket("worker-heartbeat", "worker-1", "00000000000000b2", KEY.secretKey, { quota: { ops: 1, bytes: 0, fids: 0 } })));
  assert(w.walk("/proc") >= 0, "one component is the one op");
  assertEquals(w.walk("/proc"), -EMSGSIZE, "the second is over the quota");
  assertEquals(look("/proc/pressure/quota"), "quota=1\n");
  // Busy: the session table (3 slots) is full.
  assertEquals(nd.attach("queen", ""), -16);
  assertEquals(look("/proc/pressure/busy"), "busy=1\n");
  // Cut: killing the worker cuts its session.
  assertEquals(queen.write("/queen/ctl", '{"kill":"worker-1"}\n'), 20);
  assertEquals(look("/proc/pressure/cut"), "cut=1\n");
  const counters = look("/proc/pressure/counters") as string;
  assert(counters.startsWith("denied=1 quota=1 busy=1 "), counters);
  assert(counters.endsWith(" cut=1\n"), counters);
});

Deno.test("/proc/ingest: read lag percentiles, back-pressure, drops and queued bytes of worker telemetry, and a bounded watch", () => {
  const { nd, look } = hive((b) => (b.observability.ingest.watchMaxEntries = 3));
  const queen = new NsClient(nd, nd.attach("queen", ""));
  assertEquals(look("/proc/ingest/p50_ms"), "p50_ms=0 samples=0\n");
  assertEquals(queen.write("/queen/ctl", SPAWN), SPAWN.length);
  const tel = "/worker/worker-1/telemetry";
  // Ticks every second append a heartbeat line; the queen reads 3 s after the first one waited.
  nd.advance(2000);
  nd.advance(4000);
  const queued = Number((look("/proc/ingest/queued") as string).match(/^queued=(\d+)\n$/)![1]);
  assert(queued > 0, "heartbeats are queued");
  assert(typeof queen.read(tel) === "string");
  assertEquals(look("/proc/ingest/p50_ms"), "p50_ms=2000 samples=1\n", "the oldest unread line waited from 2000 to 4000");
  // Reading again with nothing new is no sample; the next wait is 1 s.
  queen.read(tel);
  nd.advance(5000);
  nd.advance(6000);
  queen.read(tel);
  assertEquals(look("/proc/ingest/p50_ms"), "p50_ms=1000 samples=2\n");
  assertEquals(look("/proc/ingest/p95_ms"), "p95_ms=2000 samples=2\n");
  // A record larger than the ring is refused (back-pressure); filling the ring drops the oldest lines.
  const ring = BOOT_CONFIG.telemetryRingBytes;
  assert(queen.write(tel, "x".repeat(ring + 1) + "\n") < 0);
  assertEquals(look("/proc/ingest/backpressure"), "backpressure=1\n");
  for (let i = 0; i < 4; i++) assert(queen.write(tel, "y".repeat(ring / 2 - 1) + "\n") > 0);
  const dropped = Number((look("/proc/ingest/dropped") as string).match(/^dropped=(\d+)\n$/)![1]);
  assert(dropped > 0, "the full ring dropped its oldest lines");
  // The watch: one line per change, never more than watch_max_entries (3) kept, oldest first.
  for (let t = 7000; t <= 12000; t += 1000) nd.advance(t);
  const watch = (look("/proc/ingest/watch") as string).split("\n").filter(Boolean);
  assertEquals(watch.length, 3);
  const times = watch.map((l) => Number(l.match(/^t_ms=(\d+) p50_ms=\d+ p95_ms=\d+ backpressure=\d+ dropped=\d+ queued=\d+$/)![1]));
  assertEquals(times, [10000, 11000, 12000], "the newest three, in order");
});

Deno.test("observability gates and caps: files a manifest leaves off do not exist, /proc/pressure is the old file, and a cap below the rendering is EMSGSIZE", () => {
  const off = hive((b) => {
    b.observability.root = { reachable: 0, lastSeenMs: 0, cutReason: 0 };
    b.observability.pressure = { busy: 0, quota: 0, cut: 0, policy: 0 };
    b.observability.session.owner = 0;
  });
  const q = new NsClient(off.nd, off.nd.attach("queen", ""));
  assertEquals(q.walk("/proc/root"), -ENOENT);
  assertEquals(q.walk("/proc/9p/session/0/owner"), -ENOENT);
  assert(q.walk("/proc/9p/session/0/state") >= 0);
  assert((q.read("/proc/pressure") as string).startsWith("denied=0 quota=0 busy=0 "), "the counter line is /proc/pressure again");
  const tight = hive((b) => (b.observability.root.cutReason = 16));
  assertEquals(tight.look("/proc/root/cut_reason"), -EMSGSIZE, "cut_reason=network_unreachable is 32 bytes");
  tight.nd.attach("queen", "");
  assertEquals(tight.look("/proc/root/cut_reason"), "cut_reason=none\n", "a rendering within the cap is served");
});
