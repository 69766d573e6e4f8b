/** TraceFS filters and sequence continuity; the simulated GPU lease and job lifecycle. */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EBUSY, EINVAL, EPERM } from "../../src/secure9p/errors.ts";
import { HostTicketVerifier, keyPair } from "../../src/host/ticket/codec.ts";
import { testTicket } from "../support/tickets.ts";
import { NsClient } from "./ns_client.ts";

function events(text: string): { seq: number; cat: string; level: string; msg: string }[] {
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

Deno.test("NineDoor /trace/ctl filter changes what /trace/events yields and sequence numbers stay continuous", () => {
  const nd = new NineDoor(defaultBootConfig());
  nd.advance(0);
  const q = new NsClient(nd, nd.attach("queen", ""));
  q.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100}');
  nd.advance(1000);
  // Default level info: per-tick debug events are not recorded.
  assertEquals(events(q.read("/trace/events") as string).some((e) => e.cat === "worker"), false);
  assertEquals(q.write("/trace/ctl", '{"set":{"level":"debug","cats":["worker"]}}\n'), 44);
  nd.advance(2000);
  q.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100}'); // a queen event: filtered out now
  nd.advance(3000);
  const all = events(q.read("/trace/events") as string);
  const after = all.slice(all.findIndex((e) => e.cat === "worker"));
  assertEquals(after.map((e) => e.msg), ["tick 2", "tick 3", "tick 1"]);
  assertEquals(all.map((e) => e.seq), all.map((_, i) => i + 1));
  assertEquals(JSON.parse(q.read("/trace/ctl") as string).cats, ["worker"]);
  // The per-worker trace holds that worker's events only.
  assertEquals(events(q.read("/proc/worker-2/trace") as string).map((e) => e.msg), ["tick 1"]);
  for (
    const bad of [
      '{"set":{"level":"loud"}}',
      '{"set":{"cats":["nope"]}}',
      '{"reset":{}}',
      '{"set":{"level":"info","x":1}}',
      "set",
    ]
  ) {
    assertEquals(q.write("/trace/ctl", bad), -EINVAL, bad);
  }
  assertEquals(JSON.parse(q.read("/trace/ctl") as string).level, "debug");
});

Deno.test("NineDoor /trace/events ring stays bounded and counts what it dropped", () => {
  const boot = defaultBootConfig();
  boot.traceRingBytes = 1024;
  boot.traceLevel = "debug";
  const nd = new NineDoor(boot);
  nd.advance(0);
  const q = new NsClient(nd, nd.attach("queen", ""));
  q.write("/queen/ctl", '{"spawn":"heartbeat","ticks":1000}');
  for (let t = 1; t <= 100; t++) nd.advance(t * 1000);
  const ctl = JSON.parse(q.read("/trace/ctl") as string);
  assert(ctl.dropped_bytes > 0);
  // The retained events start after the dropped bytes and still count up by one.
  const node = q.open("/trace/events");
  const tail = events(q.readNode(node, ctl.dropped_bytes) as string);
  assert(tail.length > 3 && tail.length < 30);
  assertEquals(tail.map((e) => e.seq), tail.map((_, i) => tail[0].seq + i));
  assertEquals(tail.at(-1)!.seq, ctl.seq);
});

Deno.test("NineDoor simulated GPU leases to one worker, runs jobs in order on the injected clock and frees on kill", () => {
  const key = keyPair(new Uint8Array(32).fill(8));
  const boot = defaultBootConfig();
  boot.ticketKeys = [key];
  const nd = new NineDoor(boot, new HostTicketVerifier(boot.ticketKeys));
  nd.advance(0);
  const q = new NsClient(nd, nd.attach("queen", ""));
  const lease =
    '{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":2048,"streams":2,"ttl_s":60,"priority":3},"budget":{"ops":100}}';
  assertEquals(q.write("/queen/ctl", lease), lease.length);
  assertEquals(q.write("/queen/ctl", lease), -EBUSY);
  const g = new NsClient(
    nd,
    nd.attach(
      "worker-gpu",
      testTicket("worker-gpu", "worker-1", "00000000000000cc", key.secretKey),
    ),
  );
  assert(g.session >= 0);
  const info = JSON.parse(g.read("/gpu/GPU-0/info") as string);
  assertEquals(info.lease, { worker: "worker-1", mem_mb: 2048, streams: 2, priority: 3 });
  assertEquals(g.walk("/gpu/GPU-1"), -EPERM);
  for (const job of ['{"id":"a","ms":300}', '{"id":"b","ms":100,"kernel":"vadd"}']) {
    assertEquals(g.write("/gpu/GPU-0/job", job), job.length);
  }
  assertEquals(g.write("/gpu/GPU-0/job", '{"id":"c","ms":1,"extra":1}'), -EINVAL);
  assertEquals(g.write("/gpu/GPU-0/job", '{"id":"c d","ms":1}'), -EINVAL);
  nd.advance(300);
  nd.advance(350);
  assertEquals(
    g.read("/gpu/GPU-0/status"),
    [
      "lease state=ACTIVE worker=worker-1 mem_mb=2048 streams=2 ttl_s=60 priority=3",
      "job=a state=QUEUED",
      "job=a state=RUNNING",
      "job=b state=QUEUED",
      "job=a state=OK exit_code=0",
      "job=b state=RUNNING",
    ].join("\n") + "\n",
  );
  assertEquals(q.write("/queen/ctl", '{"kill":"worker-1"}'), 19);
  const status = q.read("/gpu/GPU-0/status") as string;
  assertStringIncludes(status, "job=b state=CANCELLED\nlease state=RELEASED reason=killed\n");
  assertEquals(JSON.parse(q.read("/gpu/GPU-0/info") as string).lease, null);
  assertEquals(q.write("/queen/ctl", lease), lease.length);
});

Deno.test("NineDoor ends a GPU lease when the lease ttl revokes its worker, cancelling queued jobs", () => {
  const nd = new NineDoor(defaultBootConfig());
  nd.advance(0);
  const q = new NsClient(nd, nd.attach("queen", ""));
  const lease = '{"spawn":"gpu","lease":{"gpu_id":"GPU-1","mem_mb":64,"streams":1,"ttl_s":2}}';
  assertEquals(q.write("/queen/ctl", lease), lease.length);
  assertEquals(q.write("/gpu/GPU-1/job", '{"id":"long","ms":5000}'), 23);
  nd.advance(1999);
  assertEquals(JSON.parse(q.read("/gpu/GPU-1/info") as string).lease.worker, "worker-1");
  nd.advance(2000);
  assertEquals(JSON.parse(q.read("/gpu/GPU-1/info") as string).lease, null);
  assertStringIncludes(q.read("/gpu/GPU-1/status") as string, "job=long state=CANCELLED\nlease state=RELEASED reason=ttl\n");
  assertStringIncludes(q.read("/log/queen.log") as string, "revoke worker=worker-1 reason=ttl");
  // A job without a lease is refused.
  assertEquals(q.write("/gpu/GPU-1/job", '{"id":"x","ms":1}'), -EINVAL);
});
