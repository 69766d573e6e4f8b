/**
 * An seL4 build export (the layout of ../shared/sel4/prebuilt or `build-sdk.sh OUTDIR`):
 * sdk.json, kernel/, elfloader/{elf,efi}/, tools/. Opening one checks every file the link needs,
 * so a wrong --sel4-build fails before anything is written.
 */
import { join, resolve } from "node:path";

export class Sel4ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Sel4ExportError";
  }
}

export interface Sel4Export {
  dir: string;
  version: string;
  /** seL4 kernel commit from sdk.json sources (github.com/seL4/seL4), or "unknown". */
  commit: string;
  toolsCommit: string;
  kernelElf: string;
  kernelDtb: string;
  platformYaml: string;
  toolsDir: string;
  /** Absolute paths of the elfloader objects, in link order. */
  objects: { elf: string[]; efi: string[] };
}

const REQUIRED = [
  "sdk.json",
  "kernel/kernel.elf",
  "kernel/kernel.dtb",
  "kernel/platform_gen.yaml",
  "elfloader/elf/objects.txt",
  "elfloader/elf/linker.lds",
  "elfloader/elf/libcpio.a",
  "elfloader/efi/objects.txt",
  "elfloader/efi/elf_aarch64_efi.lds",
  "elfloader/efi/libcpio.a",
  "tools/shoehorn.py",
];

/** Reads and checks an export directory; throws Sel4ExportError saying which file is missing. */
export async function openSel4Export(dirArg: string): Promise<Sel4Export> {
  const dir = resolve(dirArg);
  const stat = await Deno.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory) {
    throw new Sel4ExportError(
      `Cannot use seL4 export ${dir}: no such directory (pass --sel4-build with the output of build-sdk.sh)`,
    );
  }
  for (const rel of REQUIRED) {
    const s = await Deno.stat(join(dir, rel)).catch(() => undefined);
    if (!s?.isFile) {
      throw new Sel4ExportError(
        `Cannot use seL4 export ${dir}: ${rel} is missing (is this a complete seL4 build export?)`,
      );
    }
  }
  let sdk: any;
  try {
    sdk = JSON.parse(await Deno.readTextFile(join(dir, "sdk.json")));
  } catch (err) {
    throw new Sel4ExportError(
      `Cannot use seL4 export ${dir}: sdk.json is not JSON (${(err as Error).message})`,
    );
  }
  const sources: { repo?: string; commit?: string }[] = Array.isArray(sdk?.sources) ? sdk.sources : [];
  const commitOf = (repo: string) => sources.find((s) => s.repo === repo)?.commit ?? "unknown";
  const objects = { elf: [] as string[], efi: [] as string[] };
  for (const kind of ["elf", "efi"] as const) {
    const list = (await Deno.readTextFile(join(dir, "elfloader", kind, "objects.txt"))).split("\n").map((l) =>
      l.trim()
    )
      .filter((l) => l !== "");
    for (const rel of list) {
      const s = await Deno.stat(join(dir, rel)).catch(() => undefined);
      if (!s?.isFile) {
        throw new Sel4ExportError(`Cannot use seL4 export ${dir}: elfloader object ${rel} is missing`);
      }
    }
    objects[kind] = list.map((rel) => join(dir, rel));
  }
  return {
    dir,
    version: typeof sdk?.sel4_version === "string" ? sdk.sel4_version : "unknown",
    commit: commitOf("github.com/seL4/seL4"),
    toolsCommit: commitOf("github.com/seL4/seL4_tools"),
    kernelElf: join(dir, "kernel/kernel.elf"),
    kernelDtb: join(dir, "kernel/kernel.dtb"),
    platformYaml: join(dir, "kernel/platform_gen.yaml"),
    toolsDir: join(dir, "tools"),
    objects,
  };
}
