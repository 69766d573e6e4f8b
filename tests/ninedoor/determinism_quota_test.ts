/** Determinism under an injected clock, and per-ticket quotas and scopes. */
import { assert, assertEquals, assertNotEquals, assertStringIncludes } from "../support/assert.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EMSGSIZE, EPERM } from "../../src/secure9p/errors.ts";
import { type Claims, HostTicketVerifier, keyPair } from "../../src/host/ticket/codec.ts";
import { testTicket } from "../support/tickets.ts";
import { NsClient } from "./ns_client.ts";

const KEY = keyPair(new Uint8Array(32).fill(11));

function workerTicket(over: Partial<Claims> = {}): string {
  return testTicket("worker-heartbeat", "worker-1", "00000000000000dd", KEY.secretKey, over);
}

function hive() {
  const boot = defaultBootConfig();
  boot.ticketKeys = [KEY];
  boot.traceLevel = "debug";
  const nd = new NineDoor(boot, new HostTicketVerifier(boot.ticketKeys));
  nd.advance(0);
  return { nd, queen: new NsClient(nd, nd.attach("queen", "")) };
}

/** One scripted run; `step` is the clock increment between events. */
function script(step: number): string {
  const { nd, queen } = hive();
  queen.write(
    "/queen/ctl",
    '{"spawn":"heartbeat","ticks":7}\n{"spawn":"heartbeat","ticks":30,"budget":{"ttl_s":9}}',
  );
  const w = new NsClient(nd, nd.attach("worker-heartbeat", workerTicket()));
  let now = 0;
  for (let i = 0; i < 12; i++) {
    now += step;
    nd.advance(now);
    w.write("/worker/worker-1/telemetry", `note ${i}\n`);
    w.walk("/queen/ctl");
  }
  queen.write("/queen/ctl", '{"kill":"worker-2"}\n{"bogus":1}');
  return [queen.read("/log/queen.log"), queen.read("/trace/events"), queen.read("/proc/pressure")].join(
    "\n--\n",
  );
}

Deno.test("NineDoor logs are byte-identical for the same events and clock, and follow the clock", () => {
  const a = script(700);
  assertEquals(script(700), a);
  assertNotEquals(script(900), a);
  assertStringIncludes(a, "revoke worker=worker-1 reason=ticks tick=7");
  assertStringIncludes(a, "deny op=walk role=worker-heartbeat subject=worker-1 path=/queen reason=role");
});

Deno.test("NineDoor enforces a ticket's op quota with TooBig and an audit line", () => {
  const { nd, queen } = hive();
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100}');
  const w = new NsClient(
    nd,
    nd.attach("worker-heartbeat", workerTicket({ quota: { ops: 3, bytes: 0, fids: 0 } })),
  );
  assert(w.walk("/proc/boot") >= 0); // 2 ops
  assert(w.walk("/log") >= 0); // 3 ops
  assertEquals(w.walk("/log"), -EMSGSIZE);
  assertStringIncludes(
    queen.read("/log/queen.log") as string,
    "deny op=walk role=worker-heartbeat subject=worker-1 path=/ reason=quota-ops\n",
  );
});

Deno.test("NineDoor enforces a ticket's byte and open-node quotas", () => {
  const { nd, queen } = hive();
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100}');
  const w = new NsClient(
    nd,
    nd.attach("worker-heartbeat", workerTicket({ quota: { ops: 0, bytes: 40, fids: 2 } })),
  );
  const a = w.open("/proc/boot");
  const b = w.open("/log/queen.log");
  assert(a >= 0 && b >= 0);
  assertEquals(w.open("/worker/worker-1/telemetry"), -EMSGSIZE);
  nd.clunk(w.session, b);
  assert(w.open("/worker/worker-1/telemetry") >= 0);
  // 40 bytes in all: the read is cut to what is left, then refused.
  const text = w.readNode(a);
  assertEquals(text, -EMSGSIZE);
  assertEquals(w.writeNode(w.walk("/worker/worker-1/telemetry"), "x\n"), -EMSGSIZE);
  const log = queen.read("/log/queen.log") as string;
  assertStringIncludes(log, "reason=quota-fids\n");
  assertStringIncludes(log, "reason=quota-bytes\n");
});

Deno.test("NineDoor narrows a session to its ticket scopes and refuses quotas above the role ceiling", () => {
  const { nd, queen } = hive();
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100}');
  const w = new NsClient(
    nd,
    nd.attach("worker-heartbeat", workerTicket({ scopes: [{ path: "/worker", mode: "rw" }] })),
  );
  assert(w.session >= 0);
  assertEquals(w.write("/worker/worker-1/telemetry", "ok\n"), 3);
  // The role allows /proc/boot, the ticket's scopes do not.
  assertEquals(w.walk("/proc"), -EPERM);
  assertEquals(
    nd.attach("worker-heartbeat", workerTicket({ quota: { ops: 0, bytes: 10 ** 9, fids: 0 } })),
    -EPERM,
  );
});
