/**
 * `cohesix fleet` as a user meets it: usage errors (exit 2, one line naming the flag), a dead NATS
 * URL (exit 1 with what to start), `--json` printing the metrics URL once serving, and a hive that is
 * down at start being picked up by the back-off reconnect when it comes up; plus the status-file
 * parsers on the formats the fleet must accept (sharded workers, /proc/pressure as a directory).
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { parseLifecycleState, parsePressure, parseWorkers } from "../../src/host/fleet/hive_files.ts";
import { parseHiveSpec } from "../../src/host/fleet/command.ts";
import { nextEpoch } from "../../src/host/fleet/hive_follower.ts";
import { Engine, freePort, TestHive, until } from "./engines.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;

async function runFleet(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await new Deno.Command(COHESIX, { args: ["fleet", ...args], stdout: "piped", stderr: "piped" })
    .output();
  return {
    code: r.code,
    stdout: new TextDecoder().decode(r.stdout),
    stderr: new TextDecoder().decode(r.stderr),
  };
}

Deno.test("cohesix fleet refuses bad input with exit 2 and a line naming what to fix", async () => {
  const none = await runFleet([]);
  assertEquals(none.code, 2);
  assertStringIncludes(none.stderr, "no hive given");
  const bad = await runFleet(["--hive", "nohostport"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "'nohostport' is not [NAME@]HOST:PORT");
  const badName = await runFleet(["--hive", "bad.name@127.0.0.1:5640"]);
  assertEquals(badName.code, 2);
  assertStringIncludes(badName.stderr, "hive name 'bad.name'");
  const unknown = await runFleet(["--hive", "127.0.0.1:5640", "--frobnicate"]);
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, "fleet --help");
  const poll = await runFleet(["--hive", "127.0.0.1:5640", "--poll-ms", "0"]);
  assertEquals(poll.code, 2);
  assertStringIncludes(poll.stderr, "--poll-ms must be a positive integer");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/hives`, "# fleet\nedge1@127.0.0.1:5640\nedge2@127.0.0.1:99999\n");
    const file = await runFleet(["--hives-file", `${dir}/hives`]);
    assertEquals(file.code, 2);
    assertStringIncludes(file.stderr, `${dir}/hives:3:`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const help = await runFleet(["--help"]);
  assertEquals(help.code, 0);
  assertStringIncludes(help.stdout, "cohesix fleet --hives-file");
});

Deno.test("cohesix fleet: duplicate hive names and an unreachable NATS server exit 1 with the next step", async () => {
  const dup = await runFleet(["--hive", "a@127.0.0.1:1", "--hive", "a@127.0.0.1:2"]);
  assertEquals(dup.code, 1);
  assertStringIncludes(dup.stderr, "two hives are named 'a'");
  const nats = await runFleet(["--hive", "127.0.0.1:1", "--nats", `nats://127.0.0.1:${freePort()}`]);
  assertEquals(nats.code, 1);
  assertStringIncludes(nats.stderr, "nats-server -js");
});

Deno.test({
  name:
    "cohesix fleet --json prints metrics_url once serving; a hive down at start is followed once it comes up",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const port = freePort();
    const child = new Deno.Command(COHESIX, {
      args: [
        "fleet",
        "--hive",
        `late@127.0.0.1:${port}`,
        "--prometheus",
        "127.0.0.1:0",
        "--poll-ms",
        "50",
        "--json",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const fleet = new Engine("cohesix fleet", child);
    let hive: TestHive | null = null;
    try {
      const m = await fleet.waitFor(/^(\{.*\})\n/m);
      const doc = JSON.parse(m[1]);
      assertEquals(doc.hives, ["late"]);
      const url: string = doc.metrics_url;
      assert(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/.test(url), url);
      const metrics = async () => await (await fetch(url)).text();
      assertStringIncludes(await metrics(), 'cohesix_hive_up{hive="late"} 0');
      await fleet.waitFor(/hive late \(127\.0\.0\.1:\d+\) unreachable: .*retrying in \d+ ms/);
      hive = new TestHive(port);
      await hive.spawn(2);
      await until(
        async () => (await metrics()).includes('cohesix_hive_workers{hive="late"} 2'),
        "the late hive's workers",
      );
      assertStringIncludes(await metrics(), 'cohesix_hive_up{hive="late"} 1');
      assertEquals((await fetch(url.replace("/metrics", "/other"))).status, 404);
    } finally {
      await fleet.stop();
      await hive?.stop();
    }
    assertEquals((await child.status).code, 0);
    assertStringIncludes(fleet.output, "cohesix fleet: stopped");
  },
});

Deno.test("fleet parsers: worker paths from /proc/workers (legacy, shard=, path=), pressure file or directory, lifecycle", () => {
  const w = parseWorkers(
    "workers active=3 max=64 spawned=5\n" +
      "worker-1 kind=heartbeat tick=3 ticks=10 ops=0/10000 ttl_ms_left=1 telemetry_start=0 telemetry_end=36 dropped=0\n" +
      "worker-4 kind=gpu tick=1 shard=a7 telemetry_start=13 telemetry_end=40 dropped=13\n" +
      "worker-5 kind=heartbeat path=/x/worker-5/telemetry telemetry_end=7\n" +
      "worker-6 kind=heartbeat state=exited reason=ttl tick=9 ops=0 telemetry_end=99 retain_ms_left=100\n",
  );
  assertEquals([w.active, w.max, w.spawned], [3, 64, 5]);
  assertEquals(w.workers.map((r) => r.telemetryPath), [
    "/worker/worker-1/telemetry",
    "/shard/a7/worker/worker-4/telemetry",
    "/x/worker-5/telemetry",
    "/worker/worker-6/telemetry",
  ]);
  assertEquals(w.workers.map((r) => r.state), ["running", "running", "running", "exited"]);
  assertEquals([w.workers[3].exitReason, w.workers[3].telemetryEnd], ["ttl", 99]);
  assertEquals([w.workers[1].telemetryStart, w.workers[1].telemetryEnd, w.workers[1].dropped], [13, 40, 13]);
  assertEquals(
    [...parsePressure(["denied=1 quota=2 busy=0"]).entries()],
    [["denied", 1], ["quota", 2], ["busy", 0]],
  );
  assertEquals([...parsePressure(["busy=4\n", "quota=9\nbad-key=1 x=y\n"]).entries()], [["busy", 4], [
    "quota",
    9,
  ]]);
  assertEquals(parseLifecycleState("state=CORDONED\n"), "cordoned");
  assertEquals(parseLifecycleState("online\n"), "online");
  assertEquals(parseLifecycleState("state=\u0000bad"), "unknown");
  assertEquals(parseHiveSpec("127.0.0.1:5640"), { name: "127-0-0-1-5640", host: "127.0.0.1", port: 5640 });
  assertEquals(parseHiveSpec("e1@[::1]:5640"), { name: "e1", host: "::1", port: 5640 });
  assertEquals([nextEpoch("e1"), nextEpoch("e41"), nextEpoch("bdeadbeef")], ["e2", "e42", "e1"]);
});
