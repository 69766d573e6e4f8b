import { join } from "node:path";
import { type FatFile, writeFat } from "../../images/fat.ts";
import { FatVolume } from "../../images/fat_read.ts";
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { run, tempDir } from "./support.ts";

const enc = new TextEncoder();
const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: "1", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };

function sampleFiles(): FatFile[] {
  return [
    { path: "EFI/BOOT/BOOTAA64.EFI", data: new Uint8Array(315_468).map((_, i) => (i * 7 + (i >> 9)) % 256) },
    { path: "cohesix/attestation.json", data: enc.encode('{"version": 1}\n') },
    { path: "cohesix/a-name-that-needs-three-long-entries-1.toml", data: new Uint8Array(3000).fill(65) },
    { path: "cohesix/a-name-that-needs-three-long-entries-2.toml", data: new Uint8Array(512).fill(66) },
    { path: "cohesix/empty.txt", data: new Uint8Array(0) },
    { path: "README.TXT", data: enc.encode("plain 8.3 name\n") },
  ];
}

for (const fat of [16, 32] as const) {
  Deno.test(`writeFat FAT${fat} image passes fsck.vfat -n and mdir/mcopy read every file back byte-exact`, async (t) => {
    const dir = await tempDir(t);
    try {
      const files = sampleFiles();
      const img = join(dir, "esp.img");
      await Deno.writeFile(img, writeFat(files, { fat }));
      const fsck = await run("/usr/sbin/fsck.vfat", ["-n", "-v", img]);
      assertEquals(fsck.code, 0, fsck.stdout + fsck.stderr);
      assert(!/differ|invalid|bad|corrupt|free cluster summary wrong/i.test(fsck.stdout), fsck.stdout);
      assert(fsck.stdout.includes(`${fat} bit entries`), `FAT${fat}`);
      if (fat === 32) assert(fsck.stdout.includes("Checking free cluster summary"), "FSInfo checked");
      for (const f of files) {
        const listed = await run("mdir", ["-b", "-i", img, `::/${f.path}`], { env: MTOOLS_ENV });
        assertEquals(listed.code, 0, listed.stderr);
        assertEquals(listed.stdout.trim(), `::/${f.path}`);
        const out = join(dir, "back");
        const copy = await run("mcopy", ["-n", "-o", "-i", img, `::/${f.path}`, out], { env: MTOOLS_ENV });
        assertEquals(copy.code, 0, copy.stderr);
        assertEquals(await Deno.readFile(out), f.data, f.path);
      }
      const all = await run("mdir", ["-/", "-b", "-i", img, "::/"], { env: MTOOLS_ENV });
      assertEquals(
        all.stdout.trim().split("\n").filter((l) => !l.endsWith("/.") && !l.endsWith("/..")).sort(),
        ["::/EFI/", "::/EFI/BOOT/", "::/cohesix/", ...files.map((f) => `::/${f.path}`)].sort(),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("writeFat gives the same bytes for the same files in any order", () => {
  const files = sampleFiles();
  assertEquals(writeFat(files, { fat: 32 }), writeFat([...files].reverse(), { fat: 32 }));
  const a = writeFat(files);
  const b = writeFat([...files].reverse());
  assertEquals(a, b);
  const c = writeFat(files.map((f, i) => (i === 1 ? { ...f, data: enc.encode('{"version": 2}\n') } : f)));
  assert(a.length === c.length && a.some((x, i) => x !== c[i]), "different content gives a different image");
});

for (const fat of [16, 32] as const) {
  Deno.test(`FatVolume reads a FAT${fat} ESP made by mkfs.vfat and mcopy`, async (t) => {
    const dir = await tempDir(t);
    try {
      const img = join(dir, "esp.img");
      const mk = await run("/usr/sbin/mkfs.vfat", [
        "-C",
        "-F",
        String(fat),
        "-i",
        "5e140000",
        "-n",
        "SEL4ESP",
        img,
        fat === 32 ? "65536" : "32768",
      ]);
      assertEquals(mk.code, 0, mk.stderr);
      const files = sampleFiles();
      await run("mmd", ["-i", img, "::/EFI", "::/EFI/BOOT", "::/cohesix"], { env: MTOOLS_ENV });
      for (const f of files) {
        await Deno.writeFile(join(dir, "f"), f.data);
        const r = await run("mcopy", ["-i", img, join(dir, "f"), `::/${f.path}`], { env: MTOOLS_ENV });
        assertEquals(r.code, 0, r.stderr);
      }
      const vol = new FatVolume(await Deno.readFile(img));
      assertEquals(vol.type, fat);
      for (const f of files) assertEquals(vol.read(f.path), f.data, f.path);
      assertEquals(
        vol.walk().filter((e) => !e.isDir).map((e) => e.path).sort(),
        files.map((f) => f.path).sort(),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("writeFat refuses duplicate names, bad names and content larger than the volume", () => {
  assertThrows(
    () => writeFat([{ path: "a.txt", data: new Uint8Array(1) }, { path: "A.TXT", data: new Uint8Array(1) }]),
    /given twice/,
  );
  assertThrows(
    () => writeFat([{ path: "a/b", data: new Uint8Array(1) }, { path: "a", data: new Uint8Array(1) }]),
    /given twice/,
  );
  assertThrows(() => writeFat([{ path: "bad:name", data: new Uint8Array(1) }]), /control or/);
  assertThrows(
    () => writeFat([{ path: "big", data: new Uint8Array(5 * 1024 * 1024) }], { sizeBytes: 4 * 1024 * 1024 }),
    /Cannot fit/,
  );
  assertThrows(
    () => writeFat([{ path: "x", data: new Uint8Array(1) }], { sizeBytes: 1024 * 1024 }),
    /at least/,
  );
});

Deno.test("writeFat grows the volume and the cluster size for large content and stays fsck-clean", async (t) => {
  const dir = await tempDir(t);
  try {
    const big = new Uint8Array(40 * 1024 * 1024).map((_, i) => i % 253);
    const img = writeFat([{ path: "big.bin", data: big }]);
    const vol = new FatVolume(img);
    assert(vol.sectorsPerCluster > 1, "bigger clusters past 32 MiB");
    assertEquals(vol.read("big.bin"), big);
    await Deno.writeFile(join(dir, "big.img"), img);
    const fsck = await run("/usr/sbin/fsck.vfat", ["-n", join(dir, "big.img")]);
    assertEquals(fsck.code, 0, fsck.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
