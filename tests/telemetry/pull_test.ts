/**
 * `cohesix telemetry pull` against a running `cohesix dev` hive: repeated pulls append each
 * telemetry line exactly once, a pull killed before saving its cursor is repaired, ring overflow
 * is reported as lost bytes, a foreign cursor file is refused.
 */
import { NineClient } from "../../src/secure9p/host/client.ts";
import { O_APPEND, O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { withDevPorts } from "../support/dev.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();

async function queen(port: number): Promise<{ c: NineClient; root: number }> {
  const c = await NineClient.dial("127.0.0.1", port);
  const root = c.newFid();
  await c.attach(root, "queen", "");
  return { c, root };
}

async function writeFile(c: NineClient, root: number, path: string, text: string): Promise<void> {
  const fid = c.newFid();
  await c.walk(root, fid, path.split("/").filter(Boolean));
  await c.open(fid, O_WRONLY + O_APPEND);
  await c.write(fid, 0, enc.encode(text));
  await c.clunk(fid);
}

async function readFile(c: NineClient, root: number, path: string): Promise<string> {
  const fid = c.newFid();
  await c.walk(root, fid, path.split("/").filter(Boolean));
  await c.open(fid, O_RDONLY);
  const text = dec.decode(await c.readAll(fid));
  await c.clunk(fid);
  return text;
}

/** Waits for the hive's event (a heartbeat past `tick`), reading /proc/workers as it changes. */
async function waitTick(c: NineClient, root: number, tick: number): Promise<void> {
  for (;;) {
    const m = /worker-1 kind=heartbeat tick=(\d+)/.exec(await readFile(c, root, "/proc/workers"));
    if (m && Number(m[1]) > tick) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function pull(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(COHESIX, {
    args: ["telemetry", "pull", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

function heartbeats(text: string): number[] {
  return text.split("\n").filter((l) => l.startsWith("heartbeat ")).map((l) => Number(l.split(" ")[1]));
}

Deno.test("telemetry pull copies each line exactly once across pulls, repairs a killed pull, reports ring loss", async () => {
  const out = await Deno.makeTempDir({ prefix: "cohesix-pull-" });
  try {
    await withDevPorts(async ({ ninepPort }) => {
      const { c, root } = await queen(ninepPort);
      try {
        await writeFile(c, root, "/queen/ctl", '{"spawn":"heartbeat","ticks":200}\n');
        await waitTick(c, root, 2);
        const first = await pull(["--port", String(ninepPort), "--out", out, "--json"]);
        assertEquals(first.code, 0, first.err);
        const r1 = JSON.parse(first.out);
        assertEquals(r1.workers[0].worker, "worker-1");
        assert(r1.workers[0].lines >= 2);
        const file = `${out}/worker-1.telemetry`;
        const n1 = heartbeats(await Deno.readTextFile(file)).length;

        await waitTick(c, root, n1 + 1);
        const second = await pull(["--port", String(ninepPort), "--out", out, "--json"]);
        assertEquals(second.code, 0, second.err);
        const again = JSON.parse((await pull(["--port", String(ninepPort), "--out", out, "--json"])).out);
        assert(again.workers[0].lines <= 1, "a pull right after a pull copies at most the newest line");
        let ticks = heartbeats(await Deno.readTextFile(file));
        assertEquals(ticks, ticks.map((_, i) => i + 1), "every heartbeat once, in order, none missing");
        assert(ticks.length > n1);

        // A pull killed after writing lines but before saving its cursor: the bytes past the recorded length go.
        await Deno.writeTextFile(file, "heartbeat 999999\n", { append: true });
        await waitTick(c, root, ticks.length);
        const repaired = JSON.parse((await pull(["--port", String(ninepPort), "--out", out, "--json"])).out);
        assertEquals(repaired.workers[0].trimmedBytes, "heartbeat 999999\n".length);
        ticks = heartbeats(await Deno.readTextFile(file));
        assertEquals(ticks, ticks.map((_, i) => i + 1));

        // More than the ring holds (1024 bytes per worker) between two pulls: the loss is reported.
        await writeFile(c, root, "/worker/worker-1/telemetry", "x".repeat(99) + "\n");
        for (let i = 0; i < 11; i++) {
          await writeFile(c, root, "/worker/worker-1/telemetry", "y".repeat(99) + "\n");
        }
        const lossy = JSON.parse((await pull(["--port", String(ninepPort), "--out", out, "--json"])).out);
        assert(lossy.workers[0].lostBytes > 0, JSON.stringify(lossy));
        const text = await Deno.readTextFile(file);
        assert(!text.includes("x".repeat(99)), "the overwritten line is not invented");
        assertStringIncludes(text, "y".repeat(99));
      } finally {
        c.close();
      }
    });
    // The same cursors against another hive are refused.
    await withDevPorts(async ({ ninepPort }) => {
      const r = await pull(["--port", String(ninepPort), "--out", out]);
      assertEquals(r.code, 1);
      assertStringIncludes(r.err, "holds cursors of hive");
    });
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("telemetry pull refuses bad usage and an unreachable hive with a clear message", async () => {
  assertEquals((await pull([])).code, 2);
  const bad = await new Deno.Command(COHESIX, { args: ["telemetry", "push"], stderr: "piped" }).output();
  assertEquals(bad.code, 2);
  const out = await Deno.makeTempDir({ prefix: "cohesix-pull-" });
  try {
    const l = await Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const r = await pull(["--port", String(port), "--out", out]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.err, "start a hive");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
