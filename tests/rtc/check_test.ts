/**
 * `cohesix rtc --check` and regeneration, run as the CLI against a temporary copy of the repo's
 * manifests and generated files (never the working tree itself).
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const COHESIX = `${REPO}cohesix`;

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** A temp root with configs/, docs/, src/{guest,host}/generated/ and README.md copied from the repo. */
async function tempRepo(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "rtc-check-test-" });
  await copyTree(`${REPO}configs`, `${root}/configs`);
  await copyTree(`${REPO}docs`, `${root}/docs`);
  await copyTree(`${REPO}src/guest/generated`, `${root}/src/guest/generated`);
  await copyTree(`${REPO}src/host/generated`, `${root}/src/host/generated`);
  await Deno.copyFile(`${REPO}README.md`, `${root}/README.md`);
  return root;
}

async function rtc(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(COHESIX, { args: ["rtc", ...args], env: { NO_COLOR: "1" } }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function snapshot(root: string, rel = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(`${root}/${rel}`)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) Object.assign(out, await snapshot(root, path));
    else out[path] = await Deno.readTextFile(`${root}/${path}`);
  }
  return out;
}

async function withRepo(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await tempRepo();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("rtc --check passes on the committed generated files", async () => {
  await withRepo(async (root) => {
    const r = await rtc("--check", "--root", root);
    assertEquals(r.stdout.trim(), "cohesix rtc: generated files are up to date");
    assertEquals(r.code, 0);
  });
});

Deno.test("rtc --check fails with a readable diff after a generated file is edited", async () => {
  await withRepo(async (root) => {
    const path = `${root}/src/guest/generated/bootstrap.ts`;
    const text = await Deno.readTextFile(path);
    const edited = text.replace(/maxSessions: (\d+),/, "maxSessions: 999,");
    assert(edited !== text, "fixture edit did not apply");
    await Deno.writeTextFile(path, edited);
    const r = await rtc("--check", "--root", root);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "changed: src/guest/generated/bootstrap.ts\n--- committed\n+++ generated\n");
    assertStringIncludes(r.stderr, "\n-    maxSessions: 999,\n+    maxSessions: ");
    assertStringIncludes(r.stderr, "cohesix rtc: 1 generated file(s) drifted from configs/*.toml; run 'cohesix rtc' and commit the result");
    // --check writes nothing: the edit is still there.
    assertEquals(await Deno.readTextFile(path), edited);
    // Regenerating repairs the tree.
    const fix = await rtc("--root", root);
    assertEquals(fix.code, 0);
    assertStringIncludes(fix.stdout, "wrote src/guest/generated/bootstrap.ts\n");
    assertEquals((await rtc("--check", "--root", root)).code, 0);
  });
});

Deno.test("rtc --check reports every output of an edited manifest, and missing and stale files", async () => {
  await withRepo(async (root) => {
    const manifest = `${root}/configs/root_task.toml`;
    await Deno.writeTextFile(manifest, (await Deno.readTextFile(manifest)).replace("max_sessions = 16", "max_sessions = 12"));
    await Deno.remove(`${root}/docs/snippets/field_node_limits.md`);
    await Deno.writeTextFile(`${root}/configs/generated/old_resolved.json`, "{}\n");
    const r = await rtc("--check", "--root", root, "--json");
    assertEquals(r.code, 1);
    const doc = JSON.parse(r.stdout);
    assertEquals(doc.version, 1);
    assertEquals(doc.ok, false);
    assertEquals(doc.drift.map((d: { path: string; kind: string }) => `${d.kind} ${d.path}`), [
      "changed README.md",
      "changed configs/generated/boot_v0.coh",
      "changed configs/generated/cohsh_policy.toml",
      "stale configs/generated/old_resolved.json",
      "changed configs/generated/root_task_resolved.json",
      "changed configs/generated/root_task_resolved.json.sha256",
      "missing docs/snippets/field_node_limits.md",
      "changed docs/snippets/root_task_limits.md",
      "changed docs/snippets/root_task_manifest.md",
      "changed docs/snippets/root_task_namespace.md",
      "changed src/guest/generated/bootstrap.ts",
    ]);
  });
});

Deno.test("rtc refuses a bad manifest with file:line and writes nothing", async () => {
  await withRepo(async (root) => {
    const manifest = `${root}/configs/gpu_queen.toml`;
    const bad = (await Deno.readTextFile(manifest)).replace("walk_depth = 8", "walk_depth = 12");
    await Deno.writeTextFile(manifest, bad);
    const line = bad.split("\n").indexOf("walk_depth = 12") + 1;
    const root2 = `${root}/configs/root_task.toml`;
    await Deno.writeTextFile(root2, (await Deno.readTextFile(root2)).replace("max_sessions = 16", "max_sessions = 12"));
    const before = await snapshot(root);
    const r = await rtc("--root", root);
    assertEquals(r.code, 1);
    assertEquals(r.stdout, "");
    assertStringIncludes(r.stderr, `cohesix rtc: configs/gpu_queen.toml:${line}: secure9p.walk_depth 12 exceeds maximum 8\n`);
    assertStringIncludes(r.stderr, "nothing was written");
    assertEquals(await snapshot(root), before);
  });
});
