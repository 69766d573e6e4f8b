/** `tail -f` through cohsh: lines stream as they are appended, Ctrl-C (cancel) ends with END; tcp and 9p agree. */
import { assertEquals } from "../support/assert.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { openSession, type TransportKind } from "../../src/host/cohsh/connect.ts";
import { LineSplitter, payloadLines } from "../../src/host/cohsh/ninep_shell.ts";

async function followOnce(hive: HostedHive, transport: TransportKind, text: string): Promise<string[]> {
  const port = transport === "9p" ? hive.ninepPort : hive.consolePort;
  const target = { transport, hostname: "127.0.0.1", port, authToken: "changeme", timeoutMs: 5000 };
  const follower = await openSession(target);
  const writer = await openSession({ ...target, transport: "tcp" as const, port: hive.consolePort });
  try {
    await follower.execute("attach queen");
    await writer.execute("attach queen");
    const seen: string[] = [];
    let wake: () => void = () => {};
    const running = follower.execute("tail -f /log/queen.log", (l) => {
      seen.push(l);
      wake();
    });
    const waitFor = async (pred: () => boolean) => {
      while (!pred()) await new Promise<void>((r) => (wake = r, setTimeout(r, 50)));
    };
    await waitFor(() => seen.length > 1);
    await writer.execute(`echo ${text} > /log/queen.log`);
    await waitFor(() => seen.includes(text));
    assertEquals(await follower.cancel(), true);
    const reply = await running;
    assertEquals(reply?.lines, seen);
    assertEquals(seen.slice(-2), [text, "END"]);
    assertEquals(await follower.cancel(), false, "nothing left to cancel");
    return seen;
  } finally {
    follower.close();
    writer.close();
  }
}

Deno.test("cohsh tail -f streams appends and stops on cancel, alike over tcp and 9p", async () => {
  const tcpHive = HostedHive.start({ ninepPort: 0, consolePort: 0, clock: () => 0 });
  const ninepHive = HostedHive.start({ ninepPort: 0, consolePort: 0, clock: () => 0 });
  try {
    const a = await followOnce(tcpHive, "tcp", "followed over tcp");
    const b = await followOnce(ninepHive, "9p", "followed over tcp");
    assertEquals(b, a);
  } finally {
    await tcpHive.stop();
    await ninepHive.stop();
  }
});

Deno.test("LineSplitter cuts lines like the guest console, across chunk boundaries", () => {
  const enc = new TextEncoder();
  const long = "y".repeat(256);
  const text = `a\n\nb${long}\nc`;
  const whole = payloadLines(enc.encode(text));
  assertEquals(whole, ["a", "", "b" + "y".repeat(255), "y", "c"]);
  const sp = new LineSplitter();
  const bytes = enc.encode(text);
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 7) parts.push(...sp.push(bytes.subarray(i, i + 7)));
  parts.push(...sp.end());
  assertEquals(parts, whole);
  assertEquals(payloadLines(enc.encode(long + "\n")), [long], "a newline right after a 256-byte cut ends no extra line");
});
