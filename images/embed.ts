/**
 * Carries the guest root filesystem inside the root task: an object file whose read-only section
 * `.rodata.cohesix_rootfs` holds the newc archive between the symbols `cohesix_rootfs_start` and
 * `cohesix_rootfs_end`. A root-task link (e.g. the native guest build) adds it like any object;
 * the guest then reads the archive from memory, since the elfloader only loads ELF segments.
 */
import { join } from "node:path";
import { crossPrefix, runTool } from "./tools.ts";

export const ROOTFS_START = "cohesix_rootfs_start";
export const ROOTFS_END = "cohesix_rootfs_end";

/** Writes `rootfs.o` (AArch64) in `work` and returns its path. */
export async function writeRootfsObject(rootfs: Uint8Array, work: string): Promise<string> {
  await Deno.writeFile(join(work, "rootfs.cpio"), rootfs);
  const asm = `.section .rodata.cohesix_rootfs,"a"\n.balign 8\n.globl ${ROOTFS_START}, ${ROOTFS_END}\n` +
    `${ROOTFS_START}:\n.incbin "rootfs.cpio"\n${ROOTFS_END}:\n`;
  await Deno.writeTextFile(join(work, "rootfs.S"), asm);
  await runTool(`${crossPrefix()}gcc`, ["-march=armv8-a", "-c", "-o", "rootfs.o", "rootfs.S"], { cwd: work });
  return join(work, "rootfs.o");
}
