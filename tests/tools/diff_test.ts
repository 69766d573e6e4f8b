/**
 * `cohesix diff`: two builds whose manifests differ in one key name exactly that key, the
 * components whose hashes changed and the new fingerprint; identical builds are the same (exit 0);
 * manifests compare key by key; unreadable input exits 2.
 */
import { join } from "node:path";
import { assertEquals, assertMatch } from "../support/assert.ts";
import { cohesix, REPO, tempDir } from "../images/support.ts";
import { buildImage } from "./image_fixture.ts";

interface Change {
  key: string;
  a: string | null;
  b: string | null;
}

async function diff(a: string, b: string) {
  const r = await cohesix(["diff", a, b, "--json"]);
  return { code: r.code, doc: r.stdout ? JSON.parse(r.stdout) : null, stderr: r.stderr };
}

const keys = (cs: Change[]) => cs.map((c) => c.key);
const tags8 = (toml: string) => toml.replace(/^tags_per_session = 16$/m, "tags_per_session = 8");

Deno.test("cohesix diff of two builds with one manifest key changed names that key and the changed components", async (t) => {
  const dir = await tempDir(t);
  try {
    const a = await buildImage(dir, "a");
    const b = await buildImage(dir, "b", tags8);
    const again = await buildImage(dir, "a2");
    const same = await diff(a.out, again.out);
    assertEquals([same.code, same.doc.same], [0, true]);

    const r = await diff(a.out, b.out);
    assertEquals(r.code, 1);
    assertEquals(r.doc.manifest, [{ key: "secure9p.tags_per_session", a: "16", b: "8" }]);
    assertEquals(keys(r.doc.components), ["rootfs.cpio"]);
    assertEquals(keys(r.doc.attestation), ["manifest.fingerprint"]);
    assertEquals(r.doc.notes, []);

    // The ESPs carry the same facts, and a manifest file compares with the image built from it.
    const esp = await diff(join(a.out, "esp.img"), join(b.out, "esp.img"));
    assertEquals([esp.doc.manifest, keys(esp.doc.components)], [r.doc.manifest, ["rootfs.cpio"]]);
    const src = await diff(a.manifest, b.manifest);
    assertEquals([src.code, src.doc.manifest, src.doc.components], [1, r.doc.manifest, []]);
    const mixed = await diff(a.manifest, a.out);
    assertEquals([mixed.doc.manifest, mixed.doc.notes.length], [[], 1]);

    const text = await cohesix(["diff", a.out, b.out]);
    assertMatch(text.stdout, /^manifest {5}secure9p\.tags_per_session: 16 -> 8$/m);
    assertMatch(
      text.stdout,
      /^component {4}rootfs\.cpio: [0-9a-f]{16}… \d+ bytes -> [0-9a-f]{16}… \d+ bytes$/m,
    );
    assertMatch(text.stdout, /^differ: 1 manifest keys, 1 components, 1 attestation facts$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix diff names GPUs and roles by their ids, and exits 2 on what it cannot read", async (t) => {
  const dir = await tempDir(t);
  try {
    const r = await diff(join(REPO, "configs/root_task.toml"), join(REPO, "configs/gpu_queen.toml"));
    assertEquals(r.code, 1);
    for (const c of r.doc.manifest as Change[]) assertEquals(/\[\d+\]/.test(c.key), false, c.key);
    await Deno.writeTextFile(join(dir, "junk.bin"), "nothing here");
    const bad = await diff(join(dir, "junk.bin"), join(REPO, "configs/root_task.toml"));
    assertEquals(bad.code, 2);
    assertMatch(bad.stderr, /^cohesix diff: Cannot tell what .*junk\.bin is/);
    await Deno.writeTextFile(join(dir, "broken.toml"), "[secure9p]\nmsize = 65536\n");
    const broken = await diff(join(dir, "broken.toml"), join(REPO, "configs/root_task.toml"));
    assertEquals(broken.code, 2);
    assertMatch(broken.stderr, /^cohesix diff: Cannot compile .*broken\.toml/);
    assertEquals((await cohesix(["diff", join(REPO, "configs/root_task.toml")])).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
