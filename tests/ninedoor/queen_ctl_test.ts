/** /queen/ctl: strict JSON commands, whole-write atomicity, per-session bind/mount. */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EBUSY, EINVAL, EMSGSIZE, ENOENT, EPERM } from "../../src/secure9p/errors.ts";
import { HostTicketVerifier, keyPair } from "../../src/host/ticket/codec.ts";
import { testTicket } from "../support/tickets.ts";
import { NsClient } from "./ns_client.ts";

function hive() {
  const nd = new NineDoor(defaultBootConfig());
  nd.advance(0);
  return { nd, queen: new NsClient(nd, nd.attach("queen", "")) };
}

/** Everything a refused command must leave untouched. */
function state(nd: NineDoor, q: NsClient): string {
  const mounts = (q.read("/proc/sessions") as string).match(/mounts=\d+/g);
  return [
    q.read("/proc/workers"),
    mounts,
    q.list("/worker"),
    q.read("/gpu/GPU-0/info"),
    q.read("/gpu/GPU-1/info"),
  ]
    .join("|") + nd.workers.seq;
}

Deno.test("NineDoor /queen/ctl refuses malformed commands with Invalid, a logged reason and no effect", () => {
  const { nd, queen } = hive();
  const bad: [string, number, string][] = [
    ['{"spawn":"heartbeat","ticks":5,"color":"red"}', EINVAL, "unknown-key"],
    ['{"spawn":"heartbeat"}', EINVAL, "heartbeat-spawn-requires-ticks"],
    ['{"spawn":"heartbeat","ticks":-1}', EINVAL, "expected-unsigned-integer"],
    ['{"spawn":"heartbeat","ticks":1.5}', EINVAL, "expected-unsigned-integer"],
    ['{"spawn":"rocket","ticks":5}', EINVAL, "spawn-accepts-heartbeat-or-gpu"],
    ['{"spawn":"gpu"}', EINVAL, "gpu-spawn-requires-lease"],
    ['{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1,"streams":1}}', EINVAL, "gpu-spawn-requires-lease"],
    ['{"spawn":"gpu","lease":{"gpu_id":"GPU-7","mem_mb":1,"streams":1,"ttl_s":5}}', ENOENT, "unknown-gpu"],
    ['{"spawn":"heartbeat","ticks":5', EINVAL, "malformed-json"],
    ["[1,2]", EINVAL, "not-an-object"],
    ['{"kill":"worker-1","spawn":"heartbeat"}', EINVAL, "conflicting-commands"],
    ['{"kill":"worker-1","ticks":3}', EINVAL, "unknown-key"],
    ['{"spawn":"heartbeat","ticks":5,"ticks":6}', EINVAL, "duplicate-key"],
    ['{"budget":{}}', EINVAL, "budget-needs-a-field"],
    ['{"budget":{"ops":1,"gas":2}}', EINVAL, "unknown-key"],
    ['{"bind":{"from":"/proc","to":"/queen/../log"}}', EINVAL, "path-contains-traversal-component"],
    ['{"bind":{"from":"proc","to":"/queen"}}', EINVAL, "path-must-be-absolute"],
    ['{"mount":{"service":"nfs","at":"/queen"}}', ENOENT, "unknown-service"],
    ['{"kill":"worker-42"}', ENOENT, "unknown-worker"],
    ["{}", EINVAL, "no-command"],
  ];
  const before = state(nd, queen);
  for (const [line, errno, reason] of bad) {
    assertEquals(queen.write("/queen/ctl", line + "\n"), -errno, line);
    const log = queen.read("/log/queen.log") as string;
    assertEquals(
      log.trimEnd().split("\n").at(-1)!.endsWith(`reason=${reason}`),
      true,
      `${line}: ${log.split("\n").at(-2)}`,
    );
  }
  assertEquals(state(nd, queen), before);
  assertStringIncludes(queen.read("/proc/pressure") as string, `ctl_rejected=${bad.length} `);
});

Deno.test("NineDoor /queen/ctl applies a multi-line write only when every line is valid", () => {
  const { nd, queen } = hive();
  const before = state(nd, queen);
  const write = '{"spawn":"heartbeat","ticks":5}\n{"spawn":"heartbeat","ticks":5}\n{"kill":"nobody"}\n';
  assertEquals(queen.write("/queen/ctl", write), -ENOENT);
  assertEquals(state(nd, queen), before);
  assertStringIncludes(
    queen.read("/log/queen.log") as string,
    "queen-ctl outcome=reject line=3 error=ENOENT reason=unknown-worker\n",
  );
  // Two leases of one GPU in the same write: the second conflicts with the first, nothing happens.
  const lease = '{"spawn":"gpu","lease":{"gpu_id":"GPU-1","mem_mb":1,"streams":1,"ttl_s":9}}\n';
  assertEquals(queen.write("/queen/ctl", lease + lease), -EBUSY);
  assertEquals(state(nd, queen), before);
  const ok = '{"spawn":"heartbeat","ticks":5}\n{"spawn":"heartbeat","ticks":5}\n';
  assertEquals(queen.write("/queen/ctl", ok), ok.length);
  // Lines are checked against the state before the write: a worker spawned by it is not yet known.
  assertEquals(
    queen.write("/queen/ctl", '{"kill":"worker-1"}\n{"spawn":"heartbeat","ticks":5}\n{"kill":"worker-4"}'),
    -ENOENT,
  );
  assertEquals(
    queen.write("/queen/ctl", '{"kill":"worker-1"}\n{"budget":{"ops":5},"worker":"worker-2"}'),
    60,
  );
  const workers = queen.read("/proc/workers") as string;
  assertStringIncludes(workers, "worker-1 kind=heartbeat state=exited reason=killed ");
  assertStringIncludes(workers, "worker-2 kind=heartbeat tick=0 ticks=5 ops=0/5 ");
});

Deno.test("NineDoor /queen/ctl refuses spawns beyond the worker table and writes beyond maxCtlBytes", () => {
  const boot = defaultBootConfig();
  boot.limits.maxWorkers = 2;
  const nd = new NineDoor(boot);
  const queen = new NsClient(nd, nd.attach("queen", ""));
  const spawn = '{"spawn":"heartbeat","ticks":5}\n';
  assertEquals(queen.write("/queen/ctl", spawn.repeat(3)), -EBUSY);
  assertEquals(queen.list("/worker"), []);
  assertEquals(queen.write("/queen/ctl", spawn.repeat(2)), spawn.length * 2);
  assertEquals(queen.write("/queen/ctl", " ".repeat(5000)), -EMSGSIZE);
});

Deno.test("NineDoor budget command sets the default budget or lowers one worker's budget", () => {
  const { nd, queen } = hive();
  assertEquals(queen.write("/queen/ctl", '{"budget":{"ttl_s":7,"ops":9}}'), 30);
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":50}');
  assertStringIncludes(
    queen.read("/log/queen.log") as string,
    "spawn worker=worker-1 kind=heartbeat ticks=50 ops=9 ttl_s=7\n",
  );
  nd.advance(3000);
  assertEquals(queen.write("/queen/ctl", '{"budget":{"ticks":2},"worker":"worker-1"}'), 42);
  // Three ticks already ran, so the lowered tick budget is spent at once.
  assertStringIncludes(queen.read("/proc/workers") as string, "worker-1 kind=heartbeat state=exited reason=ticks ");
  assertStringIncludes(queen.read("/log/queen.log") as string, "revoke worker=worker-1 reason=ticks tick=3");
});

Deno.test("NineDoor bind and mount change only the calling session's view", () => {
  const { nd, queen } = hive();
  const other = new NsClient(nd, nd.attach("queen", ""));
  assertEquals(queen.write("/queen/ctl", '{"bind":{"from":"/trace","to":"/queen"}}'), 40);
  assertEquals(queen.list("/queen"), ["ctl", "events"]);
  assertEquals(other.list("/queen"), ["ctl", "lifecycle"]);
  // Through the bind, /queen/ctl is now the trace control file in this session only.
  assertStringIncludes(queen.read("/queen/ctl") as string, '"level":"info"');
  assertEquals(other.read("/queen/ctl"), "");
  assertEquals(other.write("/queen/ctl", '{"mount":{"service":"log","at":"/gpu"}}'), 39);
  assertEquals(other.list("/gpu"), ["queen.log"]);
  assertEquals(queen.list("/gpu"), ["GPU-0", "GPU-1"]);
  assertStringIncludes(queen.read("/log/queen.log") as string, "bind session=0 from=/trace to=/queen\n");
  assertStringIncludes(
    queen.read("/proc/sessions") as string,
    "session id=1 role=queen subject=- state=active",
  );
});

Deno.test("NineDoor refuses a worker's bind with Permission and an audit line", () => {
  const key = keyPair(new Uint8Array(32).fill(6));
  const boot = defaultBootConfig();
  boot.ticketKeys = [key];
  const nd = new NineDoor(boot, new HostTicketVerifier(boot.ticketKeys));
  const queen = new NsClient(nd, nd.attach("queen", ""));
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":50}');
  const worker = new NsClient(
    nd,
    nd.attach(
      "worker-heartbeat",
      testTicket("worker-heartbeat", "worker-1", "00000000000000bb", key.secretKey),
    ),
  );
  assertEquals(worker.write("/queen/ctl", '{"bind":{"from":"/proc","to":"/log"}}'), -EPERM);
  assertStringIncludes(
    queen.read("/log/queen.log") as string,
    "deny op=walk role=worker-heartbeat subject=worker-1 path=/queen reason=role\n",
  );
  assertEquals((queen.read("/proc/sessions") as string).match(/mounts=\d+/g), ["mounts=0", "mounts=0"]);
});
