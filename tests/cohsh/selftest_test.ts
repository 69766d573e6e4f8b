import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { openSession, type TransportKind } from "../../src/host/cohsh/connect.ts";
import { parseTestArgs, runSelftest, SelftestReport } from "../../src/host/cohsh/selftest.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;

function opener(hive: HostedHive, transport: TransportKind, authToken = "changeme") {
  const port = transport === "9p" ? hive.ninepPort : hive.consolePort;
  return () => openSession({ transport, hostname: "127.0.0.1", port, authToken, timeoutMs: 5000 });
}

Deno.test("runSelftest full passes over tcp and 9p and its report validates against the schema", async () => {
  const hive = HostedHive.start({ ninepPort: 0, consolePort: 0 });
  try {
    for (const t of ["tcp", "9p", "tcp"] as const) {
      const r = await runSelftest(opener(hive, t), { mode: "full", timeoutS: 30, noMutate: false });
      SelftestReport.parse(r);
      assertEquals(r.checks.filter((c) => !c.ok), [], `full over ${t}`);
      assert(r.ok);
      assertEquals(r.checks.slice(0, 2).map((c) => c.name), ["preflight/attach", "preflight/ping"]);
      // The scripts came from the hive's /proc/tests, not cohsh's shipped copies.
      assertEquals(r.checks.slice(2, 4).map((c) => [c.name, c.ok, c.detail]), [
        ["source/selftest_negative.coh", true, "served by the hive at /proc/tests/selftest_negative.coh"],
        ["source/selftest_full.coh", true, "served by the hive at /proc/tests/selftest_full.coh"],
      ]);
      assert(r.checks.some((c) => c.name.startsWith("selftest_negative line ")));
      assert(r.checks.some((c) => c.name === "selftest_full line 15: spawn {\"spawn\":\"heartbeat\",\"ticks\":5}"));
    }
    const quiet = await runSelftest(opener(hive, "tcp"), { mode: "full", timeoutS: 30, noMutate: true });
    assert(quiet.ok);
    assert(!quiet.checks.some((c) => c.name.includes("spawn") || c.name.includes("kill")), "--no-mutate skips spawn and kill");
  } finally {
    await hive.stop();
  }
});

Deno.test("runSelftest reports an unreachable or refusing hive as a failed check", async () => {
  const hive = HostedHive.start({ ninepPort: 0, consolePort: 0, authToken: "right" });
  try {
    const r = await runSelftest(opener(hive, "tcp", "wrong"), { mode: "quick", timeoutS: 5, noMutate: false });
    SelftestReport.parse(r);
    assertEquals(r.ok, false);
    assertEquals(r.checks.map((c) => [c.name, c.ok]), [["transport", false]]);
    assertStringIncludes(r.checks[0].detail, "refused the console token");
  } finally {
    await hive.stop();
  }
});

Deno.test("parseTestArgs accepts the documented flags and refuses others", () => {
  assertEquals(parseTestArgs(["--mode", "full", "--json", "--timeout", "60", "--no-mutate"]), {
    json: true,
    opts: { mode: "full", timeoutS: 60, noMutate: true },
  });
  assertEquals(parseTestArgs([]), { json: false, opts: { mode: "quick", timeoutS: 30, noMutate: false } });
  assertEquals(parseTestArgs(["--mode", "slow"]), "test: --mode must be quick or full, got 'slow'");
  assertEquals(parseTestArgs(["--timeout", "500"]), "test: --timeout must be 1..120 seconds, got '500'");
  assertStringIncludes(parseTestArgs(["-x"]) as string, "unknown argument '-x'");
});

Deno.test("cohesix cohsh test --mode full --json passes against cohesix dev", async () => {
  const dev = new Deno.Command(COHESIX, {
    args: ["dev", "--ninep-port", "0", "--console-port", "0", "--json"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = dev.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) text += new TextDecoder().decode((await reader.read()).value);
  const info = JSON.parse(text.slice(0, text.indexOf("\n")));
  try {
    for (const transport of ["tcp", "9p"]) {
      const port = String(transport === "9p" ? info.ninep.port : info.console.port);
      const r = await new Deno.Command(COHESIX, {
        args: ["cohsh", "--transport", transport, "--port", port, "test", "--mode", "full", "--json"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(r.stdout);
      assertEquals(r.code, 0, new TextDecoder().decode(r.stderr) + out);
      const report = SelftestReport.parse(JSON.parse(out));
      assertEquals([report.ok, report.mode, report.version], [true, "full", "1"]);
      assert(report.checks.filter((c) => c.name.startsWith("source/")).every((c) => c.detail.startsWith("served by the hive")));
    }
  } finally {
    dev.kill("SIGINT");
    await dev.status;
    reader.releaseLock();
    await dev.stdout.cancel();
  }
});
