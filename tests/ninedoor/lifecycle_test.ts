/** Worker lifecycle over the Namespace API: spawn → telemetry → kill/budget → Closed + revocation line. */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EBADF, EBUSY, EINVAL, ENOENT, EPERM, EROFS } from "../../src/secure9p/errors.ts";
import { NodeStat, O_WRONLY } from "../../src/secure9p/namespace.ts";
import { HostTicketVerifier, keyPair } from "../../src/host/ticket/codec.ts";
import { testTicket } from "../support/tickets.ts";
import { NsClient } from "./ns_client.ts";
import { SELFTEST_NAMES, SELFTEST_SCRIPTS } from "../../src/guest/console/selftests.ts";

function hive(tweak?: (b: ReturnType<typeof defaultBootConfig>) => void) {
  const boot = defaultBootConfig();
  tweak?.(boot);
  const nd = new NineDoor(boot);
  nd.advance(0);
  return { nd, queen: new NsClient(nd, nd.attach("queen", "")) };
}

Deno.test("NineDoor /proc/boot carries the version and manifest fingerprint and refuses writes", () => {
  const { queen } = hive((b) => (b.manifestFingerprint = "sha256-abc123"));
  const text = queen.read("/proc/boot") as string;
  assertStringIncludes(text, "version=0.1.0\n");
  assertStringIncludes(text, "manifest=sha256-abc123\n");
  assertEquals(queen.open("/proc/boot", O_WRONLY), -EROFS);
});

Deno.test("NineDoor /proc/tests serves each self-test script byte for byte, read-only, to the queen and observer", () => {
  const { nd, queen } = hive();
  assertEquals(queen.list("/proc/tests"), SELFTEST_NAMES);
  const observer = new NsClient(nd, nd.attach("observer", ""));
  for (let i = 0; i < SELFTEST_NAMES.length; i++) {
    const path = `/proc/tests/${SELFTEST_NAMES[i]}`;
    assertEquals(queen.read(path), SELFTEST_SCRIPTS[i], path);
    assertEquals(observer.read(path), SELFTEST_SCRIPTS[i], path);
    assertEquals((queen.stat(path) as NodeStat).sizeLo, new TextEncoder().encode(SELFTEST_SCRIPTS[i]).length);
    assertEquals(queen.open(path, O_WRONLY), -EROFS);
  }
  assertEquals(queen.walk("/proc/tests/selftest_slow.coh"), -ENOENT);
});

/** The `/proc/workers` line of worker `id`, or "". */
function workerLine(queen: NsClient, id: string): string {
  return (queen.read("/proc/workers") as string).split("\n").find((l) => l.startsWith(id + " ")) ?? "";
}

Deno.test("NineDoor spawn creates telemetry that gains one heartbeat line per tick; kill keeps it readable, read-only, for workers.retain_s, then removes it and its open reader gets Closed", () => {
  const { nd, queen } = hive((b) => (b.workerRetainS = 60));
  assertEquals(queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100}\n'), 34);
  assertEquals(queen.list("/worker"), ["worker-1"]);
  const reader = queen.open("/worker/worker-1/telemetry");
  assert(reader >= 0);
  nd.advance(1000);
  nd.advance(2500);
  assertEquals(queen.readNode(reader), "heartbeat 1\nheartbeat 2\n");
  nd.advance(3000);
  // Resuming at the cursor (offset 24) yields only the new line.
  assertEquals(queen.readNode(reader, 24), "heartbeat 3\n");
  assertEquals(queen.write("/queen/ctl", '{"kill":"worker-1"}'), 19);
  assertStringIncludes(
    queen.read("/log/queen.log") as string,
    "revoke worker=worker-1 reason=killed tick=3 ops=0\n",
  );
  // Exited: no more heartbeats, the final contents stay readable and nobody may append.
  nd.advance(5000);
  assertEquals(queen.list("/worker"), ["worker-1"]);
  assertEquals(queen.readNode(reader), "heartbeat 1\nheartbeat 2\nheartbeat 3\n");
  assertEquals(queen.read("/worker/worker-1/telemetry"), "heartbeat 1\nheartbeat 2\nheartbeat 3\n");
  assertEquals(queen.write("/worker/worker-1/telemetry", "late\n"), -EROFS);
  assertEquals(queen.open("/worker/worker-1/telemetry", O_WRONLY), -EROFS);
  assert(queen.walk("/proc/worker-1/trace") >= 0);
  assertEquals(
    workerLine(queen, "worker-1"),
    "worker-1 kind=heartbeat state=exited reason=killed tick=3 ops=0 telemetry_end=36 retain_ms_left=58000",
  );
  assertStringIncludes(queen.read("/proc/workers") as string, "workers active=0 ");
  // An exited worker cannot be killed or budgeted again.
  assertEquals(queen.write("/queen/ctl", '{"kill":"worker-1"}'), -ENOENT);
  // One millisecond before the retention ends the files are there; at its end they are gone.
  nd.advance(62999);
  assertEquals(queen.list("/worker"), ["worker-1"]);
  nd.advance(63000);
  assertEquals(queen.list("/worker"), []);
  assertEquals(queen.readNode(reader), -EBADF);
  assertEquals(queen.walk("/worker/worker-1"), -ENOENT);
  assertEquals(queen.walk("/proc/worker-1/trace"), -ENOENT);
  assertEquals(workerLine(queen, "worker-1"), "");
});

Deno.test("NineDoor with workers.retain_s = 0 removes a killed worker's files at once", () => {
  const { nd, queen } = hive((b) => (b.workerRetainS = 0));
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100}');
  const reader = queen.open("/worker/worker-1/telemetry");
  nd.advance(1000);
  assertEquals(queen.write("/queen/ctl", '{"kill":"worker-1"}'), 19);
  assertEquals(queen.list("/worker"), []);
  assertEquals(queen.readNode(reader), -EBADF);
  assertEquals(queen.walk("/proc/worker-1/trace"), -ENOENT);
  assertEquals(workerLine(queen, "worker-1"), "");
});

Deno.test("NineDoor: a ticks=1 worker's telemetry is readable right after its only tick, wherever the tick falls", () => {
  // Today's bug (issue 12): the worker vanished with its file within one tick, so `tail` right after
  // a spawn answered ENOENT about half the time. Spawn at every phase of the tick period.
  for (const phase of [0, 1, 250, 500, 999]) {
    const { nd, queen } = hive();
    nd.advance(phase);
    queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":1}');
    nd.advance(phase + 1000);
    assertEquals(queen.read("/worker/worker-1/telemetry"), "heartbeat 1\n", `spawned at ${phase} ms`);
    assertStringIncludes(workerLine(queen, "worker-1"), "state=exited reason=ticks tick=1 ");
  }
});

Deno.test("NineDoor revokes a worker when its tick budget is spent", () => {
  const { nd, queen } = hive();
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":2}');
  nd.advance(1000);
  assertStringIncludes(workerLine(queen, "worker-1"), "worker-1 kind=heartbeat tick=1 ticks=2 ");
  nd.advance(2000);
  assertStringIncludes(workerLine(queen, "worker-1"), "worker-1 kind=heartbeat state=exited reason=ticks tick=2 ");
  nd.advance(3000);
  assertEquals(queen.read("/worker/worker-1/telemetry"), "heartbeat 1\nheartbeat 2\n", "no tick after the exit");
  assertStringIncludes(queen.read("/log/queen.log") as string, "revoke worker=worker-1 reason=ticks tick=2");
});

Deno.test("NineDoor revokes a worker when its ttl passes", () => {
  const { nd, queen } = hive();
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100,"budget":{"ttl_s":3}}');
  nd.advance(2999);
  assertStringIncludes(workerLine(queen, "worker-1"), "worker-1 kind=heartbeat tick=2 ");
  nd.advance(3000);
  assertStringIncludes(workerLine(queen, "worker-1"), "state=exited reason=ttl ");
  assertStringIncludes(queen.read("/log/queen.log") as string, "revoke worker=worker-1 reason=ttl");
});

Deno.test("NineDoor evicts the oldest exited worker when a spawn finds every slot running or retained", () => {
  const { nd, queen } = hive((b) => (b.limits.maxWorkers = 2));
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":1}\n{"spawn":"heartbeat","ticks":5}');
  nd.advance(1000); // worker-1 exits (retained), worker-2 runs
  assertEquals(queen.list("/worker"), ["worker-1", "worker-2"]);
  assertEquals(queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":5}'), 31);
  assertEquals(queen.list("/worker"), ["worker-2", "worker-3"]);
  // Both slots now run: the table is full.
  assertEquals(queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":5}'), -EBUSY);
});

Deno.test("NineDoor revokes a worker and closes its session when its ops budget is spent", () => {
  const key = keyPair(new Uint8Array(32).fill(3));
  const boot = defaultBootConfig();
  boot.ticketKeys = [key];
  const nd = new NineDoor(boot, new HostTicketVerifier(boot.ticketKeys));
  nd.advance(1000);
  const queen = new NsClient(nd, nd.attach("queen", ""));
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100,"budget":{"ops":3}}');
  const ticket = testTicket("worker-heartbeat", "worker-1", "0000000000000001", key.secretKey);
  const worker = new NsClient(nd, nd.attach("worker-heartbeat", ticket));
  assert(worker.session >= 0);
  assert(worker.walk("/proc") >= 0); // op 1
  assert(worker.walk("/proc/boot") >= 0); // ops 2, 3: the budget is spent
  assertStringIncludes(workerLine(queen, "worker-1"), "state=exited reason=ops ");
  assertEquals(worker.walk("/proc"), -EBADF);
  assertStringIncludes(
    queen.read("/log/queen.log") as string,
    "revoke worker=worker-1 reason=ops tick=0 ops=3",
  );
});

Deno.test("NineDoor telemetry ring is bounded, counts overflow and refuses stale cursors", () => {
  const { nd, queen } = hive((b) => (b.telemetryRingBytes = 64));
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":1000}');
  for (let t = 1; t <= 10; t++) nd.advance(t * 1000);
  const st = queen.stat("/worker/worker-1/telemetry") as NodeStat;
  const lines = Array.from({ length: 10 }, (_, i) => `heartbeat ${i + 1}\n`).join("");
  assertEquals(st.sizeLo, lines.length);
  const workers = queen.read("/proc/workers") as string;
  const m = /telemetry_start=(\d+) telemetry_end=(\d+) dropped=(\d+)/.exec(workers)!;
  const start = Number(m[1]);
  assertEquals(Number(m[2]), lines.length);
  assertEquals(Number(m[3]), start);
  assert(lines.length - start <= 64);
  // The retained window starts on a line boundary and reads exactly the tail of the stream.
  const node = queen.open("/worker/worker-1/telemetry");
  assertEquals(queen.readNode(node, start), lines.slice(start));
  assertEquals(queen.readNode(node, 0), -EINVAL);
  assertEquals(nd.retainedStart(queen.session, node), start);
  assertEquals(lines[start - 1], "\n");
});

Deno.test("NineDoor workers see only their own telemetry and may append to it", () => {
  const key = keyPair(new Uint8Array(32).fill(4));
  const boot = defaultBootConfig();
  boot.ticketKeys = [key];
  const nd = new NineDoor(boot, new HostTicketVerifier(boot.ticketKeys));
  nd.advance(0);
  const queen = new NsClient(nd, nd.attach("queen", ""));
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100}\n{"spawn":"heartbeat","ticks":100}\n');
  const ticket = testTicket("worker-heartbeat", "worker-1", "0000000000000002", key.secretKey);
  const w1 = new NsClient(nd, nd.attach("worker-heartbeat", ticket));
  assertEquals(w1.write("/worker/worker-1/telemetry", "status ok\n"), 10);
  assertEquals(w1.walk("/worker/worker-2"), -EPERM);
  assertEquals(w1.list("/worker"), -EPERM);
  assertEquals(w1.open("/queen/ctl", O_WRONLY), -EPERM);
  assertEquals(queen.read("/worker/worker-1/telemetry"), "status ok\n");
  const log = queen.read("/log/queen.log") as string;
  assertStringIncludes(
    log,
    "deny op=walk role=worker-heartbeat subject=worker-1 path=/worker/worker-2 reason=role\n",
  );
  assertStringIncludes(log, "deny op=walk role=worker-heartbeat subject=worker-1 path=/queen reason=role\n");
});

Deno.test("NineDoor read never writes past the caller's buffer and write refuses a range beyond its source", () => {
  const { queen, nd } = hive();
  const node = queen.open("/proc/boot");
  const dst = new Uint8Array(16);
  assertEquals(nd.read(queen.session, node, 0, 0, dst, 10, 4096), 6);
  const w = queen.open("/log/queen.log", O_WRONLY);
  assertEquals(nd.write(queen.session, w, 0, 0, new Uint8Array(4), 2, 8), -EINVAL);
});
