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
