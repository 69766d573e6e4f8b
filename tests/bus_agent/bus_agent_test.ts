/**
 * The field-bus sidecar against a device on a real pseudo-terminal (tests/bus_agent/pty_device.py)
 * and `cohesix dev --manifest configs/full.toml` processes: device lines reach /bus/plc-1/telemetry,
 * queen commands on /bus/plc-1/ctl reach the device, and while the hive is unreachable (a proxy the
 * test takes down) the lines are spooled and replayed once when it is back. Also the files' own rules
 * over the Namespace API and the spool's bounds.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { EINVAL, EMSGSIZE, EPERM } from "../../src/secure9p/errors.ts";
import { NinepQueen } from "../support/ninep_queen.ts";
import { FlakyProxy } from "../support/flaky_proxy.ts";
import { Spool } from "../../src/host/bus_agent/spool.ts";
import { AdapterLink, LineCutter } from "../../src/host/bus_agent/agent.ts";
import { bootConfigFromManifest } from "../../src/codegen/mod.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EcosystemProviders } from "../../src/guest/ninedoor/ecosystem.ts";
import { NsClient } from "../ninedoor/ns_client.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const FULL = new URL("../../configs/full.toml", import.meta.url).pathname;
const DEVICE = new URL("./pty_device.py", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Lines of a child's stream, read as they come. */
class Lines {
  private buf = "";
  private reader: ReadableStreamDefaultReader<string>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  /** The next line; fails (never hangs) when none comes within `timeoutMs`. */
  async next(what: string, timeoutMs = 60000): Promise<string> {
    while (!this.buf.includes("\n")) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no line for ${what} within ${timeoutMs} ms; got '${this.buf}'`)), timeoutMs);
      });
      const { value, done } = await Promise.race([this.reader.read(), late]).finally(() => clearTimeout(timer));
      if (done) throw new Error(`the stream ended before ${what}`);
      this.buf += value;
    }
    const at = this.buf.indexOf("\n");
    const line = this.buf.slice(0, at);
    this.buf = this.buf.slice(at + 1);
    return line;
  }
  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

async function startDev(): Promise<{ port: number; stop: () => Promise<void> }> {
  const dev = new Deno.Command(COHESIX, {
    args: ["dev", "--manifest", FULL, "--console-port", "0", "--ninep-port", "0", "--json"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const out = new Lines(dev.stdout);
  const stop = async () => {
    try {
      dev.kill("SIGTERM");
    } catch { /* already gone */ }
    await out.cancel().catch(() => {});
    await dev.status;
  };
  try {
    return { port: JSON.parse(await out.next("the dev ports")).ninep.port, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

Deno.test({
  name: "bus-agent on a pty: device lines to telemetry, ctl commands to the device, lines spooled while the hive is down and replayed once",
  sanitizeResources: false,
  fn: async () => {
    const device = new Deno.Command("python3", { args: [DEVICE], stdin: "piped", stdout: "piped" }).spawn();
    const fromDevice = new Lines(device.stdout);
    const toDevice = device.stdin.getWriter();
    const send = (text: string) => toDevice.write(enc.encode(`send ${text}\n`));
    const ptyPath = await fromDevice.next("the pty path");
    const dev = await startDev();
    // The agent reaches the hive through a proxy the test can take down: the hive unreachable
    // without stopping it (and without re-binding a port another test may have taken meanwhile).
    const proxy = new FlakyProxy(dev.port, { cutAfterBytes: Infinity, cuts: 0 });
    const agent = new Deno.Command(COHESIX, {
      args: ["bus-agent", "--adapter", "plc-1", "--serial", ptyPath, "--port", String(proxy.port), "--run", "r1"],
      stderr: "piped",
    }).spawn();
    const agentLog = new Lines(agent.stderr);
    const untilLogged = async (text: string) => {
      for (;;) if ((await agentLog.next(text)).includes(text)) return;
    };
    try {
      const q = await NinepQueen.attach(dev.port);
      await q.until("/bus/plc-1/link", (t) => t.startsWith("link=up run=r1 "), "the link up");
      assertMatch(await q.read("/bus/plc-1/link"), /^link=up run=r1 since_ms=\d+ link_kind=serial baud=9600 scope=plant-a protocol=modbus\n$/);
      await send("temp=21.5");
      await q.until("/bus/plc-1/telemetry", (t) => t === "temp=21.5\n", "the device's line");
      assertEquals(await q.write("/bus/plc-1/ctl", "read holding 40001\n"), 19);
      assertEquals(await fromDevice.next("the command at the device"), "got read holding 40001");
      // The hive becomes unreachable: the device keeps talking, the agent spools.
      proxy.down();
      await send("temp=22.0");
      await send("temp=22.5");
      await untilLogged("spooled seq=3 waiting=2 dropped=0");
      // Reachable again: the agent reconnects (link up, same run) and replays its spool once.
      proxy.up();
      const t = await q.until("/bus/plc-1/telemetry", (x) => x.includes("temp=22.5"), "the replayed lines");
      assertEquals(t, "temp=21.5\ntemp=22.0\ntemp=22.5\n");
      assertEquals(await q.read("/bus/plc-1/spool"), "max_entries=64 max_bytes=4096 last_seq=3 lines=3 replayed=2 duplicates=0\n");
      await send("temp=23.0");
      await q.until("/bus/plc-1/telemetry", (x) => x.endsWith("temp=23.0\n"), "a live line after the replay");
      q.close();
    } finally {
      agent.kill("SIGTERM");
      await agentLog.cancel().catch(() => {});
      await agent.status;
      await toDevice.close();
      await fromDevice.cancel().catch(() => {});
      await device.status;
      await proxy.close();
      await dev.stop();
    }
  },
});

Deno.test("a burst of ctl commands past the hive's ctl ring between two reads: the link resumes at the oldest kept line and counts the dropped bytes", async () => {
  const dev = await startDev();
  const link = await AdapterLink.open({ hostname: "127.0.0.1", port: dev.port, ticket: "", dir: "/bus/plc-1", run: "burst", log: () => {} });
  try {
    link.ctlOffset = await link.ctlSize();
    const q = await NinepQueen.attach(dev.port);
    const N = 100; // "write coil <n> on\n", 16-18 B each: ~1,700 B, past the 1024 B ctl ring
    let wrote = 0;
    for (let i = 0; i < N; i++) {
      const cmd = `write coil ${i} on\n`;
      assertEquals(await q.write("/bus/plc-1/ctl", cmd), cmd.length);
      wrote += cmd.length;
    }
    q.close();
    const got = await link.commands();
    assert(link.ctlDropped > 0, "the ring dropped lines this link had not read");
    assertEquals(got.at(-1), `write coil ${N - 1} on`, "the newest command kept");
    // Whole lines, consecutive, and every byte accounted for: dropped + read = written.
    const first = Number(/^write coil (\d+) on$/.exec(got[0])![1]);
    assertEquals(got, Array.from({ length: N - first }, (_, k) => `write coil ${first + k} on`));
    assertEquals(link.ctlDropped + got.reduce((n, l) => n + l.length + 1, 0), wrote);
    assertEquals(await link.commands(), [], "nothing new");
  } finally {
    link.close();
    await dev.stop();
  }
});

Deno.test("/bus files: seq dedupe, link runs, bounded lines, queen-only ctl (an observer's write is EPERM and audited)", async () => {
  const boot = await bootConfigFromManifest(FULL);
  const nd = new NineDoor(boot, null, new EcosystemProviders());
  nd.advance(1000);
  const q = new NsClient(nd, nd.attach("queen", ""));
  const ok = (path: string, text: string) => assertEquals(q.write(path, text), enc.encode(text).length, `${path} <- ${text}`);
  assertEquals(q.list("/bus/plc-1"), ["ctl", "telemetry", "link", "replay", "spool"]);
  assertEquals(q.read("/bus/plc-1/link"), "link=unknown run=- since_ms=0 link_kind=serial baud=9600 scope=plant-a protocol=modbus\n");
  ok("/bus/plc-1/link", "up run=a\n");
  ok("/bus/plc-1/telemetry", "1 v=1\n");
  ok("/bus/plc-1/telemetry", "2 v=2\n");
  ok("/bus/plc-1/replay", "2 v=2\n"); // already stored: a duplicate, accepted and counted
  ok("/bus/plc-1/replay", "3 v=3\n");
  assertEquals(q.read("/bus/plc-1/telemetry"), "v=1\nv=2\nv=3\n");
  assertEquals(q.read("/bus/plc-1/spool"), "max_entries=64 max_bytes=4096 last_seq=3 lines=3 replayed=1 duplicates=1\n");
  // A new run restarts the sequence.
  ok("/bus/plc-1/link", "up run=b\n");
  ok("/bus/plc-1/telemetry", "1 v=4\n");
  assertEquals(q.read("/bus/plc-1/telemetry"), "v=1\nv=2\nv=3\nv=4\n");
  for (const [path, text, errno] of [
    ["/bus/plc-1/telemetry", "v=5\n", EINVAL],
    ["/bus/plc-1/telemetry", "0 v=5\n", EINVAL],
    ["/bus/plc-1/telemetry", "7 \n", EINVAL],
    ["/bus/plc-1/telemetry", `8 ${"x".repeat(201)}\n`, EMSGSIZE],
    ["/bus/plc-1/link", "sideways\n", EINVAL],
    ["/bus/plc-1/link", "down reason=a b\n", EINVAL],
    ["/bus/plc-1/ctl", "\n", EINVAL],
    ["/bus/plc-1/ctl", "bell\u0007\n", EINVAL],
  ] as [string, string, number][]) assertEquals(q.write(path, text), -errno, `${path} <- ${JSON.stringify(text)}`);
  assertEquals(q.read("/bus/plc-1/telemetry"), "v=1\nv=2\nv=3\nv=4\n", "nothing stored by a refused write");
  ok("/bus/plc-1/link", "down reason=cable-cut\n");
  assertMatch(q.read("/bus/plc-1/link") as string, /^link=down run=b /);
  // ctl is queen-only: the observer's write is refused and lands in the audit journal.
  const observer = new NsClient(nd, nd.attach("observer", ""));
  assertEquals(observer.write("/bus/plc-1/ctl", "coil 1 on\n"), -EPERM);
  ok("/bus/plc-1/ctl", "coil 1 on\n");
  assertEquals(observer.read("/bus/plc-1/ctl"), "coil 1 on\n");
  const journal = (q.read("/audit/journal") as string).trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(
    journal.filter((r) => r.path === "/bus/plc-1/ctl").map((r) => `${r.kind}:${r.result ?? `${r.op}/${r.reason}`}`),
    ["write:EINVAL", "write:EINVAL", "deny:open/role", "write:ok"],
  );
  assertStringIncludes(q.read("/log/queen.log") as string, "bus link down adapter=plc-1 reason=cable-cut\n");
});

Deno.test("the sidecar's spool keeps the newest lines within its entry and byte bounds and counts the rest", () => {
  const s = new Spool(3, 20);
  for (let i = 1; i <= 5; i++) s.push({ seq: i, line: `v=${i}` });
  assertEquals([s.size, s.dropped, s.peek()?.seq], [3, 2, 3]);
  s.push({ seq: 6, line: "x".repeat(12) }); // 13 bytes: only it and one 4-byte line fit in 20
  assertEquals([s.size, s.dropped, s.peek()?.seq], [2, 4, 5]);
  s.push({ seq: 7, line: "y".repeat(25) }); // alone over max_bytes: dropped, nothing else moves
  assertEquals([s.size, s.dropped], [2, 5]);
  const cut = new LineCutter();
  assertEquals(cut.push(enc.encode("a=1\r\nb=")), ["a=1"]);
  assertEquals(cut.push(enc.encode("2\u0001\r\n\r\n")), ["b=2"]);
});
