/** `cohesix rtc` as a command: usage errors, --out, --json, refusals. */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const FIXTURE = new URL("./fixtures/base.toml", import.meta.url).pathname;

async function rtc(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(`${REPO}cohesix`, { args: ["rtc", ...args], env: { NO_COLOR: "1" } }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("rtc --help lists the modes and example invocations", async () => {
  const r = await rtc("--help");
  assertEquals(r.code, 0);
  assertStringIncludes(r.stdout, "cohesix rtc --check [--root DIR] [--json]");
  assertStringIncludes(r.stdout, "Examples:\n  cohesix rtc  ");
});

Deno.test("rtc refuses bad usage with exit 2 and a hint", async () => {
  const two = await rtc("a.toml", "b.toml");
  assertEquals([two.code, two.stderr], [2, "cohesix: rtc: expected at most one MANIFEST, got 2 (run 'cohesix rtc --help' for usage)\n"]);
  const check = await rtc("--check", "configs/root_task.toml");
  assertEquals([check.code, check.stderr], [2, "cohesix: rtc: --check takes no MANIFEST or --out (it always checks configs/*.toml under --root)\n"]);
  const unknown = await rtc("--bogus");
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, "run 'cohesix rtc --help' for usage");
});

Deno.test("rtc MANIFEST --out DIR --json writes the flat layout and reports each file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rtc-cli-" });
  try {
    const r = await rtc(FIXTURE, "--out", `${dir}/out`, "--json");
    assertEquals(r.code, 0);
    const doc = JSON.parse(r.stdout);
    assertEquals(doc.version, 1);
    assertEquals(doc.ok, true);
    assert(/^[0-9a-f]{64}$/.test(doc.manifests[0].fingerprint));
    assertEquals(doc.files.map((f: { path: string; status: string }) => `${f.status} ${f.path}`), [
      "written base_resolved.json",
      "written base_resolved.json.sha256",
      "written bootstrap.ts",
      "written boot_v0.coh",
      "written cohsh_policy.toml",
      "written snippets/base_namespace.md",
      "written snippets/base_limits.md",
      "written snippets/base_manifest.md",
    ]);
    assertEquals(await Deno.readTextFile(`${dir}/out/base_resolved.json.sha256`), `${doc.manifests[0].fingerprint}  base_resolved.json\n`);
    const again = JSON.parse((await rtc(FIXTURE, "--out", `${dir}/out`, "--json")).stdout);
    assertEquals(again.files.every((f: { status: string }) => f.status === "unchanged"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtc refuses a missing manifest path with exit 1", async () => {
  const r = await rtc("/nonexistent/manifest.toml", "--out", "/nonexistent/out");
  assertEquals(r.code, 1);
  assertStringIncludes(r.stderr, "cohesix rtc: /nonexistent/manifest.toml: manifest path does not exist or is not a file; pass a configs/*.toml manifest\n");
});

Deno.test("rtc --json refusal lists file, line, key and message, and creates no output directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rtc-cli-" });
  try {
    const bad = `${dir}/bad.toml`;
    await Deno.writeTextFile(bad, (await Deno.readTextFile(FIXTURE)).replace("msize = 8192", "msize = 65536"));
    const r = await rtc(bad, "--out", `${dir}/out`, "--json");
    assertEquals(r.code, 1);
    assertEquals(JSON.parse(r.stdout), {
      version: 1,
      ok: false,
      errors: [{ file: bad, line: 16, key: "secure9p.msize", message: "secure9p.msize 65536 exceeds maximum 8192" }],
    });
    assertEquals(await exists(`${dir}/out`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtc refuses a root without configs/ and an --out that is a file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rtc-cli-" });
  try {
    const noConfigs = await rtc("--root", dir);
    assertEquals(noConfigs.code, 1);
    assertStringIncludes(noConfigs.stderr, `cohesix rtc: ${dir}/configs: no such directory; run 'cohesix rtc' from the repository root or pass --root DIR\n`);
    await Deno.mkdir(`${dir}/configs`);
    const empty = await rtc("--check", "--root", dir);
    assertEquals(empty.code, 1);
    assertStringIncludes(empty.stderr, `${dir}/configs: holds no *.toml manifest`);
    await Deno.writeTextFile(`${dir}/file`, "x");
    const file = await rtc(FIXTURE, "--out", `${dir}/file`);
    assertEquals([file.code, file.stderr], [2, `cohesix: rtc: --out ${dir}/file is not a directory (pass a directory; it is created when missing)\n`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
