/**
 * `cohesix inspect`: an image directory, its ESP, payload CPIO and ELF image, a cohsh trace and a
 * manifest are each recognised by their bytes and listed with sizes and hashes; an altered trace,
 * a broken manifest and an unknown file exit 1 with the reason.
 */
import { join } from "node:path";
import { sha256Hex } from "../../images/attest.ts";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { withDevProcess } from "../support/dev.ts";
import { cohesix, REPO, tempDir } from "../images/support.ts";
import { buildImage, NOTES } from "./image_fixture.ts";

interface Described {
  kind: string;
  what: string;
  facts: Record<string, string>;
  entries: { name: string; size: number | null; detail: string }[];
}

async function inspect(path: string): Promise<{ code: number; d: Described; stderr: string }> {
  const r = await cohesix(["inspect", path, "--json"]);
  return { code: r.code, d: r.stdout ? JSON.parse(r.stdout) : null, stderr: r.stderr };
}

const names = (d: Described) => d.entries.map((e) => e.name);

Deno.test("cohesix inspect describes an image directory, its ESP, payload and ELF image", async (t) => {
  const dir = await tempDir(t);
  try {
    const { out } = await buildImage(dir, "img");
    const img = await inspect(out);
    assertEquals([img.code, img.d.kind], [0, "image-dir"]);
    assert(names(img.d).includes("rootfs.cpio:etc/motd"), names(img.d).join(", "));
    assert(names(img.d).includes("esp.img"));
    assertMatch(img.d.facts.manifest, /^root_task\.toml, fingerprint [0-9a-f]{64}$/);

    const esp = await inspect(join(out, "esp.img"));
    assertEquals([esp.code, esp.d.kind], [0, "esp"]);
    const notes = esp.d.entries.find((e) => e.name === "cohesix/notes.txt")!;
    assertEquals([notes.size, notes.detail], [NOTES.length, sha256Hex(new TextEncoder().encode(NOTES))]);
    assertMatch(esp.d.facts.volume, /^FAT16, \d+ bytes, \d+ files$/);

    const payload = await inspect(join(out, "payload.cpio"));
    assertEquals([payload.d.what, names(payload.d)], ["an elfloader payload (newc CPIO)", [
      "kernel.elf",
      "kernel.dtb",
      "rootserver",
    ]]);
    const elf = await inspect(join(out, "sel4-image.elf"));
    assertEquals([elf.d.kind, names(elf.d), elf.d.entries.map((e) => e.detail)], [
      "elf",
      names(payload.d),
      payload.d.entries.map((e) => e.detail),
    ]);

    const text = await cohesix(["inspect", out]);
    assertMatch(text.stdout, /^kind {8}image-dir: a 'cohesix image' output directory$/m);
    assertMatch(text.stdout, /^ {2}rootfs\.cpio:etc\/motd +28 {2}[0-9a-f]{64}$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix inspect describes a cohsh trace and a manifest, and refuses damaged or unknown input", async (t) => {
  const dir = await tempDir(t);
  try {
    const trace = join(dir, "s.trace");
    await withDevProcess(async (port) => {
      const r = await cohesix([
        "cohsh",
        "--port",
        String(port),
        "--record",
        trace,
        "--script",
        join(REPO, "demo/demo.coh"),
      ]);
      assertEquals(r.code, 0, r.stderr);
    });
    const tr = await inspect(trace);
    assertEquals([tr.code, tr.d.kind, tr.d.facts.transport, tr.d.facts.commands], [0, "trace", "tcp", "6"]);
    assertEquals(tr.d.entries[0], { name: "1: attach queen", size: null, detail: "OK ATTACH role=queen" });

    const altered = join(dir, "altered.trace");
    await Deno.writeTextFile(altered, (await Deno.readTextFile(trace)).replace("role=queen", "role=quean"));
    const bad = await inspect(altered);
    assertEquals(bad.code, 1);
    assertMatch(bad.stderr, /the end record does not match the contents/);

    const m = await inspect(join(REPO, "configs/root_task.toml"));
    const want =
      (await Deno.readTextFile(join(REPO, "configs/generated/root_task_resolved.json.sha256"))).trim().split(
        /\s+/,
      )[0];
    assertEquals([m.code, m.d.kind, m.d.facts.fingerprint], [0, "manifest-toml", want]);
    assertMatch(m.d.facts.secure9p, /^msize \d+, walk depth \d+, \d+ tags, \d+ sessions$/);
    const resolved = await inspect(join(REPO, "configs/generated/root_task_resolved.json"));
    assertEquals([resolved.d.kind, resolved.d.facts.fingerprint], ["manifest-json", want]);

    await Deno.writeTextFile(join(dir, "broken.toml"), "[secure9p]\nmsize = 65536\n");
    const broken = await inspect(join(dir, "broken.toml"));
    assertEquals(broken.code, 1);
    assertMatch(broken.stderr, /is a manifest that does not compile/);
    await Deno.writeTextFile(join(dir, "junk.bin"), "no magic here");
    const junk = await inspect(join(dir, "junk.bin"));
    assertEquals(junk.code, 1);
    assertMatch(junk.stderr, /^cohesix inspect: Cannot tell what .*junk\.bin is/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
