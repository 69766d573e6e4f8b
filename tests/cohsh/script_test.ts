import { assertEquals, assertThrows } from "../support/assert.ts";
import { parseScript, runSteps, ScriptError } from "../../src/host/cohsh/script.ts";
import type { ShellReply } from "../../src/host/cohsh/shell.ts";
import { spawnJson, toWire } from "../../src/host/cohsh/shell.ts";
import { parseAck } from "../../src/guest/console/grammar.ts";

function reply(...lines: string[]): ShellReply {
  const ackLine = lines.find((l) => parseAck(l) !== null) ?? "";
  return { lines, ack: parseAck(ackLine), ackLine, closed: false };
}

Deno.test("parseScript groups EXPECT lines under their command and skips comments", () => {
  const steps = parseScript("# c\n\nattach queen\nEXPECT OK\nEXPECT SUBSTR role=queen\nWAIT 10\ncat /x\nEXPECT ERR\n", "t.coh");
  assertEquals(steps.map((s) => [s.line, s.command, s.waitMs, s.expects.map((e) => e.expect.type)]), [
    [3, "attach queen", 0, ["OK", "SUBSTR"]],
    [6, "", 10, []],
    [7, "cat /x", 0, ["ERR"]],
  ]);
});

Deno.test("parseScript refuses malformed scripts with the file and line", () => {
  assertThrows(() => parseScript("EXPECT OK\n", "a.coh"), /^a\.coh:1: EXPECT needs a command before it$/);
  assertThrows(() => parseScript("ping\nWAIT 2001\n", "a.coh"), /a\.coh:2: WAIT 2001 is over the 2000 ms limit/);
  assertThrows(() => parseScript("ping\nEXPECT MAYBE\n", "a.coh"), /a\.coh:2: expected 'EXPECT OK'/);
  assertThrows(() => parseScript("ping\n".repeat(257), "big.coh"), /257 lines, the limit is 256/);
  const e = assertThrows(() => parseScript("ping\nEXPECT SUBSTR\n", "a.coh"));
  assertEquals(e instanceof ScriptError, true);
});

Deno.test("runSteps stops at the first ERR the script does not expect", async () => {
  const steps = parseScript("cat /nope\nEXPECT ERR\ncat /also-nope\nping\n", "s.coh");
  const ran: string[] = [];
  const r = await runSteps(steps, (c) => {
    ran.push(c);
    return Promise.resolve(c === "ping" ? reply("PONG", "OK PING reply=pong") : reply("ERR CAT reason=policy"));
  }, () => {});
  assertEquals(ran, ["cat /nope", "cat /also-nope"]);
  assertEquals(r.ok, false);
  assertEquals(r.failure, { line: 3, command: "cat /also-nope", reason: "unexpected ERR", ackLine: "ERR CAT reason=policy" });
});

Deno.test("runSteps fails an EXPECT that is not met and reports its line", async () => {
  const steps = parseScript("attach queen\nEXPECT SUBSTR role=worker\n", "s.coh");
  const r = await runSteps(steps, () => Promise.resolve(reply("OK ATTACH role=queen")), () => {});
  assertEquals(r.failure?.line, 2);
  assertEquals(r.failure?.reason, "EXPECT SUBSTR role=worker not met");
  const ok = await runSteps(parseScript("ping\nEXPECT OK\nEXPECT NOT ERR\n", "s.coh"), () => Promise.resolve(reply("PONG", "OK PING")), () => {});
  assertEquals(ok, { ok: true, steps: 1 });
});

Deno.test("runSteps echoes the transcript: prompt line, then every reply line", async () => {
  const out: string[] = [];
  await runSteps(parseScript("cat /a\n", "s.coh"), () => Promise.resolve(reply("OK CAT path=/a data=x", "x", "END")), (l) => out.push(l));
  assertEquals(out, ["coh> cat /a", "OK CAT path=/a data=x", "x", "END"]);
});

Deno.test("toWire turns shell forms into console wire lines", () => {
  assertEquals(toWire("echo hello world > /log/queen.log"), { kind: "wire", verb: 8, wire: "ECHO /log/queen.log hello world" });
  assertEquals(toWire('echo "a > b" > /x'), { kind: "wire", verb: 8, wire: "ECHO /x a > b" });
  assertEquals(toWire("cat /proc/boot"), { kind: "wire", verb: 6, wire: "CAT /proc/boot" });
  assertEquals(toWire("Attach queen"), { kind: "wire", verb: 2, wire: "ATTACH queen" });
  assertEquals(toWire("frob x"), { kind: "wire", verb: 0, wire: "frob x" });
  assertEquals(toWire("   "), { kind: "empty" });
  assertEquals(toWire("echo hello").kind, "local-error");
  assertEquals(toWire("attach").kind, "local-error");
  assertEquals(toWire("attach a b c").kind, "local-error");
});

Deno.test("toWire refuses a malformed ticket before it reaches the wire", () => {
  const r = toWire("attach worker-heartbeat not-a-ticket");
  assertEquals(r.kind, "local-error");
  assertEquals(toWire("attach worker-heartbeat cht1.abc.def"), { kind: "wire", verb: 2, wire: "ATTACH worker-heartbeat cht1.abc.def" });
});

Deno.test("spawnJson builds the /queen/ctl JSON of the shell spawn forms in reference key order", () => {
  assertEquals(spawnJson(["heartbeat", "ticks=3"]), '{"spawn":"heartbeat","ticks":3}');
  assertEquals(spawnJson(["heartbeat", "ticks=1", "ttl_s=30"]), '{"spawn":"heartbeat","ticks":1,"budget":{"ttl_s":30}}');
  assertEquals(spawnJson(["heartbeat", "ops=5", "ticks=2", "ttl_s=9"]), '{"spawn":"heartbeat","ticks":2,"budget":{"ttl_s":9,"ops":5}}');
  assertEquals(
    spawnJson(["gpu", "gpu_id=GPU-0", "mem_mb=1024", "streams=2", "ttl_s=60", "priority=3"]),
    '{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1024,"streams":2,"ttl_s":60,"priority":3}}',
  );
  assertEquals(spawnJson(["heartbeat"]), { error: "spawn heartbeat: ticks= is required (spawn heartbeat ticks=N [ttl_s=T] [ops=O] | spawn gpu gpu_id=ID mem_mb=M streams=S ttl_s=T [priority=P] [budget_ttl_s=T] [budget_ops=O] | spawn <json>)" });
  assertEquals((spawnJson(["heartbeat", "ticks=x"]) as { error: string }).error, "spawn: ticks must be a non-negative integer, got 'x'");
  assertEquals((spawnJson(["heartbeat", "ticks=1", "color=red"]) as { error: string }).error.startsWith("spawn heartbeat: unknown key color"), true);
  assertEquals((spawnJson(["robot"]) as { error: string }).error.startsWith("spawn: unknown worker kind 'robot'"), true);
  assertEquals(toWire("spawn heartbeat ticks=4"), { kind: "wire", verb: 10, wire: 'SPAWN {"spawn":"heartbeat","ticks":4}' });
  assertEquals(toWire('spawn {"spawn":"heartbeat","ticks":4}'), { kind: "wire", verb: 10, wire: 'SPAWN {"spawn":"heartbeat","ticks":4}' });
});
