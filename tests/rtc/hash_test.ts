/** Determinism: identical inputs give identical bytes; the fingerprint follows content, not formatting. */
import { compileManifestText, planFlat, writeArtifacts } from "../../src/codegen/mod.ts";
import { canonicalJson, sha256Hex } from "../../src/codegen/canonical.ts";
import { assert, assertEquals, assertNotEquals } from "../support/assert.ts";

const ROOT_TASK = new URL("../../configs/root_task.toml", import.meta.url).pathname;
const BASE = await Deno.readTextFile(new URL("./fixtures/base.toml", import.meta.url));

async function readTree(dir: string, rel = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(`${dir}/${rel}`)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) Object.assign(out, await readTree(dir, path));
    else out[path] = await Deno.readTextFile(`${dir}/${path}`);
  }
  return out;
}

Deno.test("planFlat writes byte-identical outputs on two runs into different directories", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  try {
    await writeArtifacts(a, (await planFlat(ROOT_TASK, "configs/root_task.toml")).files);
    await writeArtifacts(b, (await planFlat(ROOT_TASK, "configs/root_task.toml")).files);
    const ta = await readTree(a);
    const tb = await readTree(b);
    assertEquals(Object.keys(ta).sort(), [
      "boot_v0.coh",
      "bootstrap.ts",
      "cohsh_policy.toml",
      "root_task_resolved.json",
      "root_task_resolved.json.sha256",
      "snippets/root_task_limits.md",
      "snippets/root_task_manifest.md",
      "snippets/root_task_namespace.md",
    ]);
    assertEquals(ta, tb);
    for (const [path, text] of Object.entries(ta)) {
      assert(!text.includes("\r"), `${path} has CR`);
      assert(text.endsWith("\n"), `${path} lacks a final LF`);
    }
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("compileManifestText fingerprint is the sha256 of the resolved JSON", () => {
  const m = compileManifestText(BASE, "base.toml");
  assertEquals(m.fingerprint, sha256Hex(m.resolvedJson));
  assert(/^[0-9a-f]{64}$/.test(m.fingerprint));
});

Deno.test("compileManifestText fingerprint changes when one key changes", () => {
  const before = compileManifestText(BASE, "base.toml").fingerprint;
  const after = compileManifestText(BASE.replace("msize = 8192", "msize = 8000"), "base.toml").fingerprint;
  const tick = compileManifestText(BASE.replace("tick_ms = 1000", "tick_ms = 999"), "base.toml").fingerprint;
  assertNotEquals(before, after);
  assertNotEquals(before, tick);
  assertNotEquals(after, tick);
});

Deno.test("compileManifestText fingerprint ignores comments, blank lines, CRLF and the file name", () => {
  const before = compileManifestText(BASE, "base.toml").fingerprint;
  const noisy = "# extra comment\n\n" + BASE.replaceAll("\n", "\r\n").replace("msize = 8192", "msize = 8192   # same");
  assertEquals(compileManifestText(noisy, "/elsewhere/other.toml").fingerprint, before);
});

Deno.test("compileManifestText fingerprint ignores the order of tables", () => {
  const a = compileManifestText(BASE, "base.toml").fingerprint;
  const block = "[telemetry]\nring_bytes_per_worker = 1024\n\n";
  const moved = block + BASE.replace(block, "");
  assertEquals(compileManifestText(moved, "base.toml").fingerprint, a);
});

Deno.test("compileManifestText fills defaults into the resolved JSON", () => {
  const resolved = JSON.parse(compileManifestText(BASE, "base.toml").resolvedJson);
  assertEquals(resolved.format, 1);
  assertEquals(resolved.manifest.ecosystem.host, { enable: false, max_entries: 32, mount_at: "/host", providers: [], stale_ms: 15000 });
  assertEquals(resolved.manifest.console, { max_line_bytes: 256, max_sessions: 4, net_port: 31337, ninep_port: 5640 });
  assertEquals(resolved.manifest.net, { mode: "dhcp" });
  assertEquals(resolved.manifest.secure9p.short_write, { policy: "reject" });
});

Deno.test("canonicalJson sorts keys at every level and refuses floats", () => {
  assertEquals(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: true } }), `{
  "a": {
    "c": true,
    "d": [
      2,
      {
        "y": 2,
        "z": 1
      }
    ]
  },
  "b": 1
}
`);
  let message = "";
  try {
    canonicalJson({ a: 1.5 });
  } catch (err) {
    message = (err as Error).message;
  }
  assertEquals(message, "Cannot write canonical JSON: $.a is 1.5, only safe integers are allowed");
});

Deno.test("the .sha256 file verifies with GNU sha256sum -c", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeArtifacts(dir, (await planFlat(ROOT_TASK, "configs/root_task.toml")).files);
    const ok = await new Deno.Command("sha256sum", { args: ["-c", "root_task_resolved.json.sha256"], cwd: dir }).output();
    assertEquals([ok.code, new TextDecoder().decode(ok.stdout)], [0, "root_task_resolved.json: OK\n"]);
    await Deno.writeTextFile(`${dir}/root_task_resolved.json`, "{}\n");
    const bad = await new Deno.Command("sha256sum", { args: ["-c", "root_task_resolved.json.sha256"], cwd: dir }).output();
    assertEquals(bad.code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
