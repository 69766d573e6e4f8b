/**
 * The host sidecar end to end against `cohesix dev --manifest configs/full.toml` processes: the
 * gated restart through the in-process sample agent (`--host-sample`), `cohesix host-agent --once`
 * publishing what this machine really has, and an agent crash leaving the hive serving with /host
 * marked stale. Plus the tool-output parsers on recorded outputs.
 */
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { withDevPorts } from "../support/dev.ts";
import { NinepQueen } from "../support/ninep_queen.ts";
import { fnvRef } from "../support/fnv_ref.ts";
import { discover, hiveName, hiveStatus, PARSERS, runTool } from "../../src/host/host_agent/discover.ts";
import { actionCommand, HostAgent, parseActions } from "../../src/host/host_agent/agent.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const FULL = ["--manifest", new URL("../../configs/full.toml", import.meta.url).pathname];
const dec = new TextDecoder();

Deno.test("dev --host-sample: restart EPERM, approved OK and consumed, carried out by the agent, EPERM again; two k8s writes replay as 2 entries", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const q = await NinepQueen.attach(ninepPort);
    try {
      assertMatch(await q.read("/host/status"), /^agent=live id=host-sample reason=none .* entries=6 max_entries=32 actions=0\n$/);
      const restart = "/host/systemd/cohesix-agent.service/restart";
      assertEquals(await q.write(restart, "restart\n"), "EPERM");
      const approval = '{"id":"r1","target":"/host/systemd/cohesix-agent.service/restart","decision":"approve"}\n';
      assertEquals(await q.write("/actions/queue", approval), approval.length);
      assertEquals(await q.write(restart, "restart\n"), 8);
      assertStringIncludes(await q.read("/actions/r1/status"), "state=consumed\n");
      assertEquals(await q.write(restart, "restart\n"), "EPERM");
      // The agent carries the restart out and re-publishes the unit.
      await q.until("/host/actions", (t) => t.includes("seq=1 done=ok\n"), "the agent's done");
      assertStringIncludes(await q.read("/host/systemd/cohesix-agent.service/status"), "status=active (running) restarts=1\n");
      // Two k8s control writes (not gated in the full profile), then their replay.
      const cursor = (await q.read("/audit/journal")).trim().split("\n").map((l) => JSON.parse(l))
        .filter((r) => r.kind === "write" && r.result === "ok").length;
      assertEquals(await q.write("/host/k8s/node/node-1/cordon", "cordon\n"), 7);
      assertEquals(await q.write("/host/k8s/node/node-1/drain", "drain\n"), 6);
      await q.until("/host/actions", (t) => t.includes("seq=3 done=ok\n"), "the drain done");
      assertStringIncludes(await q.read("/host/k8s/node/node-1/status"), "status=Ready,SchedulingDisabled drained\n");
      const replay = `{"from":${cursor}}\n`;
      assertEquals(await q.write("/replay/ctl", replay), replay.length);
      const st = JSON.parse(await q.read("/replay/status"));
      assertEquals(st.entries, 2);
      // The same hash on every run: the BigInt reference over the two writes (also checked in-process
      // in tests/ninedoor/host_test.ts and under porf in tests/ninedoor/policy_porf_test.ts).
      assertEquals(st.hash, fnvRef(["/host/k8s/node/node-1/cordon", "cordon\n", "/host/k8s/node/node-1/drain", "drain\n"]));
    } finally {
      q.close();
    }
  }, [...FULL, "--host-sample"]);
});

Deno.test("a burst of control writes past the hive's actions ring: the agent resumes at the oldest kept line, answers the dropped actions failed and stays live", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const logs: string[] = [];
    const agent = await HostAgent.connect({
      hostname: "127.0.0.1", port: ninepPort, ticket: "", id: "burst-test", mount: "/host", sample: true, log: (l) => logs.push(l),
    });
    const q = await NinepQueen.attach(ninepPort);
    try {
      await agent.publish();
      // 150 writes (~50 B action lines) before the agent reads once: more than the 4096 B ring holds.
      const N = 150;
      for (let i = 0; i < N; i++) {
        const cordon = i % 2 === 0;
        assertEquals(await q.write(`/host/k8s/node/node-1/${cordon ? "cordon" : "drain"}`, cordon ? "cordon\n" : "drain\n"), cordon ? 7 : 6);
      }
      let served = 0;
      for (let n = -1; n !== 0;) served += n = await agent.serveActions();
      assertEquals(logs.filter((l) => l.includes("fell behind")).length, 1, logs.join("\n"));
      const failed = logs.filter((l) => / dropped by the hive's actions ring .*: failed$/.test(l)).length;
      const done = logs.filter((l) => /: action \d+ \w+ k8s\/node-1: ok /.test(l)).length;
      assertEquals(done, served);
      // Every action is answered exactly once: carried out, or failed because the ring dropped it unread.
      assert(failed > 0 && done > 0, `ok ${done} failed ${failed}`);
      assertEquals(done + failed, N);
      console.log(`actions burst: ${N} writes, ${done} carried out, ${failed} answered failed (dropped by the 4096 B ring unread)`);
      assert(logs.some((l) => l.startsWith(`host-agent: action ${N} drain k8s/node-1: ok `)), "the newest action carried out");
      // A reader at offset 0 is below the ring's window now: the stale-cursor EINVAL the agent recovered from.
      await assertRejects(() => q.read("/host/actions"), /EINVAL/);
      assertMatch(await q.read("/host/status"), /^agent=live id=burst-test /);
    } finally {
      q.close();
      agent.close();
    }
  }, FULL);
});

Deno.test("cohesix host-agent --once publishes what this machine has and reports the rest absent", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const out = await new Deno.Command(COHESIX, { args: ["host-agent", "--port", String(ninepPort), "--once", "--json", "--id", "once-test"] })
      .output();
    assertEquals(out.code, 0, dec.decode(out.stderr));
    const doc = JSON.parse(dec.decode(out.stdout));
    assertEquals(Object.keys(doc.providers).sort(), ["docker", "k8s", "nvidia", "systemd"]);
    const q = await NinepQueen.attach(ninepPort);
    try {
      for (const p of ["systemd", "docker", "k8s", "nvidia"]) {
        // The oracle: the same tool run here, independently of the agent.
        const expected = await discover(p, runTool);
        assertEquals(doc.providers[p].state, expected.state, `${p}: ${expected.reason}`);
        assertEquals(await q.read(`/host/${p}/status`), `state=${expected.state} entries=${doc.providers[p].entries}\n`);
      }
      // --once exits: its session ends, and the hive marks the agent stale without waiting for stale_ms.
      await q.until("/host/status", (t) => t.startsWith("agent=stale id=once-test reason=session-closed "), "the agent stale");
    } finally {
      q.close();
    }
  }, FULL);
});

Deno.test("a host-agent crash (SIGKILL) leaves the hive serving and /host marked stale", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const agent = new Deno.Command(COHESIX, {
      args: ["host-agent", "--port", String(ninepPort), "--sample", "--id", "crash-test"],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const q = await NinepQueen.attach(ninepPort);
    try {
      await q.until("/host/status", (t) => t.startsWith("agent=live id=crash-test ") && / entries=6 /.test(t), "the agent live");
      agent.kill("SIGKILL");
      await agent.status;
      const status = await q.until("/host/status", (t) => t.startsWith("agent=stale"), "the agent stale");
      assertMatch(status, /^agent=stale id=crash-test reason=session-closed /);
      assertStringIncludes(await q.read("/host/k8s/node/node-1/status"), "status=Ready\n");
      assertStringIncludes(await q.read("/host/k8s/node/node-1/status"), "agent=stale\n");
      assertEquals(await q.write("/host/k8s/node/node-1/cordon", "cordon\n"), "EAGAIN", "nobody would carry it out");
      assertStringIncludes(await q.read("/proc/boot"), "Cohesix boot");
      assertStringIncludes(await q.read("/log/queen.log"), "host agent stale reason=session-closed");
    } finally {
      q.close();
      await agent.stderr.cancel();
    }
  }, FULL);
});

Deno.test("host-agent and dev --host-sample refuse what cannot work, with what to do", async () => {
  const run = (args: string[]) => new Deno.Command(COHESIX, { args, stdout: "piped", stderr: "piped" }).output();
  const noHost = await run(["dev", "--host-sample", "--console-port", "0", "--ninep-port", "0"]);
  assertEquals(noHost.code, 2);
  assertStringIncludes(dec.decode(noHost.stderr), "--host-sample needs a manifest with [ecosystem.host] enable = true");
  assertEquals((await run(["host-agent", "--json"])).code, 2, "--json needs --once");
  assertEquals((await run(["host-agent", "--id", "a b"])).code, 2);
  await withDevPorts(async ({ ninepPort }) => {
    const r = await run(["host-agent", "--port", String(ninepPort), "--once"]);
    assertEquals(r.code, 1);
    assertStringIncludes(dec.decode(r.stderr), "its manifest needs [ecosystem.host] enable = true");
  });
});

Deno.test("tool-output parsers read recorded outputs of systemctl, docker, kubectl and nvidia-smi", () => {
  assertEquals(PARSERS.systemd("cron.service loaded active running Regular background program processing daemon"), ["cron.service", "active (running)"]);
  assertEquals(PARSERS.systemd("dev-hugepages.mount loaded active mounted Huge Pages File System"), null);
  assertEquals(PARSERS.docker("registry\trunning\tUp 3 hours"), ["registry", "running Up 3 hours"]);
  assertEquals(PARSERS.k8s("node-1   Ready,SchedulingDisabled   control-plane   12d   v1.30.2"), ["node-1", "Ready,SchedulingDisabled"]);
  assertEquals(
    PARSERS.nvidia("GPU-5f3e0c2a-1b2c-4d5e-8f90-123456789abc, NVIDIA H100 80GB HBM3, 37, 10240, 81559"),
    ["GPU-5f3e0c2a-1b2c-4d5e-8f90-123456789abc", "NVIDIA H100 80GB HBM3 util=37% mem=10240/81559MiB"],
  );
  assertEquals(hiveName("my app/1"), "my_app_1");
  assertEquals(hiveName("..x"), "_x");
  assertEquals(hiveStatus("a\tb\u0001 c"), "a b c");
  assertEquals(
    parseActions("seq=4 action=drain target=/host/k8s/node/node-1\nseq=4 done=ok\n", "/host"),
    [{ seq: 4, action: "drain", provider: "k8s", name: "node-1" }],
  );
  assertEquals(actionCommand({ seq: 1, action: "restart", provider: "systemd", name: "x.service" }), ["systemctl", ["restart", "x.service"]]);
  assertEquals(actionCommand({ seq: 1, action: "cordon", provider: "nvidia", name: "GPU-0" }), null);
});
