/**
 * The elfloader link, driven step by step from TypeScript (seL4's recipe, sdk.json "link"):
 * strip the members, wrap the newc payload in `archive.o`, then either
 *  - ELF: shoehorn.py picks IMAGE_START_ADDR, linker.lds is preprocessed with it, static link; or
 *  - EFI: relocatable link with gnu-efi's script, then `objcopy -O binary` gives the PE32+ app.
 * Every intermediate lives in a caller-owned scratch directory.
 */
import { join } from "node:path";
import type { Sel4Export } from "./sel4_export.ts";
import { crossPrefix, python3, runTool } from "./tools.ts";

const ARCH_FLAGS = ["-march=armv8-a", "-D__KERNEL_64__"];
// Names as in seL4's CMake recipe: gas records the source name in the object's symbol table.
const ARCHIVE_CPIO = "archive.archive.o.cpio";
const ARCHIVE_S = "archive.o.S";

/** The cross compiler's version line, recorded in the attestation. */
export async function linkerVersion(): Promise<string> {
  return (await runTool(`${crossPrefix()}gcc`, ["--version"])).split("\n")[0].trim();
}

/** Strips an ELF with the cross strip (as the recipe does for kernel.elf and the root task). */
export async function stripElf(input: string, output: string): Promise<Uint8Array> {
  await runTool(`${crossPrefix()}strip`, [input, "-o", output]);
  return await Deno.readFile(output);
}

/** Writes `archive.o` (section ._archive_cpio, symbols _archive_start/_archive_start_end) in `work`. */
async function archiveObject(cpio: Uint8Array, work: string): Promise<string> {
  await Deno.writeFile(join(work, ARCHIVE_CPIO), cpio);
  const asm = `.section ._archive_cpio,"aw"\n.globl _archive_start, _archive_start_end\n_archive_start:\n` +
    `.incbin "${ARCHIVE_CPIO}"\n_archive_start_end:\n`;
  await Deno.writeTextFile(join(work, ARCHIVE_S), asm);
  await runTool(`${crossPrefix()}gcc`, [...ARCH_FLAGS, "-c", "-o", "archive.o", ARCHIVE_S], { cwd: work });
  return join(work, "archive.o");
}

export interface LinkResult {
  bytes: Uint8Array;
  /** For ELF images: the load address shoehorn.py chose. */
  imageStart?: string;
}

/** Links the elfloader ELF image (boot with `qemu -kernel`). `work` must be an empty scratch dir. */
export async function linkElfImage(exp: Sel4Export, cpio: Uint8Array, work: string): Promise<LinkResult> {
  const cc = `${crossPrefix()}gcc`;
  const archive = await archiveObject(cpio, work);
  const gen = join(work, "gen_headers");
  await Deno.mkdir(gen, { recursive: true });
  const header = await runTool(python3(), [join(exp.toolsDir, "shoehorn.py"), exp.platformYaml, archive], {
    env: { PYTHONPATH: exp.toolsDir },
  });
  await Deno.writeTextFile(join(gen, "image_start_addr.h"), header);
  const lds = join(work, "linker.lds_pp");
  const elfDir = join(exp.dir, "elfloader/elf");
  await runTool(cc, [
    ...ARCH_FLAGS,
    `-I${gen}`,
    `-I${join(elfDir, "lds-include")}`,
    "-P",
    "-E",
    "-o",
    lds,
    "-x",
    "c",
    join(elfDir, "linker.lds"),
  ]);
  const out = join(work, "image.elf");
  await runTool(cc, [
    ...ARCH_FLAGS,
    "-g",
    "-Wl,-T",
    lds,
    "-nostdlib",
    "-static",
    "-Wl,--build-id=none",
    "archive.o",
    ...exp.objects.elf,
    "-o",
    out,
    join(elfDir, "libcpio.a"),
    "-lgcc",
  ], { cwd: work });
  const m = /IMAGE_START_ADDR\s+(\S+)/.exec(header);
  return { bytes: await Deno.readFile(out), imageStart: m?.[1] };
}

/** Links the elfloader as a UEFI application (install as EFI/BOOT/BOOTAA64.EFI). */
export async function linkEfiApp(exp: Sel4Export, cpio: Uint8Array, work: string): Promise<LinkResult> {
  await archiveObject(cpio, work);
  const efiDir = join(exp.dir, "elfloader/efi");
  const so = join(work, "elfloader.so");
  await runTool(`${crossPrefix()}gcc`, [
    ...ARCH_FLAGS,
    "-g",
    "-pie",
    "-Wl,-T",
    join(efiDir, "elf_aarch64_efi.lds"),
    "-nostdlib",
    "-shared",
    "-Wl,-Bsymbolic,--defsym=EFI_SUBSYSTEM=0xa",
    "-Wl,--build-id=none",
    "archive.o",
    ...exp.objects.efi,
    "-o",
    so,
    join(efiDir, "libcpio.a"),
    "-lgcc",
  ], { cwd: work });
  const out = join(work, "BOOTAA64.EFI");
  await runTool(`${crossPrefix()}objcopy`, ["-O", "binary", so, out]);
  return { bytes: await Deno.readFile(out) };
}
