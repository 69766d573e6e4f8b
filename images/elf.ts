/** Checks that a file is what seL4 accepts as a root task: a static AArch64 ELF64 executable. */

export class ElfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ElfError";
  }
}

const EM_AARCH64 = 183;
const ET_EXEC = 2;
const MACHINES: Record<number, string> = {
  3: "x86",
  8: "MIPS",
  20: "PowerPC",
  40: "ARM (32-bit)",
  62: "x86-64",
  183: "AArch64",
  243: "RISC-V",
};

/** Throws an ElfError naming `label` and what is wrong, with what to do next. */
export function checkAarch64Exec(bytes: Uint8Array, label: string): void {
  // e_ident: 0..3 magic, 4 class (2 = 64-bit), 5 data (1 = little-endian).
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError(
      `Cannot use ${label} as the root task: it is not an ELF file (link a static AArch64 executable)`,
    );
  }
  if (bytes[4] !== 2 || bytes[5] !== 1) {
    throw new ElfError(
      `Cannot use ${label} as the root task: it is not a little-endian 64-bit ELF (build for aarch64)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(16, true); // e_type
  const machine = view.getUint16(18, true); // e_machine
  if (machine !== EM_AARCH64) {
    const name = MACHINES[machine] ?? `machine ${machine}`;
    throw new ElfError(
      `Cannot use ${label} as the root task: it is built for ${name}, not AArch64 (use aarch64-linux-gnu-gcc)`,
    );
  }
  if (type !== ET_EXEC) {
    throw new ElfError(
      `Cannot use ${label} as the root task: ELF type ${type} is not a static executable (link with -static -no-pie)`,
    );
  }
}
