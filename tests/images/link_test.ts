import { join } from "node:path";
import { fileRecord, writeCpio } from "../../images/cpio.ts";
import { checkAarch64Exec } from "../../images/elf.ts";
import { linkEfiApp, linkElfImage, stripElf } from "../../images/link.ts";
import { openSel4Export } from "../../images/sel4_export.ts";
import { assertEquals, assertRejects, assertThrows } from "../support/assert.ts";
import { SEL4, tempDir } from "./support.ts";

Deno.test("linkElfImage and linkEfiApp reproduce the CMake-built reference images of the seL4 export byte for byte", async (t) => {
  const dir = await tempDir(t);
  try {
    const exp = await openSel4Export(SEL4);
    const payload = writeCpio([
      fileRecord("kernel.elf", await stripElf(exp.kernelElf, join(dir, "kernel.elf")), 0o755),
      fileRecord("kernel.dtb", await Deno.readFile(exp.kernelDtb), 0o644),
      fileRecord(
        "rootserver",
        await stripElf(join(SEL4, "example/hello-roottask.elf"), join(dir, "rootserver")),
        0o755,
      ),
    ], { inodes: "zero" });
    await Deno.mkdir(join(dir, "elf"));
    await Deno.mkdir(join(dir, "efi"));
    const elf = await linkElfImage(exp, payload, join(dir, "elf"));
    const efi = await linkEfiApp(exp, payload, join(dir, "efi"));
    assertEquals(elf.bytes, await Deno.readFile(join(SEL4, "example/hello-image.elf")));
    assertEquals(efi.bytes, await Deno.readFile(join(SEL4, "example/hello-BOOTAA64.EFI")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openSel4Export names the missing piece of an incomplete export", async (t) => {
  const dir = await tempDir(t);
  try {
    await assertRejects(() => openSel4Export(join(dir, "nope")), /no such directory.*--sel4-build/);
    await Deno.writeTextFile(join(dir, "sdk.json"), "{}");
    await assertRejects(() => openSel4Export(dir), /kernel\/kernel.elf is missing/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkAarch64Exec accepts the seL4 example root task and refuses other ELFs and non-ELFs", async () => {
  checkAarch64Exec(await Deno.readFile(join(SEL4, "example/hello-roottask.elf")), "hello");
  const host = await Deno.readFile("/bin/true"); // x86-64 (or the host's) PIE executable
  assertThrows(() => checkAarch64Exec(host, "/bin/true"), /built for x86-64|not a static executable/);
  assertThrows(
    () => checkAarch64Exec(new TextEncoder().encode("#!/bin/sh\necho hi\n".padEnd(80)), "script"),
    /not an ELF file/,
  );
  const arm32 = (await Deno.readFile(join(SEL4, "example/hello-roottask.elf"))).slice();
  arm32[18] = 40; // e_machine = EM_ARM
  assertThrows(() => checkAarch64Exec(arm32, "arm32"), /ARM \(32-bit\), not AArch64/);
  const dyn = (await Deno.readFile(join(SEL4, "example/hello-roottask.elf"))).slice();
  dyn[16] = 3; // e_type = ET_DYN
  assertThrows(() => checkAarch64Exec(dyn, "pie"), /not a static executable/);
});
