/**
 * `/host` (the host sidecar's files) over the Namespace API, booted from configs/full.toml: the
 * agent's publish protocol and its refusals (no partial state), control writes gated by the policy
 * (`/host/systemd/*\/restart`) and journaled, the actions the agent carries out, replay of k8s writes,
 * and the agent going stale on silence or on the end of its session.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bootConfigFromManifest } from "../../src/codegen/mod.ts";
import type { BootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EcosystemProviders } from "../../src/guest/ninedoor/ecosystem.ts";
import { EAGAIN, EINVAL, EMSGSIZE, ENOENT, ENOSPC, EPERM } from "../../src/secure9p/errors.ts";
import { NsClient } from "./ns_client.ts";
import { fnvRef } from "../support/fnv_ref.ts";

const FULL = await bootConfigFromManifest(new URL("../../configs/full.toml", import.meta.url).pathname);

function hive(tweak?: (b: BootConfig) => void) {
  const boot: BootConfig = structuredClone(FULL);
  tweak?.(boot);
  const nd = new NineDoor(boot, null, new EcosystemProviders());
  nd.advance(1000);
  const agent = new NsClient(nd, nd.attach("queen", ""));
  const queen = new NsClient(nd, nd.attach("queen", ""));
  return { nd, agent, queen };
}

const enc = new TextEncoder();
function ok(c: NsClient, path: string, text: string): void {
  assertEquals(c.write(path, text), enc.encode(text).length, `${path} <- ${text}`);
}
const approve = (id: string, target: string) => JSON.stringify({ id, target, decision: "approve" }) + "\n";

/** The sample set `cohesix host-agent --sample` publishes. */
function publishSample(agent: NsClient): void {
  ok(agent, "/host/ctl", "hello agent-test\n");
  ok(agent, "/host/ctl", "entry systemd cohesix-agent.service active (running)\n");
  ok(agent, "/host/ctl", "entry k8s node-1 Ready\n");
  ok(agent, "/host/ctl", "entry docker registry running\n");
  ok(agent, "/host/ctl", "provider nvidia absent\n");
}

Deno.test("/host: the agent publishes entries; each gets its status and its provider's control files", () => {
  const { agent, queen } = hive();
  assertEquals(queen.read("/host/status"), "agent=absent reason=none last_seen_ms=0 stale_ms=15000 entries=0 max_entries=32 actions=0\n");
  assertEquals(queen.list("/host"), ["status", "ctl", "actions", "systemd", "k8s", "docker", "nvidia"]);
  publishSample(agent);
  assertEquals(
    queen.read("/host/status"),
    "agent=live id=agent-test reason=none last_seen_ms=1000 stale_ms=15000 entries=3 max_entries=32 actions=0\n",
  );
  assertEquals(queen.list("/host/systemd/cohesix-agent.service"), ["status", "restart"]);
  assertEquals(queen.list("/host/k8s/node/node-1"), ["status", "cordon", "drain"]);
  assertEquals(queen.list("/host/docker/registry"), ["status", "restart"]);
  assertEquals(queen.read("/host/systemd/cohesix-agent.service/status"), "status=active (running)\nseen_ms=1000\nagent=live\n");
  assertEquals(queen.read("/host/nvidia/status"), "state=absent entries=0\n");
  assertEquals(queen.read("/host/k8s/status"), "state=present entries=1\n");
  assertEquals(queen.read("/host/systemd/status"), "state=present entries=1\n");
  // An update replaces the status in place, no new entry.
  ok(agent, "/host/ctl", "entry k8s node-1 Ready,SchedulingDisabled\n");
  assertEquals(queen.read("/host/k8s/node/node-1/status"), "status=Ready,SchedulingDisabled\nseen_ms=1000\nagent=live\n");
  assertStringIncludes(queen.read("/host/status") as string, " entries=3 ");
});

Deno.test("/host/ctl refuses malformed, unknown, foreign and oversized commands, and nothing changes", () => {
  const { agent, queen, nd } = hive((b) => (b.ecosystem.host.maxEntries = 2));
  assertEquals(agent.write("/host/ctl", "entry systemd a.service active\n"), -EINVAL, "no hello yet");
  ok(agent, "/host/ctl", "hello agent-test\n");
  const before = queen.read("/host/status");
  const bad: [string, number][] = [
    ["", EINVAL],
    ["frob\n", EINVAL],
    ["beat now\n", EINVAL],
    ["entry lora x up\n", EINVAL], // not a manifest provider
    ["entry systemd\n", EINVAL],
    ["entry systemd a.service\n", EINVAL], // no status
    ["entry systemd a/b up\n", EINVAL], // a name cannot carry a path
    ["entry systemd .. up\n", EINVAL],
    [`entry systemd ${"n".repeat(65)} up\n`, EINVAL],
    [`entry systemd a.service ${"s".repeat(161)}\n`, EINVAL],
    ["entry systemd a.service up\u0007\n", EINVAL],
    ["provider systemd maybe\n", EINVAL],
    ["done 1 ok\n", EINVAL], // no such action
    ["done x ok\n", EINVAL],
    [`hello ${"a".repeat(33)}\n`, EINVAL],
    [`entry systemd a ${"x".repeat(300)}\n`, EMSGSIZE],
  ];
  for (const [line, errno] of bad) assertEquals(agent.write("/host/ctl", line), -errno, JSON.stringify(line));
  assertEquals(queen.read("/host/status"), before);
  assertEquals(queen.list("/host/systemd"), ["status"]);
  // Another session is not the agent: its commands are refused.
  assertEquals(queen.write("/host/ctl", "entry systemd a.service up\n"), -EINVAL);
  // The table holds max_entries; one more is ENOSPC with no files added.
  ok(agent, "/host/ctl", "entry systemd a.service up\n");
  ok(agent, "/host/ctl", "entry systemd b.service up\n");
  assertEquals(agent.write("/host/ctl", "entry systemd c.service up\n"), -ENOSPC);
  assertEquals(queen.list("/host/systemd"), ["status", "a.service", "b.service"]);
  // Observers read /host but cannot publish.
  const observer = new NsClient(nd, nd.attach("observer", ""));
  assertEquals(observer.write("/host/ctl", "hello other\n"), -EPERM);
  assertEquals(observer.read("/host/systemd/a.service/status"), "status=up\nseen_ms=1000\nagent=live\n");
});

Deno.test("/host restart is gated: EPERM without approval, OK once with one (status consumed), an action for the agent, EPERM again", () => {
  const { nd, agent, queen } = hive();
  publishSample(agent);
  const restart = "/host/systemd/cohesix-agent.service/restart";
  assertEquals(queen.write(restart, "restart\n"), -EPERM);
  assertEquals(queen.read("/host/actions"), "");
  ok(queen, "/actions/queue", approve("r1", restart));
  nd.advance(2000);
  ok(queen, restart, "restart\n");
  assertStringIncludes(queen.read("/actions/r1/status") as string, "state=consumed\n");
  const entry = "/host/systemd/cohesix-agent.service";
  assertEquals(queen.read("/host/actions"), `seq=1 action=restart target=${entry}\n`);
  assertEquals(queen.write(restart, "restart\n"), -EPERM, "the approval was used once");
  // The agent reports the outcome; only for an action that exists.
  ok(agent, "/host/ctl", "done 1 ok\n");
  assertEquals(agent.write("/host/ctl", "done 2 ok\n"), -EINVAL);
  assertEquals(queen.read("/host/actions"), `seq=1 action=restart target=${entry}\nseq=1 done=ok\n`);
  // Every decision is journaled: the refused write, the allowed one, the refused retry.
  const journal = (queen.read("/audit/journal") as string).trim().split("\n").map((l) => JSON.parse(l));
  const writes = journal.filter((r) => r.kind === "write" && r.path === restart).map((r) => r.result);
  assertEquals(writes, ["EPERM", "ok", "EPERM"]);
  assertStringIncludes(queen.read("/log/queen.log") as string, "host action seq=1 action=restart entry=cohesix-agent.service\n");
});

Deno.test("/host k8s cordon and drain are not gated, reach the agent, and replay as two entries with a stable hash", () => {
  const run = () => {
    const { agent, queen } = hive();
    publishSample(agent);
    ok(queen, "/host/k8s/node/node-1/cordon", "cordon\n");
    ok(queen, "/host/k8s/node/node-1/drain", "drain\n");
    assertEquals(
      queen.read("/host/actions"),
      "seq=1 action=cordon target=/host/k8s/node/node-1\nseq=2 action=drain target=/host/k8s/node/node-1\n",
    );
    ok(queen, "/replay/ctl", '{"from":0}\n');
    return JSON.parse(queen.read("/replay/status") as string);
  };
  const a = run();
  const b = run();
  assertEquals(a.entries, 2);
  assertEquals(a, b, "the same writes replay to the same hash");
  // An independent oracle (BigInt FNV-1a 64) over the two journaled k8s actions, as written.
  assertEquals(a.hash, fnvRef(["/host/k8s/node/node-1/cordon", "cordon\n", "/host/k8s/node/node-1/drain", "drain\n"]));
});

Deno.test("/host agent: stale after stale_ms of silence (control writes EAGAIN), live again on its word; stale at once when its session ends", () => {
  const { nd, agent, queen } = hive((b) => (b.ecosystem.host.staleMs = 5000));
  publishSample(agent);
  nd.advance(5000); // the clock is absolute: now = 5000
  ok(agent, "/host/ctl", "beat\n");
  nd.advance(10001);
  assertStringIncludes(queen.read("/host/status") as string, "agent=stale id=agent-test reason=heartbeat-timeout last_seen_ms=5000 ");
  assertEquals(queen.read("/host/k8s/node/node-1/status"), "status=Ready\nseen_ms=1000\nagent=stale\n", "the last state, marked stale");
  assertEquals(queen.write("/host/k8s/node/node-1/cordon", "cordon\n"), -EAGAIN, "nobody would carry it out");
  assertEquals(queen.read("/host/actions"), "");
  ok(agent, "/host/ctl", "beat\n");
  assertStringIncludes(queen.read("/host/status") as string, "agent=live ");
  // A crash closes the agent's session: stale at once, without waiting for stale_ms.
  nd.detach(agent.session);
  assertStringIncludes(queen.read("/host/status") as string, "agent=stale id=agent-test reason=session-closed ");
  const log = queen.read("/log/queen.log") as string;
  assertStringIncludes(log, "host agent stale reason=heartbeat-timeout last_seen_ms=5000\n");
  assertStringIncludes(log, "host agent stale reason=session-closed last_seen_ms=10001\n");
  // The hive keeps serving; a new agent takes over with hello.
  assertEquals(queen.read("/proc/boot").toString().length > 0, true);
  const next = new NsClient(nd, nd.attach("queen", ""));
  ok(next, "/host/ctl", "hello agent-2\n");
  assertStringIncludes(queen.read("/host/status") as string, "agent=live id=agent-2 ");
  assertEquals(queen.walk("/host/nope"), -ENOENT);
});
