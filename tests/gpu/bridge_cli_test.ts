/**
 * `cohesix gpu bridge` on this GPU-less machine: `absent`, exit 0, the hive untouched (its simulated
 * GPU-0/GPU-1 still served); bad flags and a malformed fixture fail with exit codes 2 and 1.
 */
import { NineClient } from "../../src/secure9p/host/client.ts";
import { O_RDONLY } from "../../src/secure9p/namespace.ts";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { withDevPorts } from "../support/dev.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const FIX = new URL("./fixtures/", import.meta.url).pathname;
const dec = new TextDecoder();

export async function cohesix(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(COHESIX, { args, stdout: "piped", stderr: "piped", env }).output();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

Deno.test("gpu bridge without nvidia-smi: absent, exit 0, the hive keeps GPU-0/GPU-1", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const r = await cohesix(["gpu", "bridge", "--once", "--json", "--hive", `127.0.0.1:${ninepPort}`, "--nvidia-smi", "/nonexistent/nvidia-smi"]);
    assertEquals(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assertEquals([doc.state, doc.gpus], ["absent", []]);
    assertStringIncludes(doc.reason, "not found");
    // The default PATH of this machine has no nvidia-smi either.
    const plain = await cohesix(["gpu", "bridge", "--once", "--hive", `127.0.0.1:${ninepPort}`]);
    assertEquals(plain.code, 0, plain.err);
    assert(plain.out.startsWith("absent: "), plain.out);
    const c = await NineClient.dial("127.0.0.1", ninepPort);
    const root = c.newFid();
    await c.attach(root, "queen", "");
    const names = (await (async () => {
      const f = c.newFid();
      await c.walk(root, f, ["gpu"]);
      await c.open(f, O_RDONLY);
      return (await c.readdirAll(f)).map((e) => e.name);
    })());
    assert(names.includes("GPU-0") && names.includes("GPU-1"), names.join(","));
    const f = c.newFid();
    await c.walk(root, f, ["gpu", "GPU-0", "info"]);
    await c.open(f, O_RDONLY);
    assertStringIncludes(dec.decode(await c.readAll(f)), '"simulated":true');
    c.close();
  });
});

Deno.test("gpu bridge: usage errors exit 2, a malformed fixture exits 1 and names the line", async () => {
  const noVerb = await cohesix(["gpu"]);
  assertEquals(noVerb.code, 2);
  assertStringIncludes(noVerb.err, "cohesix gpu --help");
  const badInterval = await cohesix(["gpu", "bridge", "--interval-ms", "5"]);
  assertEquals(badInterval.code, 2);
  const bad = await cohesix(["gpu", "bridge", "--once", "--fixture", `${FIX}bad_number.csv`, "--hive", "127.0.0.1:1"]);
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.err, "nvidia-smi output line 1: memory.total 'forty'");
  const help = await cohesix(["gpu", "--help"]);
  assertEquals(help.code, 0);
  assertStringIncludes(help.out, "begin bytes=<n> sha256=<hex>");
});

Deno.test("gpu bridge --fixture on a [gpu.bridge] hive: /gpu/<uuid>/info matches the recorded nvidia-smi output", async () => {
  const { parseNvidiaSmi, infoJson } = await import("../../src/host/gpu/nvidia_smi.ts");
  const full = ["--manifest", new URL("../../configs/full.toml", import.meta.url).pathname];
  await withDevPorts(async ({ ninepPort }) => {
    for (const name of ["a100_x2.csv", "h100.csv", "rtx4090.csv", "t4_na.csv"]) {
      const r = await cohesix(["gpu", "bridge", "--once", "--json", "--fixture", `${FIX}${name}`, "--hive", `127.0.0.1:${ninepPort}`]);
      assertEquals(r.code, 0, r.err);
      const doc = JSON.parse(r.out);
      assertEquals(doc.state, "published");
      const c = await NineClient.dial("127.0.0.1", ninepPort);
      const root = c.newFid();
      await c.attach(root, "queen", "");
      const read = async (p: string[]) => {
        const f = c.newFid();
        await c.walk(root, f, p);
        await c.open(f, O_RDONLY);
        const t = dec.decode(await c.readAll(f));
        await c.clunk(f);
        return t;
      };
      assertEquals(await read(["gpu", "bridge", "status"]), `state=ok bytes=${doc.bytes} sha256=${doc.sha256}\n`);
      for (const g of parseNvidiaSmi(await Deno.readTextFile(`${FIX}${name}`))) {
        assertEquals(await read(["gpu", g.uuid, "info"]), infoJson(g) + "\n");
        const info = JSON.parse(await read(["gpu", g.uuid, "info"]));
        assertEquals([info.model, info.mem_mb, info.simulated], [g.name, g.memTotalMb, false]);
      }
      assertStringIncludes(await read(["gpu", "GPU-0", "info"]), '"simulated":true');
      c.close();
    }
  }, full);
});

Deno.test("gpu bridge refreshes: without --once it republishes every --interval-ms until SIGTERM", async () => {
  const full = ["--manifest", new URL("../../configs/full.toml", import.meta.url).pathname];
  await withDevPorts(async ({ ninepPort }) => {
    const p = new Deno.Command(COHESIX, {
      args: ["gpu", "bridge", "--json", "--interval-ms", "200", "--fixture", `${FIX}h100.csv`, "--hive", `127.0.0.1:${ninepPort}`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = p.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (text.split("\n").length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    p.kill("SIGTERM");
    const st = await p.status;
    await reader.cancel();
    await p.stderr.cancel();
    const docs = text.trim().split("\n").slice(0, 2).map((l) => JSON.parse(l));
    assertEquals(docs.map((d) => d.state), ["published", "published"]);
    assertEquals(docs[0].sha256, docs[1].sha256);
    assertEquals(st.code, 0);
  }, full);
});
