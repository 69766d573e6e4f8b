/** The guest console through the sans-IO Hive, over the real NineDoor namespace (no sockets). */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { MAX_CONSOLES } from "../../src/guest/hive.ts";
import { ackOf, ConsolePair, frame, newHive, payloadOf } from "./pair.ts";

function attached(kind: "tcp" | "serial" = "tcp", hive = newHive()): ConsolePair {
  const c = new ConsolePair(hive, kind);
  if (kind === "tcp") assertEquals(c.auth(), ["OK AUTH"]);
  assertEquals(c.request("attach queen"), ["OK ATTACH role=queen"]);
  return c;
}

Deno.test("Hive console runs the demo sequence with OK acknowledgements", () => {
  const c = attached();
  const cat = c.request("cat /proc/boot");
  assertMatch(ackOf(cat), /^OK CAT path=\/proc\/boot data=/);
  assertEquals(payloadOf(cat)[0], "Cohesix boot: root-task online");
  assertEquals(c.request("echo /log/queen.log hello from a test"), ["OK ECHO path=/log/queen.log bytes=17"]);
  const tail = c.request("tail /log/queen.log");
  assertEquals(ackOf(tail), "OK TAIL path=/log/queen.log");
  assertEquals(payloadOf(tail).at(-1), "hello from a test");
  assertEquals(tail.at(-1), "END");
  assertEquals(c.request("quit"), ["OK QUIT"]);
  assert(c.closed(), "a TCP session ends after QUIT");
});

Deno.test("Hive console answers an unknown verb with ERR PARSE and keeps the session", () => {
  const c = attached();
  assertEquals(c.request("frobnicate /proc/boot"), ["ERR PARSE reason=policy detail=unsupported console command"]);
  assertEquals(c.request("ping"), ["PONG", "OK PING reply=pong"]);
  assert(!c.closed());
});

Deno.test("Hive console refuses a write to read-only /proc/boot and leaves it unchanged", () => {
  const c = attached();
  const before = c.request("cat /proc/boot");
  const r = c.request("echo /proc/boot overwritten");
  assertEquals(r.length, 1);
  assertMatch(r[0], /^ERR ECHO reason=policy detail=denied path=\/proc\/boot error=E(ROFS|PERM|ACCES)$/);
  assertEquals(c.request("cat /proc/boot"), before);
});

Deno.test("Hive console refuses a missing path with a deterministic ERR for cat, tail and ls", () => {
  const c = attached();
  assertEquals(c.request("cat /no/such"), ["ERR CAT reason=policy detail=invalid-path path=/no/such error=ENOENT"]);
  assertEquals(c.request("tail /nope"), ["ERR TAIL reason=policy detail=invalid-path path=/nope error=ENOENT"]);
  assertEquals(c.request("ls /nope"), ["ERR LS reason=policy detail=invalid-path path=/nope error=ENOENT"]);
  assertEquals(c.request("cat /proc/../proc/boot"), [
    "ERR CAT reason=policy detail=invalid-payload path=/proc/../proc/boot error=EINVAL",
  ]);
});

Deno.test("Hive console answers an overlong TCP frame with ERR FRAME and serves the next line", () => {
  const c = attached();
  const long = "echo /log/queen.log " + "x".repeat(300);
  assertEquals(c.send(long), ["ERR FRAME reason=invalid-length"]);
  // A declared length over 8192 is skipped the same way once its bytes have arrived.
  const huge = new Uint8Array(9000 + 4);
  huge.set(frame("x".repeat(9000)).subarray(0, 4));
  assertEquals(c.feed(huge), ["ERR FRAME reason=invalid-length"]);
  assertEquals(c.request("ping"), ["PONG", "OK PING reply=pong"]);
  const tail = payloadOf(c.request("tail /log/queen.log"));
  assert(!tail.some((l) => l.includes("xxxx")), "the refused line was not executed");
});

Deno.test("Hive console answers an overlong serial line with ERR PARSE and serves the next line", () => {
  const c = attached("serial");
  assertEquals(c.send("cat /" + "a".repeat(400)), ["ERR PARSE reason=policy detail=console line exceeded maximum length"]);
  assertEquals(c.request("ping"), ["PONG", "OK PING reply=pong"]);
});

Deno.test("Hive console rejects control characters in a line", () => {
  const tcp = attached();
  assertEquals(tcp.send("cat /proc/boot\u0007"), ["ERR PARSE reason=policy detail=console line contains control characters"]);
  const serial = attached("serial");
  assertEquals(serial.send("cat /proc\u001b[A/boot"), ["ERR PARSE reason=policy detail=console line contains control characters"]);
  // Backspace edits the serial line instead.
  assertEquals(ackOf(serial.send("cat /proc/bootX\u0008")), "OK CAT path=/proc/boot data=" + ackOf(serial.request("cat /proc/boot")).split("data=")[1]);
});

Deno.test("Hive close mid-line frees the session and other sessions keep serving", () => {
  const hive = newHive();
  const other = attached("tcp", hive);
  const victim = attached("tcp", hive);
  const f = frame("echo /log/queen.log half a line");
  assertEquals(victim.feed(f.subarray(0, 9)), []);
  victim.close();
  assertEquals(other.request("ping"), ["PONG", "OK PING reply=pong"]);
  const tail = payloadOf(other.request("tail /log/queen.log"));
  assert(!tail.includes("half a line"), "the half line was never executed");
  // Every console slot can be reopened after repeated mid-line disconnects (nothing leaks).
  for (let round = 0; round < 3; round++) {
    const open: ConsolePair[] = [];
    for (let i = 0; i < MAX_CONSOLES - 1; i++) {
      const c = attached("tcp", hive);
      c.feed(frame("cat /proc/boot").subarray(0, 6));
      open.push(c);
    }
    assert(hive.openConsole("tcp") < 0, "the console table is full");
    for (const c of open) c.close();
  }
  assertEquals(other.request("ping"), ["PONG", "OK PING reply=pong"]);
});

Deno.test("Hive console AUTH refuses bad tokens with the reference reasons and closes", () => {
  const hive = newHive("s3cret");
  const cases: [string, string][] = [
    ["AUTH wrong!", "ERR AUTH reason=invalid-token"],
    ["AUTH s3cret-and-more", "ERR AUTH reason=invalid-length"],
    ["HELO s3cret", "ERR AUTH reason=expected-token"],
  ];
  for (const [line, want] of cases) {
    const c = new ConsolePair(hive);
    assertEquals(c.send(line), [want]);
    assert(c.closed(), `${line} closes the connection`);
    c.close();
  }
  const ok = new ConsolePair(hive);
  assertEquals(ok.auth("s3cret"), ["OK AUTH"]);
});

Deno.test("Hive console AUTH times out on the injected clock", () => {
  const hive = newHive();
  const c = new ConsolePair(hive);
  hive.advance(4999);
  c.drain();
  assertEquals(c.take(), []);
  hive.advance(5000);
  c.drain();
  assertEquals(c.take(), ["ERR AUTH reason=timeout"]);
  assert(c.closed());
});

Deno.test("Hive console refuses namespace verbs before attach and queen verbs for other roles", () => {
  const hive = newHive();
  const c = new ConsolePair(hive);
  c.auth();
  assertEquals(c.request("cat /proc/boot"), ["ERR CAT reason=policy detail=unauthenticated"]);
  assertEquals(c.request("attach observer"), ["OK ATTACH role=observer"]);
  assertEquals(c.request("log"), ["ERR LOG reason=policy detail=denied role=observer"]);
  assertEquals(c.request("attach queen"), ["ERR ATTACH reason=policy detail=already-attached"]);
  assertEquals(c.request("test"), ["ERR TEST reason=policy detail=host-only"]);
});

Deno.test("Hive console streams a large file intact to a slow reader", () => {
  const hive = newHive();
  const c = new ConsolePair(hive, "tcp", 7);
  c.auth();
  c.request("attach queen");
  const sent: string[] = [];
  for (let i = 0; i < 400; i++) {
    const line = `line ${i} ${"y".repeat(i % 90)}`.trimEnd();
    sent.push(line);
    assertEquals(c.request(`echo /log/queen.log ${line}`)[0].startsWith("OK ECHO"), true);
  }
  const lines = payloadOf(c.request("log"));
  // /log/queen.log is a ring: the newest lines must arrive complete and in order.
  const tail = lines.slice(-300);
  assertEquals(tail, sent.slice(-300));
});

Deno.test("Hive console ls lists entries in lexicographic order with a count", () => {
  const c = attached();
  const r = c.request("ls /");
  const entries = payloadOf(r);
  assertEquals(ackOf(r), `OK LS path=/ entries=${entries.length}`);
  assertEquals([...entries].sort(), entries);
  assert(entries.includes("proc") && entries.includes("log") && entries.includes("queen"));
});

Deno.test("Hive console closes an authenticated TCP session idle for 5 minutes, not a busy one", () => {
  const hive = newHive();
  const idle = attached("tcp", hive);
  const busy = attached("tcp", hive);
  hive.advance(299_000);
  assertEquals(busy.request("ping"), ["PONG", "OK PING reply=pong"]);
  hive.advance(300_000);
  idle.drain();
  assertEquals(idle.take(), ["ERR AUTH reason=idle-timeout"]);
  assert(idle.closed());
  idle.close();
  hive.advance(500_000);
  busy.drain();
  assertEquals(busy.take(), [], "a session that spoke at 299 s has until 599 s");
  assertEquals(busy.request("ping"), ["PONG", "OK PING reply=pong"]);
});
