/** The hosted runtime over real loopback sockets: console + 9P on one hive, port errors, shutdown. */
import { assert, assertEquals, assertMatch, assertThrows } from "../support/assert.ts";
import { HostedHive, ListenError, unixClock } from "../../src/host/dev/runtime.ts";
import { ConsoleClient } from "../../src/host/cohsh/client.ts";
import { NineClient } from "../../src/secure9p/host/client.ts";

const dec = new TextDecoder();

Deno.test("HostedHive serves the console and 9P on one namespace", async () => {
  const hive = HostedHive.start({ ninepPort: 0, consolePort: 0 });
  try {
    const c = await ConsoleClient.connectTcp("127.0.0.1", hive.consolePort, "changeme");
    assertEquals((await c.request("ATTACH queen")).ackLine, "OK ATTACH role=queen");
    assertEquals(
      (await c.request("ECHO /log/queen.log seen over 9p")).ackLine,
      "OK ECHO path=/log/queen.log bytes=12",
    );
    const nine = await NineClient.dial("127.0.0.1", hive.ninepPort);
    const root = nine.newFid();
    await nine.attach(root, "queen");
    const f = nine.newFid();
    await nine.walk(root, f, ["log", "queen.log"]);
    await nine.open(f, 0);
    const text = dec.decode(await nine.readAll(f));
    assertMatch(text, /seen over 9p\n/);
    nine.close();
    assertEquals((await c.request("QUIT")).ackLine, "OK QUIT");
    c.close();
  } finally {
    await hive.stop();
  }
});

Deno.test("HostedHive keeps serving a session while another disconnects mid-frame", async () => {
  const hive = HostedHive.start({ noNinep: true, consolePort: 0 });
  try {
    const good = await ConsoleClient.connectTcp("127.0.0.1", hive.consolePort, "changeme");
    const bad = await Deno.connect({ port: hive.consolePort });
    await bad.write(new Uint8Array([50, 0, 0, 0, 99, 97])); // 50-byte frame, 2 bytes sent
    bad.close();
    const r = await good.request("PING");
    assertEquals(r.lines, ["PONG", "OK PING reply=pong"]);
    good.close();
  } finally {
    await hive.stop();
  }
});

Deno.test("HostedHive.start reports a port in use with the flag to change", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const err = assertThrows(() => HostedHive.start({ noNinep: true, consolePort: port }));
    assert(err instanceof ListenError);
    assertEquals(
      err.message,
      `Cannot listen for console on 127.0.0.1:${port}: the port is in use; stop the other process or pass --console-port <port> (0 picks a free one)`,
    );
    const err2 = assertThrows(() => HostedHive.start({ ninepPort: port, consolePort: 0 }));
    assertMatch(err2.message, /--ninep-port/);
  } finally {
    taken.close();
  }
});

Deno.test("HostedHive.stop closes live connections and frees the ports", async () => {
  const hive = HostedHive.start({ ninepPort: 0, consolePort: 0 });
  const port = hive.consolePort;
  const c = await ConsoleClient.connectTcp("127.0.0.1", port, "changeme");
  await hive.stop();
  const r = await c.readReply();
  assert(r.closed, "the client sees the connection end");
  c.close();
  const again = HostedHive.start({ noNinep: true, consolePort: port });
  await again.stop();
});

Deno.test("HostedHive.serveSerial runs the console over a byte stream pair", async () => {
  const hive = HostedHive.start({ noNinep: true, noConsole: true });
  try {
    const input = ReadableStream.from([
      new TextEncoder().encode("attach queen\ncat /pro"),
      new TextEncoder().encode("c/boot\nquit\n"),
    ]);
    const chunks: Uint8Array[] = [];
    const output = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
    await hive.serveSerial(input, output);
    const text = chunks.map((c) => dec.decode(c)).join("");
    const lines = text.split("\n");
    assertEquals(lines[0], "OK ATTACH role=queen");
    assertMatch(lines[1], /^OK CAT path=\/proc\/boot data=/);
    assertEquals(lines[2], "Cohesix boot: root-task online");
    assertEquals(lines.slice(-3), ["END", "OK QUIT", ""]);
  } finally {
    await hive.stop();
  }
});

Deno.test("HostedHive tells a console client why it is turned away when every console is taken", async () => {
  const hive = HostedHive.start({ noNinep: true, consolePort: 0 });
  const clients: ConsoleClient[] = [];
  try {
    for (let i = 0; i < 8; i++) {
      clients.push(await ConsoleClient.connectTcp("127.0.0.1", hive.consolePort, "changeme"));
    }
    const err = await ConsoleClient.connectTcp("127.0.0.1", hive.consolePort, "changeme").then(
      () => null,
      (e) => e as Error,
    );
    assertMatch(
      err?.message ?? "",
      /^The hive's console is full \(reason=busy detail=console-table-full\); close another cohsh session/,
    );
    clients.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    clients.push(await ConsoleClient.connectTcp("127.0.0.1", hive.consolePort, "changeme"));
  } finally {
    for (const c of clients) c.close();
    await hive.stop();
  }
});

Deno.test("unixClock gives Unix milliseconds that never go backwards", async () => {
  const clock = unixClock();
  const a = clock();
  assert(Math.abs(a - Date.now()) < 1000, `${a} is Unix ms (Date.now() ${Date.now()})`);
  await new Promise((r) => setTimeout(r, 30));
  const b = clock();
  assert(b >= a + 25 && Number.isInteger(b), `advanced from ${a} to ${b}`);
});

Deno.test("HostedHive injects Unix milliseconds by default and a given clock when asked", async () => {
  const live = HostedHive.start({ noNinep: true, noConsole: true });
  const fixed = HostedHive.start({ noNinep: true, noConsole: true, clock: () => 0 });
  try {
    assert(Math.abs(live.hive.nowMs - Date.now()) < 1000, `default clock ${live.hive.nowMs} is Unix ms`);
    assertEquals(fixed.hive.nowMs, 0);
  } finally {
    await live.stop();
    await fixed.stop();
  }
});
