import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { writeRootfsObject } from "../../images/embed.ts";
import { rootfsArchive } from "../../src/host/image/artifacts.ts";
import { loadLayout } from "../../src/host/image/layout.ts";
import { assertEquals } from "../support/assert.ts";
import { writeManifest } from "./manifest_fixture.ts";
import { cohesix, cohesixImage, HELLO_SRC, run, SEL4, tempDir } from "./support.ts";

const PROBE = fileURLToPath(new URL("./testdata/rootfs_probe.c", import.meta.url));
const CFLAGS = [
  "-march=armv8-a",
  "-ffreestanding",
  "-fno-pic",
  "-fno-pie",
  "-fno-stack-protector",
  "-mgeneral-regs-only",
  "-O2",
  `-I${join(SEL4, "libsel4/include")}`,
];

Deno.test("writeRootfsObject carries the manifest's rootfs inside a root task that lists it on seL4's serial", async (t) => {
  const dir = await tempDir(t);
  try {
    await Deno.mkdir(join(dir, "tests"));
    await Deno.writeTextFile(join(dir, "tests/boot.coh"), "attach queen\nlog\n");
    const manifest = await writeManifest(
      dir,
      `max_bytes = 4194304
include_manifest = true
rootfs = [{ src = "tests/boot.coh", dest = "/proc/tests/boot.coh" }]`,
    );
    const layout = await loadLayout(manifest);
    const rootfs = rootfsArchive(layout);
    const obj = await writeRootfsObject(rootfs, dir);
    for (const [src, o] of [[join(HELLO_SRC, "crt0.S"), "crt0.o"], [PROBE, "probe.o"]]) {
      const cc = await run("aarch64-linux-gnu-gcc", [...CFLAGS, "-c", src, "-o", join(dir, o)]);
      assertEquals(cc.code, 0, cc.stderr);
    }
    const probe = join(dir, "probe.elf");
    const ld = await run("aarch64-linux-gnu-gcc", [
      "-nostdlib",
      "-static",
      "-no-pie",
      "-Wl,--build-id=none",
      "-Wl,-e,_sel4_start",
      join(dir, "crt0.o"),
      join(dir, "probe.o"),
      obj,
      "-o",
      probe,
    ]);
    assertEquals(ld.code, 0, ld.stderr);
    const out = join(dir, "out");
    const img = await cohesixImage(probe, out, ["--manifest", manifest]);
    assertEquals(img.code, 0, img.stderr);
    assertEquals(
      await Deno.readFile(join(out, "rootfs.cpio")),
      rootfs,
      "the embedded rootfs is the attested one",
    );
    const boot = await cohesix(["qemu", "--image", out, "--expect", "rootfs: 3 files", "--timeout", "60"]);
    assertEquals(boot.code, 0, boot.stderr);
    const listed = boot.stdout.replaceAll("\r", "").split("\n").filter((l) => l.startsWith("rootfs: "));
    const sizes = [...layout.rootfs].sort((a, b) => (a.dest < b.dest ? -1 : 1)).map((f) =>
      `rootfs: ${f.dest} ${f.data.length}`
    );
    assertEquals(listed, [...sizes, "rootfs: 3 files"]);
    assertEquals(sizes.map((l) => l.split(" ")[1]), [
      "etc/cohesix/manifest.json",
      "etc/cohesix/manifest.sha256",
      "proc/tests/boot.coh",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
