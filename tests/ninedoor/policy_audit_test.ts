/**
 * PolicyFS, the gate API, AuditFS and ReplayFS over the Namespace API, booted from configs/full.toml
 * (the gated control node is /queen/ctl, rule `queen-ctl`, and `/queen/lifecycle/ctl` stands in for a
 * non-gated control sink; /host is i16b's provider).
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bootConfigFromManifest } from "../../src/codegen/mod.ts";
import type { BootConfig } from "../../src/guest/boot.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EcosystemProviders } from "../../src/guest/ninedoor/ecosystem.ts";
import { EBUSY, EEXIST, EINVAL, EMSGSIZE, ENOENT, EPERM, EROFS } from "../../src/secure9p/errors.ts";
import { O_WRONLY } from "../../src/secure9p/namespace.ts";
import { NsClient } from "./ns_client.ts";
import { fnvRef } from "../support/fnv_ref.ts";
import { HostTicketVerifier, keyPair } from "../../src/host/ticket/codec.ts";
import { testTicket } from "../support/tickets.ts";

const FULL = await bootConfigFromManifest(new URL("../../configs/full.toml", import.meta.url).pathname);

function hive(tweak?: (b: BootConfig) => void) {
  const boot: BootConfig = structuredClone(FULL);
  tweak?.(boot);
  const nd = new NineDoor(boot, null, new EcosystemProviders());
  nd.advance(0);
  return {
    nd,
    queen: new NsClient(nd, nd.attach("queen", "")),
    observer: new NsClient(nd, nd.attach("observer", "")),
  };
}

const enc = new TextEncoder();
/** The write is accepted whole. */
function ok(c: NsClient, path: string, text: string): void {
  assertEquals(c.write(path, text), enc.encode(text).length, `${path} <- ${text}`);
}
const SPAWN = '{"spawn":"heartbeat","ticks":100}\n';
const approve = (id: string, target: string, decision = "approve") =>
  JSON.stringify({ id, target, decision }) + "\n";

function journal(queen: NsClient): Record<string, unknown>[] {
  return (queen.read("/audit/journal") as string).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("policy gate: a gated write without an approval is EPERM and audited; an approval makes it OK once and status reads consumed", () => {
  const { nd, queen } = hive();
  assertEquals(queen.write("/queen/ctl", SPAWN), -EPERM);
  assertEquals(queen.list("/worker"), []);
  const q = approve("a1", "/queen/ctl");
  assertEquals(queen.write("/actions/queue", q), q.length);
  assertEquals(
    queen.read("/actions/a1/status"),
    "id=a1\nstate=queued\ndecision=approve\ntarget=/queen/ctl\nqueued_ms=0\n",
  );
  nd.advance(1500);
  assertEquals(queen.write("/queen/ctl", SPAWN), SPAWN.length);
  assertEquals(queen.list("/worker"), ["worker-1"]);
  assertStringIncludes(queen.read("/actions/a1/status") as string, "state=consumed\n");
  assertStringIncludes(queen.read("/actions/a1/status") as string, "consumed_ms=1500\n");
  // The same write again: the approval was used.
  assertEquals(queen.write("/queen/ctl", SPAWN), -EPERM);
  assertEquals(queen.list("/worker"), ["worker-1"]);
  // Re-queuing the same approval id is refused (an approval is used once).
  assertEquals(queen.write("/actions/queue", q), -EEXIST);
  const log = queen.read("/log/queen.log") as string;
  assertStringIncludes(log, "policy outcome=deny path=/queen/ctl rule=queen-ctl\n");
  assertStringIncludes(log, "policy outcome=queued path=/queen/ctl approval=a1\n");
  assertStringIncludes(log, "policy outcome=consumed path=/queen/ctl approval=a1\n");
  const decisions = (queen.read("/audit/decisions") as string).trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(decisions.map((d) => d.decision), ["deny", "queued", "consumed", "deny", "rejected"]);
  for (const d of decisions) {
    assertEquals(d.role, "queen");
    assertEquals(d.ticket, "none");
    assertEquals(typeof d.ms, "number");
    assertEquals(typeof d.session, "number");
  }
  const writes = journal(queen).filter((r) => r.kind === "write");
  assertEquals(writes.map((r) => [r.path, r.result, r.ms]), [
    ["/queen/ctl", "EPERM", 0],
    ["/queen/ctl", "ok", 1500],
    ["/queen/ctl", "EPERM", 1500],
  ]);
});

Deno.test("policy gate: an approval is not consumed when the gated write itself fails", () => {
  const { queen } = hive();
  const q = approve("a1", "/queen/ctl");
  assertEquals(queen.write("/actions/queue", q), q.length);
  assertEquals(queen.write("/queen/ctl", '{"spawn":"nonsense"}'), -EINVAL);
  assertStringIncludes(queen.read("/actions/a1/status") as string, "state=queued\n");
  assertEquals(queen.write("/queen/ctl", SPAWN), SPAWN.length);
  assertStringIncludes(queen.read("/actions/a1/status") as string, "state=consumed\n");
});

Deno.test("policy gate API gateCheck: policy off allows (and audits nothing without audit); on, it consumes a matching approval once", () => {
  const off = new NineDoor(defaultBootConfig(), null, new EcosystemProviders());
  off.advance(0);
  const t = enc.encode("/host/systemd/cohesix-agent.service/restart");
  assertEquals(off.policyGate!.gateCheck(0, t, 0, t.length), 0);
  const { nd, queen } = hive();
  const s = 0;
  assertEquals(nd.policyGate!.gateCheck(s, t, 0, t.length), -EPERM);
  const q = approve("r1", "/host/systemd/cohesix-agent.service/restart");
  assertEquals(queen.write("/actions/queue", q), q.length);
  assertEquals(nd.policyGate!.gateCheck(s, t, 0, t.length), 0);
  assertStringIncludes(queen.read("/actions/r1/status") as string, "state=consumed\n");
  assertEquals(nd.policyGate!.gateCheck(s, t, 0, t.length), -EPERM);
  // Another unit matches the same rule (`*`) but not this approval's exact target.
  const other = enc.encode("/host/systemd/sshd.service/restart");
  assertEquals(nd.policyGate!.gateCheck(s, other, 0, other.length), -EPERM);
  // A path no rule names is not gated.
  const free = enc.encode("/host/k8s/node/node-1/cordon");
  assertEquals(nd.policyGate!.gateCheck(s, free, 0, free.length), 0);
  nd.policyGate!.auditNote(-1, "host-agent-stale");
  assertEquals(journal(queen).at(-1)?.what, "host-agent-stale");
});

Deno.test("/actions/queue bad input: malformed JSON, unknown decision, bad target, oversized write, duplicate ids and non-queen writes are deterministic errors that queue nothing", () => {
  const { nd, queen, observer } = hive();
  const before = queen.list("/actions");
  const good = approve("ok1", "/queen/ctl");
  const cases: [string, number, string][] = [
    ['{"id":"x","target":"/queen/ctl"', -EINVAL, "bad-json"],
    [good + '{"id":"x2","target":"/queen/ctl","decision":"maybe"}\n', -EINVAL, "unknown-decision"],
    [approve("x3", "/queen/../ctl"), -EINVAL, "bad-target"],
    [approve("x4", "queen/ctl"), -EINVAL, "bad-target"],
    [
      '{"id":"x5","target":"/queen/ctl","decision":"approve","extra":1}\n',
      -EINVAL,
      "need-id-target-decision",
    ],
    ['{"id":"bad id","target":"/queen/ctl","decision":"approve"}\n', -EINVAL, "bad-id"],
    [good + good, -EEXIST, "duplicate-id"],
    ["\n\n", -EINVAL, "empty"],
    [good + " ".repeat(4096), -EMSGSIZE, "oversized"],
  ];
  for (const [text, errno, reason] of cases) {
    assertEquals(queen.write("/actions/queue", text), errno, reason);
    assertEquals(queen.list("/actions"), before, reason);
    assertStringIncludes(
      queen.read("/log/queen.log") as string,
      `policy outcome=rejected file=/actions/queue reason=${reason}\n`,
    );
  }
  // Role rules: the observer may read but never write the queue (EPERM, audited as a role denial).
  assertEquals(observer.open("/actions/queue", O_WRONLY), -EPERM);
  const denied = journal(queen).filter((r) => r.kind === "deny");
  assertEquals(denied.at(-1), { ...denied.at(-1), role: "observer", path: "/actions/queue", reason: "role" });
  assertEquals(queen.list("/actions"), before);
  // The same refusals in the same order give byte-identical journals in a second hive.
  const again = hive();
  for (const [text] of cases) again.queen.write("/actions/queue", text);
  again.observer.open("/actions/queue", O_WRONLY);
  assertEquals(again.queen.read("/audit/journal"), queen.read("/audit/journal"));
  assert(nd.policyGate!.pgDenied === 0);
});

Deno.test("/actions/queue: a full queue evicts the oldest finished approval; all queued is EBUSY and queues nothing", () => {
  const { queen } = hive((b) => (b.ecosystem.policy.queueMaxEntries = 2));
  const ab = approve("a", "/queen/ctl") + approve("b", "/queen/ctl", "deny");
  assertEquals(queen.write("/actions/queue", ab), ab.length);
  assertStringIncludes(queen.read("/actions/b/status") as string, "state=denied\n");
  // A deny decision grants nothing.
  assertEquals(queen.write("/queen/ctl", SPAWN), SPAWN.length);
  assertEquals(queen.write("/queen/ctl", SPAWN), -EPERM);
  const cd = approve("c", "/queen/ctl") + approve("d", "/queen/ctl");
  assertEquals(queen.write("/actions/queue", cd), cd.length);
  assertEquals(queen.list("/actions"), ["queue", "c", "d"]);
  assertEquals(queen.write("/actions/queue", approve("e", "/queen/ctl")), -EBUSY);
  assertEquals(queen.list("/actions"), ["queue", "c", "d"]);
  assertEquals(queen.read("/actions/a/status"), -ENOENT);
});

Deno.test("/policy/ctl: rules come from the manifest, edits are queen-only, reload restores them; /policy/preflight shows the outcome without changing it", () => {
  const { queen, observer } = hive();
  assertEquals(
    queen.read("/policy/rules"),
    "rules=2 source=manifest reloads=0\nrule id=queen-ctl target=/queen/ctl hits=0\nrule id=systemd-restart target=/host/systemd/*/restart hits=0\ngate allowed=0 denied=0 consumed=0\n",
  );
  const add = '{"op":"add","id":"life","target":"/queen/lifecycle/*"}';
  assertEquals(queen.write("/policy/ctl", add), add.length);
  assertEquals(queen.write("/queen/lifecycle/ctl", "cordon"), -EPERM);
  ok(queen, "/policy/ctl", '{"op":"remove","id":"queen-ctl"}');
  assertEquals(queen.write("/queen/ctl", SPAWN), SPAWN.length);
  assertStringIncludes(
    queen.read("/policy/rules") as string,
    "rules=2 source=edited reloads=0\nrule id=systemd-restart",
  );
  ok(queen, "/policy/preflight/req", '{"target":"/queen/lifecycle/ctl"}');
  assertEquals(
    queen.read("/policy/preflight/diff"),
    "target=/queen/lifecycle/ctl\nrule=life\napproval=none\noutcome=deny\nchange=none\n",
  );
  queen.write("/actions/queue", approve("L1", "/queen/lifecycle/ctl"));
  assertEquals(
    queen.read("/policy/preflight/diff"),
    "target=/queen/lifecycle/ctl\nrule=life\napproval=L1\noutcome=allow\nchange=L1 queued->consumed\n",
  );
  assertStringIncludes(queen.read("/actions/L1/status") as string, "state=queued\n");
  ok(queen, "/policy/ctl", '{"op":"reload"}');
  assertStringIncludes(
    queen.read("/policy/rules") as string,
    "rules=2 source=manifest reloads=1\nrule id=queen-ctl",
  );
  ok(queen, "/queen/lifecycle/ctl", "cordon");
  // Bad /policy/ctl input: each a deterministic error, the rules unchanged.
  const rules = queen.read("/policy/rules");
  for (
    const [text, errno] of [
      ['{"op":"add","id":"x","target":"/a/**"}', -EINVAL],
      ['{"op":"add","id":"queen-ctl","target":"/a"}', -EEXIST],
      ['{"op":"remove","id":"nope"}', -ENOENT],
      ['{"op":"explode"}', -EINVAL],
      ["reload", -EINVAL],
      ['{"op":"reload","id":"x"}', -EINVAL],
    ] as [string, number][]
  ) assertEquals(queen.write("/policy/ctl", text), errno, text);
  assertEquals(queen.read("/policy/rules"), rules);
  assertEquals(observer.write("/policy/ctl", '{"op":"reload"}'), -EPERM);
  assertEquals(queen.write("/policy/rules", "x"), -EROFS);
});

Deno.test("/replay after two control writes reports entries 2 and the same FNV-1a 64 hash on every run and in a second hive; a cursor past the end is EINVAL", () => {
  const run = () => {
    const { nd, queen } = hive();
    ok(queen, "/queen/lifecycle/ctl", "cordon reason=maintenance");
    nd.advance(777);
    ok(queen, "/queen/lifecycle/ctl", "resume");
    assertEquals(
      queen.read("/replay/status"),
      '{"state":"idle","runs":0,"from":0,"entries":0,"targets":0,"hash":"","hash_hi":0,"hash_lo":0,"window_start":0,"window_end":2,"refused":0}\n',
    );
    ok(queen, "/replay/ctl", '{"from":0}');
    const first = JSON.parse(queen.read("/replay/status") as string);
    ok(queen, "/replay/ctl", '{"from":0}');
    const second = JSON.parse(queen.read("/replay/status") as string);
    assertEquals([first.entries, first.targets, second.entries, second.hash], [2, 1, 2, first.hash]);
    assertEquals(BigInt("0x" + first.hash), (BigInt(first.hash_hi) << 32n) | BigInt(first.hash_lo));
    assertEquals(
      first.hash,
      fnvRef(["/queen/lifecycle/ctl", "cordon reason=maintenance", "/queen/lifecycle/ctl", "resume"]),
    );
    ok(queen, "/replay/ctl", '{"from":1}');
    assertEquals(JSON.parse(queen.read("/replay/status") as string).entries, 1);
    // Past the end: EINVAL, status unchanged but for the refusal count.
    assertEquals(queen.write("/replay/ctl", '{"from":3}'), -EINVAL);
    for (const bad of ['{"from":-1}', '{"from":"0"}', '{"to":0}', "from=0", '{"from":0,"x":1}']) {
      assertEquals(queen.write("/replay/ctl", bad), -EINVAL, bad);
    }
    ok(queen, "/replay/ctl", '{"from":2}');
    assertEquals(JSON.parse(queen.read("/replay/status") as string).entries, 0);
    return first.hash as string;
  };
  assertEquals(run(), run());
});

Deno.test("/audit/journal at its byte bound drops the oldest whole records and counts them; it never grows past the bound", () => {
  const { nd, queen } = hive((b) => (b.ecosystem.audit.journalMaxBytes = 2048));
  let wrote = 0;
  for (let i = 0; i < 200; i++) {
    nd.advance(i * 10);
    assertEquals(queen.write("/queen/lifecycle/ctl", i % 2 === 0 ? "cordon" : "resume"), 6);
    wrote++;
    const j = nd.auditLog!.ajJournal;
    assert(j.end[0] - j.start[0] <= 2048);
  }
  const text = queen.read("/audit/journal", nd.auditLog!.ajJournal.start[0]) as string;
  const recs = text.trim().split("\n").map((l) => JSON.parse(l));
  // Whole records only, the newest last, sequence numbers consecutive.
  assertEquals(recs.at(-1).seq, wrote - 1);
  for (let i = 1; i < recs.length; i++) assertEquals(recs[i].seq, recs[i - 1].seq + 1);
  const exp = queen.read("/audit/export") as string;
  const line = exp.split("\n").find((l) => l.startsWith("journal "))!;
  const kv = Object.fromEntries(
    line.split(" ").slice(1).map((p) => p.split("=")).map(([k, v]) => [k, Number(v)]),
  );
  assertEquals(kv.bytes_max, 2048);
  assertEquals(kv.records, wrote);
  assertEquals(kv.retained, recs.length);
  assertEquals(kv.dropped_records, wrote - recs.length);
  assert(kv.dropped_records > 150);
  assertEquals(kv.end - kv.start, enc.encode(text).length);
  // A reader whose cursor fell out of the window gets EINVAL (the ring rule), not silently skipped data.
  assertEquals(queen.read("/audit/journal", 0), -EINVAL);
  assertEquals(queen.write("/audit/journal", "forged\n"), -EROFS);
  const bytesPerRecord = Math.round(enc.encode(text).length / recs.length);
  console.log(
    `audit journal: ${bytesPerRecord} bytes per control-write record, ${recs.length} of ${wrote} kept in 2048 bytes`,
  );
});

Deno.test("/audit/decisions at its byte bound and the replay window at its entry bound drop the oldest, count the drops and never grow; a replay cursor below the window is EINVAL", () => {
  const { nd, queen } = hive((b) => {
    b.ecosystem.audit.decisionsMaxBytes = 1024;
    b.ecosystem.audit.replayMaxEntries = 8;
  });
  const exportLine = (name: string) => {
    const line = (queen.read("/audit/export") as string).split("\n").find((l) => l.startsWith(name + " "))!;
    return Object.fromEntries(line.split(" ").slice(1).map((p) => p.split("=")).map(([k, v]) => [k, Number(v)]));
  };
  // 100 denied gated writes: one decision record each, none replayable.
  for (let i = 0; i < 100; i++) {
    nd.advance(i * 10);
    assertEquals(queen.write("/queen/ctl", SPAWN), -EPERM);
    const d = nd.auditLog!.ajDecisions;
    assert(d.end[0] - d.start[0] <= 1024, "decisions never past the bound");
  }
  const text = queen.read("/audit/decisions", nd.auditLog!.ajDecisions.start[0]) as string;
  const recs = text.trim().split("\n").map((l) => JSON.parse(l));
  assert(recs.every((r) => r.decision === "deny"));
  // Whole records, the newest last; a decision carries its journal seq (each denial: decision, then write).
  assertEquals(recs.at(-1).seq, 198);
  for (let i = 1; i < recs.length; i++) assertEquals(recs[i].seq, recs[i - 1].seq + 2, "consecutive denials");
  const dec = exportLine("decisions");
  assertEquals([dec.bytes_max, dec.records, dec.retained], [1024, 100, recs.length]);
  assertEquals(dec.dropped_records, 100 - recs.length);
  assert(dec.dropped_records > 80 && dec.dropped_bytes > 0);
  assertEquals(queen.read("/audit/decisions", 0), -EINVAL, "a cursor below the window");
  // 20 replayable writes into a window of 8: the oldest 12 dropped and counted.
  for (let i = 0; i < 20; i++) ok(queen, "/queen/lifecycle/ctl", i % 2 === 0 ? "cordon" : "resume");
  const rp = exportLine("replay");
  assertEquals([rp.entries_max, rp.recorded, rp.window_start, rp.window_end, rp.dropped], [8, 20, 12, 20, 12]);
  const before = queen.read("/replay/status");
  assertEquals(queen.write("/replay/ctl", '{"from":11}'), -EINVAL, "below the window");
  assertEquals(JSON.parse(queen.read("/replay/status") as string).refused, JSON.parse(before as string).refused + 1);
  ok(queen, "/replay/ctl", '{"from":12}');
  assertEquals(JSON.parse(queen.read("/replay/status") as string).entries, 8);
});

Deno.test("the default manifest keeps policy, audit and replay off: no nodes, control writes ungated", () => {
  const nd = new NineDoor(defaultBootConfig(), null, new EcosystemProviders());
  nd.advance(0);
  const queen = new NsClient(nd, nd.attach("queen", ""));
  for (const p of ["/policy", "/actions", "/audit", "/replay"]) assertEquals(queen.walk(p), -ENOENT, p);
  assertEquals(queen.write("/queen/ctl", SPAWN), SPAWN.length);
});

Deno.test("/audit/journal records carry the ticket id (the ticket's nonce) of a session that attached with a ticket", () => {
  const key = keyPair(new Uint8Array(32).fill(5));
  const boot: BootConfig = structuredClone(FULL);
  boot.ticketKeys = [key];
  const nd = new NineDoor(boot, new HostTicketVerifier(boot.ticketKeys), new EcosystemProviders());
  nd.advance(1000);
  const ticket = testTicket("queen", "ops-alice", "00000000000000a7", key.secretKey);
  const queen = new NsClient(nd, nd.attach("queen", ticket));
  assert(queen.session >= 0);
  assertEquals(queen.write("/queen/ctl", SPAWN), -EPERM);
  const rec = journal(queen).find((r) => r.kind === "write")!;
  assertEquals([rec.role, rec.ticket, rec.ms, rec.path, rec.result], [
    "queen",
    "00000000000000a7",
    1000,
    "/queen/ctl",
    "EPERM",
  ]);
});
