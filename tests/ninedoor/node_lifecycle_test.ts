/**
 * Node lifecycle over the Namespace API (reference §4): /proc/lifecycle/{state,reason,since},
 * /queen/lifecycle/ctl, the whole transition table (every action from every state, valid or not),
 * the outstanding-lease gate, one log line per transition or denial, and the gates on worker
 * attach, spawn, telemetry and GPU jobs.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type BootConfig, defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EBUSY, EINVAL, EPERM, EROFS } from "../../src/secure9p/errors.ts";
import { O_WRONLY } from "../../src/secure9p/namespace.ts";
import { HostTicketVerifier, keyPair } from "../../src/host/ticket/codec.ts";
import { TicketStatus } from "../../src/guest/tickets/ticket.ts";
import { testTicket } from "../support/tickets.ts";
import { NsClient } from "./ns_client.ts";
import { LIFECYCLE_ACTIONS, LIFECYCLE_STATES } from "../../src/guest/ninedoor/providers/lifecycle.ts";
import { LIFECYCLE_STATES as SCHEMA_STATES } from "../../src/codegen/schema.ts";

const KEY = keyPair(new Uint8Array(32).fill(9));
const CTL = "/queen/lifecycle/ctl";

function hive(tweak?: (b: BootConfig) => void) {
  const boot = defaultBootConfig();
  boot.ticketKeys = [KEY];
  tweak?.(boot);
  const nd = new NineDoor(boot, new HostTicketVerifier(boot.ticketKeys));
  nd.advance(1000);
  return { nd, queen: new NsClient(nd, nd.attach("queen", "")) };
}

function logSince(nd: NineDoor, from: number): string[] {
  const b = new Uint8Array(nd.logEnd() - from);
  nd.readLog(from, b, 0, b.length);
  return new TextDecoder().decode(b).split("\n").filter(Boolean);
}

function state(q: NsClient): string {
  return (q.read("/proc/lifecycle/state") as string).trim();
}

/** Expected target of `action` from `from` (the reference §4 table, written out independently). */
function expected(action: string, from: string): string | null {
  switch (action) {
    case "cordon":
      return from === "ONLINE" || from === "DEGRADED" ? "DRAINING" : null;
    case "drain":
      return from === "DRAINING" ? "QUIESCED" : null;
    case "quiesce":
      return ["ONLINE", "DEGRADED", "DRAINING"].includes(from) ? "QUIESCED" : null;
    case "resume":
      return from !== "ONLINE" ? "ONLINE" : null;
    case "reset":
      return from !== "BOOTING" ? "BOOTING" : null;
  }
  return null;
}

Deno.test("lifecycle state names agree between the guest and the manifest schema", () => {
  assertEquals(LIFECYCLE_STATES, [...SCHEMA_STATES]);
});

Deno.test("lifecycle boots BOOTING and the manifest's auto transition takes it ONLINE with one log line", () => {
  const { nd, queen } = hive();
  assertEquals(queen.list("/proc/lifecycle"), ["state", "reason", "since"]);
  assertEquals(queen.read("/proc/lifecycle/state"), "state=ONLINE\n");
  assertEquals(queen.read("/proc/lifecycle/reason"), "reason=boot-complete\n");
  assertEquals(queen.read("/proc/lifecycle/since"), "since_ms=0\n");
  const log = logSince(nd, 0);
  assertEquals(log.filter((l) => l.startsWith("lifecycle ")), ["lifecycle transition old=BOOTING new=ONLINE reason=boot-complete"]);
  // Read-only files; the control file is write-only for the queen.
  assertEquals(queen.open("/proc/lifecycle/state", O_WRONLY), -EROFS);
});

Deno.test("lifecycle without auto transitions stays in the manifest's initial state", () => {
  const { queen } = hive((b) => (b.lifecycle = { initialState: "OFFLINE", autoTransitions: [] }));
  assertEquals(state(queen), "state=OFFLINE");
  assertEquals(queen.read("/proc/lifecycle/reason"), "reason=boot\n");
  assertEquals(queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":3}'), -EPERM);
  assertEquals(queen.write(CTL, "resume\n"), 7);
  assertEquals(state(queen), "state=ONLINE");
});

Deno.test("lifecycle: every action from every state transitions per the table or is refused invalid-transition", () => {
  let checked = 0;
  for (const from of LIFECYCLE_STATES) {
    for (const action of LIFECYCLE_ACTIONS) {
      const { nd, queen } = hive((b) => (b.lifecycle = { initialState: from, autoTransitions: [] }));
      nd.advance(5000);
      const before = nd.logEnd();
      const r = queen.write(CTL, action + "\n");
      const to = expected(action, from);
      const lines = logSince(nd, before);
      if (to === null) {
        assertEquals(r, -EINVAL, `${action} from ${from}`);
        assertEquals(state(queen), `state=${from}`, `${action} from ${from} leaves the state`);
        assertEquals(lines, [`lifecycle denied action=${action} state=${from} reason=invalid-transition`]);
      } else {
        assertEquals(r, action.length + 1, `${action} from ${from}`);
        assertEquals(state(queen), `state=${to}`);
        assertEquals(queen.read("/proc/lifecycle/reason"), `reason=${action}\n`);
        assertEquals(queen.read("/proc/lifecycle/since"), "since_ms=5000\n");
        assertEquals(lines, [`lifecycle transition old=${from} new=${to} reason=${action}`]);
      }
      checked++;
    }
  }
  assertEquals(checked, 30);
});

Deno.test("lifecycle refuses unknown and malformed commands as invalid-command and changes nothing", () => {
  const { nd, queen } = hive();
  const bad = ["explode\n", "\n", "CORDON\n", "cordon now\n", "cordon reason=\n", "cordon reason=a b\n", "cordon\nresume\n",
    `cordon reason=${"x".repeat(65)}\n`, "cordon\u0000\n"];
  for (const cmd of bad) {
    const before = nd.logEnd();
    assertEquals(queen.write(CTL, cmd), -EINVAL, JSON.stringify(cmd));
    const lines = logSince(nd, before);
    assertEquals(lines.length, 1, JSON.stringify(cmd));
    assert(lines[0].startsWith("lifecycle denied action=") && lines[0].endsWith(" state=ONLINE reason=invalid-command"), lines[0]);
    assertEquals(lines[0].split(" ").length, 5, `one bounded token for the action: ${lines[0]}`);
  }
  assertEquals(state(queen), "state=ONLINE");
  // An operator reason is kept and logged.
  assertEquals(queen.write(CTL, "cordon reason=kernel-upgrade\n"), 29);
  assertEquals(queen.read("/proc/lifecycle/reason"), "reason=kernel-upgrade\n");
  assertEquals(logSince(nd, 0).at(-1), "lifecycle transition old=ONLINE new=DRAINING reason=kernel-upgrade");
});

Deno.test("lifecycle drain, quiesce and reset are refused while a GPU lease is outstanding", () => {
  const { nd, queen } = hive();
  queen.write("/queen/ctl", '{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":512,"streams":1,"ttl_s":60}}');
  for (const action of ["quiesce", "reset"]) {
    const before = nd.logEnd();
    assertEquals(queen.write(CTL, action), -EBUSY);
    assertEquals(logSince(nd, before), [`lifecycle denied action=${action} state=ONLINE reason=outstanding-leases leases=1`]);
  }
  assertEquals(queen.write(CTL, "cordon"), 6);
  const before = nd.logEnd();
  assertEquals(queen.write(CTL, "drain"), -EBUSY);
  assertEquals(logSince(nd, before), ["lifecycle denied action=drain state=DRAINING reason=outstanding-leases leases=1"]);
  // The lease ends with its worker; then the drain goes through and QUIESCED holds no lease.
  queen.write("/queen/ctl", '{"kill":"worker-1"}');
  assertEquals(queen.write(CTL, "drain"), 5);
  assertEquals(state(queen), "state=QUIESCED");
});

Deno.test("a cordoned hive refuses worker attach and spawn; running workers keep writing telemetry until QUIESCED", () => {
  const { nd, queen } = hive();
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100}');
  const tk = testTicket("worker-heartbeat", "worker-1", "00000000000000aa", KEY.secretKey);
  const early = new NsClient(nd, nd.attach("worker-heartbeat", tk));
  assertEquals(queen.write(CTL, "cordon"), 6);
  assertEquals(state(queen), "state=DRAINING");
  let before = nd.logEnd();
  assertEquals(nd.attach("worker-heartbeat", tk), -EPERM);
  assertEquals(nd.lastAttachStatus, TicketStatus.LifecycleDenied);
  assertEquals(nd.lastAttachState, "DRAINING");
  assertEquals(logSince(nd, before), [
    "lifecycle denied action=worker-attach state=DRAINING reason=gate-denied",
    "attach outcome=deny role=worker-heartbeat reason=lifecycle-denied",
  ]);
  // The queen and observers still attach.
  assert(nd.attach("queen", "") >= 0);
  assert(nd.attach("observer", "") >= 0);
  before = nd.logEnd();
  assertEquals(queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":5}'), -EPERM);
  assertEquals(logSince(nd, before), [
    "lifecycle denied action=spawn state=DRAINING reason=gate-denied",
    "queen-ctl outcome=reject line=1 error=EPERM reason=lifecycle-denied",
  ]);
  // Telemetry still flows in DRAINING (reference), on the sharded path and its alias.
  assertEquals(early.write("/worker/worker-1/telemetry", "still here\n"), 11);
  assertEquals(queen.write(CTL, "quiesce"), 7);
  assertEquals(early.write("/shard/13/worker/worker-1/telemetry", "gone\n"), -EPERM);
  assertEquals(logSince(nd, 0).at(-1), "lifecycle denied action=worker-telemetry state=QUIESCED reason=gate-denied");
  // resume opens the gates again.
  assertEquals(queen.write(CTL, "resume"), 6);
  assert(nd.attach("worker-heartbeat", tk) >= 0);
  assertEquals(queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":5}'), 31);
});

Deno.test("lifecycle control is the queen's alone: observer and worker writes are Permission", () => {
  const { nd, queen } = hive();
  queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100}');
  const obs = new NsClient(nd, nd.attach("observer", ""));
  assertEquals(obs.read("/proc/lifecycle/state"), "state=ONLINE\n");
  assertEquals(obs.write(CTL, "cordon"), -EPERM);
  const tk = testTicket("worker-heartbeat", "worker-1", "00000000000000aa", KEY.secretKey);
  const worker = new NsClient(nd, nd.attach("worker-heartbeat", tk));
  assertEquals(worker.write(CTL, "cordon"), -EPERM);
  assertEquals(worker.read("/proc/lifecycle/state"), -EPERM);
  assertEquals(state(queen), "state=ONLINE");
});
