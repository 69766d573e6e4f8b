/**
 * `cohesix attest`: a fresh image passes with every attested component found and hashed; one
 * flipped byte in any component (in the file that carries it, or inside the payload embedded in
 * the ELF image, or on the ESP) fails that component, exits 1 and names it.
 */
import { join } from "node:path";
import { readCpio } from "../../images/cpio.ts";
import { ARTIFACTS } from "../../src/host/image/artifacts.ts";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { cohesix, tempDir } from "../images/support.ts";
import { buildImage, copyDir, flipByte, indexOf, NOTES } from "./image_fixture.ts";

interface Report {
  ok: boolean;
  kind: string;
  components: { name: string; places: number; ok: boolean }[];
  checks: { what: string; ok: boolean; detail: string }[];
}

async function attest(path: string): Promise<{ code: number; report: Report }> {
  const r = await cohesix(["attest", path, "--json"]);
  return { code: r.code, report: JSON.parse(r.stdout) };
}

const enc = new TextEncoder();

/** Where each component lives in an output directory: the file and one byte inside the component. */
async function placeOf(dir: string, name: string): Promise<[string, number]> {
  if (["kernel.elf", "kernel.dtb", "rootserver"].includes(name)) {
    const payload = await Deno.readFile(join(dir, ARTIFACTS.payload));
    const e = readCpio(payload).find((m) => m.name === name)!;
    return [ARTIFACTS.payload, e.data.byteOffset - payload.byteOffset + (e.data.length >> 1)];
  }
  if (name.startsWith("esp:")) {
    const esp = await Deno.readFile(join(dir, ARTIFACTS.esp));
    return [ARTIFACTS.esp, indexOf(esp, enc.encode(NOTES)) + 3];
  }
  const bytes = await Deno.readFile(join(dir, name));
  return [name, bytes.length >> 1];
}

Deno.test("cohesix attest passes a fresh image and catches one flipped byte in each component", async (t) => {
  const dir = await tempDir(t);
  try {
    const { out } = await buildImage(dir, "img");
    const clean = await attest(out);
    assertEquals([clean.code, clean.report.ok, clean.report.kind], [0, true, "dir"]);
    const names = clean.report.components.map((c) => c.name);
    assertEquals(names, [
      "kernel.elf",
      "kernel.dtb",
      "rootserver",
      "payload.cpio",
      "rootfs.cpio",
      "sel4-image.elf",
      "BOOTAA64.EFI",
      "esp:cohesix/notes.txt",
    ]);
    assert(clean.report.components.every((c) => c.places >= 1), JSON.stringify(clean.report.components));

    for (const name of names) {
      const copy = join(dir, `flip-${name.replace(/[^a-z0-9]/gi, "_")}`);
      await copyDir(out, copy);
      const [file, offset] = await placeOf(copy, name);
      assert(offset >= 0, `${name}: no place found`);
      await flipByte(join(copy, file), offset);
      const r = await attest(copy);
      assertEquals([r.code, r.report.ok], [1, false], `${name} flipped in ${file} at ${offset}`);
      const comp = r.report.components.find((c) => c.name === name)!;
      assertEquals(
        comp.ok,
        false,
        `${name} should fail: ${JSON.stringify(r.report.checks.filter((c) => !c.ok))}`,
      );
      await Deno.remove(copy, { recursive: true });
    }

    // The same kernel bytes inside the ELF image's embedded payload: only that copy is damaged.
    const elfCopy = join(dir, "flip-embedded");
    await copyDir(out, elfCopy);
    const elf = await Deno.readFile(join(elfCopy, ARTIFACTS.elfImage));
    const dtb = readCpio(await Deno.readFile(join(out, ARTIFACTS.payload))).find((m) =>
      m.name === "kernel.dtb"
    )!.data;
    const at = indexOf(elf, dtb.subarray(0, 64));
    assert(at > 0);
    await flipByte(join(elfCopy, ARTIFACTS.elfImage), at + 40);
    const r = await attest(elfCopy);
    assertEquals(r.code, 1);
    const failed = r.report.checks.filter((c) => !c.ok).map((c) => c.what);
    assert(failed.includes("kernel.dtb (payload in sel4-image.elf)"), failed.join(", "));

    const text = await cohesix(["attest", elfCopy]);
    assertMatch(
      text.stdout,
      /FAIL kernel\.dtb \(payload in sel4-image\.elf\): sha256 [0-9a-f]{16}… != attested/,
    );
    assertMatch(text.stdout, /result {5}FAIL: \d+ of \d+ checks do not match the attestation/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix attest checks an ESP on its own and refuses what is not an image", async (t) => {
  const dir = await tempDir(t);
  try {
    const { out } = await buildImage(dir, "img");
    const esp = await attest(join(out, ARTIFACTS.esp));
    assertEquals([esp.code, esp.report.kind, esp.report.ok], [0, "esp", true]);
    assert(esp.report.components.find((c) => c.name === "esp:cohesix/notes.txt")!.places === 1);
    // The trust anchor: the attested fingerprint must be the one given.
    const fingerprint = (JSON.parse((await cohesix(["attest", out, "--json"])).stdout)).fingerprint as string;
    assertEquals((await cohesix(["attest", out, "--fingerprint", fingerprint])).code, 0);
    const wrong = await cohesix(["attest", out, "--fingerprint", "0".repeat(64), "--json"]);
    assertEquals(wrong.code, 1);
    assertEquals(
      JSON.parse(wrong.stdout).checks.filter((c: { ok: boolean }) => !c.ok).map((c: { what: string }) =>
        c.what
      ),
      ["manifest fingerprint (baseline)"],
    );
    assertEquals((await cohesix(["attest", out, "--fingerprint", "abc"])).code, 2);
    await Deno.remove(join(out, ARTIFACTS.rootfs));
    const missing = await attest(out);
    assertEquals(missing.code, 1);
    const bad = await cohesix(["attest", join(out, "attestation.json")]);
    assertEquals(bad.code, 1);
    assertMatch(bad.stderr, /^cohesix attest: Cannot check .*attestation\.json: not an image directory, ESP/);
    assertEquals((await cohesix(["attest"])).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
