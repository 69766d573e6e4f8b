/**
 * Session pooling (seeds Milestone 15): `pool bench` through cohsh on every transport, its
 * refusals, and the pool's retry under real connection drops (a proxy that cuts TCP connections
 * mid-batch): every record lands exactly once, retries are bounded by the manifest's policy.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { FlakyProxy } from "../support/flaky_proxy.ts";
import { runEmbeddedSession } from "../../src/host/demo/embedded.ts";
import type { TransportKind } from "../../src/host/cohsh/connect.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { countRecords, parsePoolBench, poolAppend, type PoolSession } from "../../src/host/cohsh/pool.ts";
import { NinepPoolSession } from "../../src/host/cohsh/pool_sessions.ts";
import { TransportError } from "../../src/host/cohsh/transport.ts";
import { CLIENT_POLICY } from "../../src/host/generated/cohsh_policy.ts";

const SESSIONS: Record<string, number> = {
  tcp: CLIENT_POLICY.pool.control_sessions,
  "9p": CLIENT_POLICY.pool.telemetry_sessions,
  serial: 1,
};

for (const transport of ["tcp", "9p", "serial"] as TransportKind[]) {
  Deno.test(`pool bench over ${transport}: every record observed once, the log holds them all`, async () => {
    await runEmbeddedSession(transport, async (s) => {
      assertEquals((await s.execute("attach queen"))?.ackLine, "OK ATTACH role=queen");
      const r = await s.execute("pool bench path=/log/queen.log ops=120 batch=8");
      assertEquals(
        r?.ackLine,
        `OK POOL bench path=/log/queen.log sessions=${SESSIONS[transport]} ops=120 batch=8 expected=120 observed=120 ` +
          "duplicates=0 resent=0",
      );
      const cat = await s.execute("cat /log/queen.log");
      assertEquals(cat!.lines.filter((l) => l.startsWith("pool-bench run=")).length, 120);
    });
  });

  Deno.test(`pool bench over ${transport}: a refused path stops the run with the errno, before attach a local error`, async () => {
    await runEmbeddedSession(transport, async (s) => {
      const early = await s.execute("pool bench path=/log/queen.log ops=1");
      assertEquals(early?.local, "pool bench needs an attached session; run 'attach <role> [ticket]' first");
      await s.execute("attach queen");
      const r = await s.execute("pool bench path=/proc/boot ops=4 batch=2");
      assertEquals(r?.ackLine, "ERR POOL reason=refused detail=EROFS path=/proc/boot");
      const missing = await s.execute("pool bench path=/no/such ops=4");
      assertEquals(missing?.ackLine, "ERR POOL reason=refused detail=ENOENT path=/no/such");
    });
  });
}

Deno.test("pool bench arguments are checked before anything is sent", () => {
  assertEquals(parsePoolBench(" bench path=/log/queen.log ops=10 batch=4"), { path: "/log/queen.log", ops: 10, batch: 4 });
  assertEquals(parsePoolBench(" bench path=/x ops=3"), { path: "/x", ops: 3, batch: 1 });
  const refusals: [string, RegExp][] = [
    ["", /is not a pool command/],
    [" frob", /'frob' is not a pool command/],
    [" bench ops=3", /path= must be an absolute path/],
    [" bench path=x ops=3", /path= must be an absolute path/],
    [" bench path=/x", /ops= is required/],
    [" bench path=/x ops=0", /ops must be 1\.\.100000, got '0'/],
    [" bench path=/x ops=3 batch=33", /batch must be 1\.\.32, got '33'/],
    [" bench path=/x ops=3 ops=4", /ops given twice/],
    [" bench path=/x ops=3 speed=9", /'speed=9' is not path=, ops= or batch=/],
  ];
  for (const [rest, why] of refusals) {
    const r = parsePoolBench(rest);
    assert(typeof r === "string", `'${rest}' must be refused`);
    assertMatch(r, why);
  }
});

Deno.test("countRecords counts a run's distinct sequence numbers and its repeats, ignoring other runs", () => {
  const text = [
    "pool-bench run=aa seq=0",
    "pool-bench run=aa seq=1",
    "pool-bench run=bb seq=1",
    "pool-bench run=aa seq=1",
    "[queen] unrelated",
  ].join("\n");
  const c = countRecords(text, "aa");
  assertEquals([...c.seen].sort(), [0, 1]);
  assertEquals(c.duplicates, 1);
});

/** A hive plus a proxy in front of its 9P port; `body` gets a factory dialling through the proxy. */
async function throughProxy(
  opts: ConstructorParameters<typeof FlakyProxy>[1],
  body: (open: (batch: number) => Promise<PoolSession>, proxy: FlakyProxy, hive: HostedHive) => Promise<void>,
): Promise<void> {
  const hive = HostedHive.start({ ninepPort: 0, noConsole: true, clock: () => 0 });
  const proxy = new FlakyProxy(hive.ninepPort, opts);
  try {
    await body((batch) => NinepPoolSession.open("127.0.0.1", proxy.port, "queen", "", batch), proxy, hive);
  } finally {
    await proxy.close();
    await hive.stop();
  }
}

Deno.test("a pooled run survives dropped connections: reconnects, re-sends only what did not land, no duplicates", async () => {
  await throughProxy({ cutAfterBytes: 1500, cuts: 2 }, async (open, proxy, hive) => {
    const run = "drop";
    const records = Array.from({ length: 300 }, (_, i) => `pool-bench run=${run} seq=${i}`);
    const notices: string[] = [];
    const waits: number[] = [];
    const landed = async (s: PoolSession) => countRecords(await s.readText("/log/queen.log"), run).seen;
    const stats = await poolAppend(open, 4, 8, "/log/queen.log", records, CLIENT_POLICY.retry, landed, (l) => notices.push(l), (ms) => {
      waits.push(ms);
      return Promise.resolve();
    });
    assertEquals(proxy.cutsDone, 2, "the proxy cut two connections mid-run");
    assertEquals(stats.reconnects, 2);
    assertEquals(waits, [CLIENT_POLICY.retry.backoff_ms, CLIENT_POLICY.retry.backoff_ms], "one back-off per drop");
    assertEquals(notices.length, 2);
    assertMatch(notices[0], /^cohsh: pool session \d lost its connection; reconnecting \(try 1 of 3\) in 200 ms$/);
    // The hive holds every record exactly once, read directly (not through the pool).
    const reader = await NinepPoolSession.open("127.0.0.1", hive.ninepPort, "queen", "", 1);
    const c = countRecords(await reader.readText("/log/queen.log"), run);
    reader.close();
    assertEquals(c.seen.size, 300);
    assertEquals(c.duplicates, 0);
  });
});

Deno.test("a pool whose hive stays unreachable gives up after the policy's attempts, backing off to its ceiling", async () => {
  await throughProxy({ cutAfterBytes: 1500, cuts: 1, refuseAfterCut: true }, async (open) => {
    const records = Array.from({ length: 200 }, (_, i) => `pool-bench run=gone seq=${i}`);
    const waits: number[] = [];
    const policy = { ...CLIENT_POLICY.retry, max_attempts: 4 };
    const err = await poolAppend(open, 1, 8, "/log/queen.log", records, policy, () => Promise.resolve(new Set()), () => {}, (ms) => {
      waits.push(ms);
      return Promise.resolve();
    }).catch((e) => e);
    assert(err instanceof TransportError, String(err));
    assertMatch(err.message, /pool session 1 could not reconnect after 4 tries/);
    assertEquals(waits, [200, 400, 800, 1600]);
  });
});
