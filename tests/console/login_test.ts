/** Console login: tickets, back-off on the injected clock, retry quota, audit, role checks, tail -f. */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { Hive } from "../../src/guest/hive.ts";
import { HostTicketVerifier, keyPair } from "../../src/host/ticket/codec.ts";
import { testTicket } from "../support/tickets.ts";
import { ackOf, ConsolePair, frame, payloadOf } from "./pair.ts";

const KEY = keyPair(new Uint8Array(32).fill(7));

function hiveWithKeys(): Hive {
  const boot = defaultBootConfig();
  boot.ticketKeys = [{ kid: KEY.kid, publicKey: KEY.publicKey }];
  const hive = new Hive(boot, { verifier: new HostTicketVerifier(boot.ticketKeys) });
  hive.advance(0);
  return hive;
}

function ticket(role: string, subject: string, expiresAtMs: number): string {
  return testTicket(role, subject, "00112233445566aa", KEY.secretKey, { expiresAtMs });
}

function queen(hive: Hive): ConsolePair {
  const c = new ConsolePair(hive);
  c.auth();
  assertEquals(c.request("attach queen"), ["OK ATTACH role=queen"]);
  return c;
}

function log(q: ConsolePair): string[] {
  return payloadOf(q.request("log"));
}

Deno.test("Hive console backs off failed attaches exponentially on the injected clock", () => {
  const hive = hiveWithKeys();
  const c = new ConsolePair(hive);
  c.auth();
  assertEquals(c.request("attach worker-heartbeat not-a-ticket"), ["ERR ATTACH reason=policy detail=invalid-claims"]);
  assertEquals(c.request("attach worker-heartbeat not-a-ticket"), ["ERR ATTACH reason=quota detail=throttled delay_ms=250"]);
  hive.advance(100);
  assertEquals(c.request("attach queen"), ["ERR ATTACH reason=quota detail=throttled delay_ms=150"]);
  hive.advance(250);
  assertEquals(c.request("attach nobody"), ["ERR ATTACH reason=policy detail=invalid-role"]);
  assertEquals(c.request("attach queen"), ["ERR ATTACH reason=quota detail=throttled delay_ms=500"]);
  hive.advance(750);
  assertEquals(c.request("attach queen"), ["OK ATTACH role=queen"]);
  const audit = log(c).filter((l) => l.startsWith("console "));
  assertEquals(audit, [
    "console outcome=throttled verb=attach failures=1 delay_ms=250",
    "console outcome=throttled verb=attach failures=1 delay_ms=150",
    "console outcome=throttled verb=attach failures=2 delay_ms=500",
  ]);
});

Deno.test("Hive console disconnects after the retry quota and audits it", () => {
  const hive = hiveWithKeys();
  const c = new ConsolePair(hive);
  c.auth();
  let now = 0;
  for (let i = 0; i < 5; i++) {
    assertEquals(c.request("attach worker-gpu bogus"), ["ERR ATTACH reason=policy detail=invalid-claims"]);
    now += 250 * 2 ** i;
    hive.advance(now);
  }
  assert(c.closed(), "the fifth failure closes the session");
  c.close();
  const q = queen(hive);
  assert(log(q).includes("console outcome=disconnect verb=attach failures=5 reason=retry-quota"));
});

Deno.test("Hive console checks tickets: valid worker, expired, wrong role, worker calling a queen verb", () => {
  const hive = hiveWithKeys();
  const q = queen(hive);
  assertMatch(ackOf(q.request('spawn {"spawn":"heartbeat","ticks":100}')), /^OK SPAWN/);
  const w = new ConsolePair(hive);
  w.auth();
  assertEquals(w.request(`attach worker-heartbeat ${ticket("worker-heartbeat", "worker-1", 60000)}`), ["OK ATTACH role=worker-heartbeat"]);
  assertEquals(w.request('spawn {"spawn":"heartbeat","ticks":1}'), ["ERR SPAWN reason=policy detail=denied role=worker-heartbeat"]);
  assertEquals(w.request("kill worker-1"), ["ERR KILL reason=policy detail=denied role=worker-heartbeat"]);
  assertMatch(w.request("echo /queen/ctl {}")[0], /^ERR ECHO reason=policy detail=denied path=\/queen\/ctl error=EPERM$/);
  assertEquals(ackOf(w.request("cat /proc/boot")).startsWith("OK CAT"), true);
  const audit = log(q);
  assert(audit.includes("console outcome=deny verb=spawn role=worker-heartbeat reason=role"));
  assert(audit.includes("console outcome=deny verb=kill role=worker-heartbeat reason=role"));

  const expired = new ConsolePair(hive);
  expired.auth();
  hive.advance(60000);
  assertEquals(expired.request(`attach worker-heartbeat ${ticket("worker-heartbeat", "worker-1", 60000)}`), ["ERR ATTACH reason=quota detail=expired"]);
  const wrong = new ConsolePair(hive);
  wrong.auth();
  assertEquals(wrong.request(`attach worker-gpu ${ticket("worker-heartbeat", "worker-1", 0)}`), ["ERR ATTACH reason=policy detail=denied"]);
  const missing = new ConsolePair(hive);
  missing.auth();
  assertEquals(missing.request("attach worker-heartbeat"), ["ERR ATTACH reason=policy detail=denied"]);
});

Deno.test("Hive console tail -f streams appends and stops on an empty line", () => {
  const hive = hiveWithKeys();
  const q = queen(hive);
  const t = queen(hive);
  const first = t.request("tail -f /log/queen.log");
  assertEquals(ackOf(first), "OK TAIL path=/log/queen.log");
  assert(!first.includes("END"), "a followed tail stays open");
  assertEquals(q.request("echo /log/queen.log appended while following"), [`OK ECHO path=/log/queen.log bytes=${"appended while following".length}`]);
  t.drain();
  assertEquals(t.take(), ["appended while following"]);
  assertEquals(t.send(""), ["END"]);
  assertEquals(t.request("ping"), ["PONG", "OK PING reply=pong"]);
  // A non-empty line also stops the follow, then runs.
  t.request("tail -f /log/queen.log");
  assertEquals(t.send("ping").slice(-3), ["END", "PONG", "OK PING reply=pong"]);
  assertEquals(t.request("tail -f"), ["ERR PARSE reason=policy detail=missing required argument: path"]);
});

Deno.test("Hive console disconnect in the middle of a tail -f frees the session", () => {
  const hive = hiveWithKeys();
  const q = queen(hive);
  for (let round = 0; round < 10; round++) {
    const t = queen(hive);
    t.request("tail -f /log/queen.log");
    t.feed(frame("ec").subarray(0, 5));
    t.close();
  }
  assertEquals(q.request("echo /log/queen.log still serving"), [`OK ECHO path=/log/queen.log bytes=${"still serving".length}`]);
  assertEquals(payloadOf(q.request("tail /log/queen.log")).at(-1), "still serving");
});
