/**
 * The `cohesix image` pipeline: root task → CPIO payloads (size guard) → elfloader link (ELF, and
 * EFI with --uefi) → FAT ESP (--uefi) → attestation + image-manifest.json.
 * Everything is written to a staging directory next to --out and moved into --out only when every
 * stage succeeded, so a failed build leaves no partial files there.
 */
import { basename, dirname, join, resolve } from "node:path";
import { type Attestation, component, jsonText } from "../../../images/attest.ts";
import { type CpioRecord, fileRecord, writeCpio } from "../../../images/cpio.ts";
import { writeFat } from "../../../images/fat.ts";
import { linkEfiApp, linkElfImage, linkerVersion, stripElf } from "../../../images/link.ts";
import { openSel4Export } from "../../../images/sel4_export.ts";
import { COHESIX_VERSION } from "../../guest/version.ts";
import { loadLayout } from "./layout.ts";
import { resolveRootserver } from "./rootserver.ts";

export class SizeLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SizeLimitError";
  }
}

export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

export interface BuildOptions {
  manifest?: string;
  sel4Build: string;
  /** Take the native guest from the build cache (default true); false builds it afresh. */
  guestCache?: boolean;
  rootserver?: string;
  uefi: boolean;
  /** FAT type of the ESP: 16 (default; removable media, QEMU) or 32 (fixed disks). */
  espFat?: 16 | 32;
  out: string;
  /** One line per stage. */
  progress?: (line: string) => void;
}

export interface Artifact {
  name: string;
  size: number;
  sha256: string;
}

export interface BuildResult {
  out: string;
  artifacts: Artifact[];
  attestation: Attestation;
}

import { ARTIFACTS, espFiles, makeAttestation, rootfsArchive } from "./artifacts.ts";

const STAGES = 5;

export async function buildImage(opts: BuildOptions): Promise<BuildResult> {
  const say = opts.progress ?? (() => {});
  const out = resolve(opts.out);
  let clock = performance.now();
  const stage = (n: number, name: string, text: string) => {
    const now = performance.now();
    say(`[${n}/${STAGES}] ${name.padEnd(10)} ${text} (${Math.round(now - clock)} ms)`);
    clock = now;
  };

  // Inputs are checked before anything is written.
  const sel4 = await openSel4Export(opts.sel4Build);
  const outInfo = await Deno.stat(out).catch(() => undefined);
  if (outInfo && !outInfo.isDirectory) {
    throw new OutputError(
      `Cannot write image to ${opts.out}: it exists and is not a directory (pick another --out)`,
    );
  }
  if (out === sel4.dir || out.startsWith(sel4.dir + "/")) {
    throw new OutputError(
      `Cannot write image to ${opts.out}: it is inside the seL4 export, which stays read-only (pick another --out)`,
    );
  }
  const layout = await loadLayout(opts.manifest);
  const rootfs = rootfsArchive(layout);
  if (rootfs.length > layout.limitBytes) {
    throw new SizeLimitError(
      `Cannot build image: the guest rootfs CPIO is ${rootfs.length} bytes, over the ${layout.limitBytes}-byte limit ` +
        `(${
          layout.limitFrom === "manifest" ? "image.max_bytes in the manifest" : "default"
        }); drop image.rootfs entries`,
    );
  }

  await Deno.mkdir(dirname(out), { recursive: true });
  const staging = await Deno.makeTempDir({ dir: dirname(out), prefix: `.${basename(out)}.partial-` });
  const work = await Deno.makeTempDir({ prefix: "cohesix-image-" });
  // Ctrl-C or SIGTERM mid-build: remove the staging and scratch directories, then exit 130.
  const interrupted = () => {
    for (const dir of [staging, work]) {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    }
    console.error("cohesix image: interrupted; nothing was written to --out");
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  Deno.addSignalListener("SIGTERM", interrupted);
  try {
    const rs = await resolveRootserver({
      explicit: opts.rootserver,
      work,
      rootfs,
      sel4Dir: sel4.dir,
      cache: opts.guestCache ?? true,
      progress: say,
    });
    stage(1, "rootserver", `${rs.path} (${rs.bytes.length} bytes, ${rs.origin})`);

    const [kernelElf, kernelDtb, rootserver] = await Promise.all([
      stripElf(sel4.kernelElf, join(work, "kernel.elf")),
      Deno.readFile(sel4.kernelDtb),
      stripElf(rs.path, join(work, "rootserver")),
    ]);
    // The elfloader loads member 0 as the kernel, member 1 as the DTB (by name) and every later
    // member as a user image, so nothing else goes in this archive: the guest rootfs travels
    // inside the root task (or on the ESP).
    const members: CpioRecord[] = [
      fileRecord("kernel.elf", kernelElf, 0o755),
      fileRecord("kernel.dtb", kernelDtb, 0o644),
      fileRecord("rootserver", rootserver, 0o755),
    ];
    const payload = writeCpio(members, { inodes: "zero" }); // as seL4's one-append-per-member recipe
    if (payload.length > layout.limitBytes) {
      throw new SizeLimitError(
        `Cannot build image: the elfloader payload CPIO is ${payload.length} bytes, over the ${layout.limitBytes}-byte limit ` +
          `(${
            layout.limitFrom === "manifest" ? "image.max_bytes in the manifest" : "default 4 MiB"
          }); shrink the root task ` +
          `(kernel.elf ${kernelElf.length}, kernel.dtb ${kernelDtb.length}, rootserver ${rootserver.length} bytes)`,
      );
    }
    await Deno.writeFile(join(staging, ARTIFACTS.payload), payload);
    await Deno.writeFile(join(staging, ARTIFACTS.rootfs), rootfs);
    stage(
      2,
      "cpio",
      `${ARTIFACTS.payload} ${payload.length} bytes, ${ARTIFACTS.rootfs} ${rootfs.length} bytes, limit ${layout.limitBytes}`,
    );

    // The ELF and EFI links are independent: run them side by side.
    const elfWork = join(work, "link-elf");
    const efiWork = join(work, "link-efi");
    await Deno.mkdir(elfWork);
    await Deno.mkdir(efiWork);
    const [elf, efiLink] = await Promise.all([
      linkElfImage(sel4, payload, elfWork),
      opts.uefi ? linkEfiApp(sel4, payload, efiWork) : Promise.resolve(undefined),
    ]);
    const efi = efiLink?.bytes;
    await Deno.writeFile(join(staging, ARTIFACTS.elfImage), elf.bytes);
    if (efi) await Deno.writeFile(join(staging, ARTIFACTS.efiApp), efi);
    stage(
      3,
      "link",
      `${ARTIFACTS.elfImage} ${elf.bytes.length} bytes at ${elf.imageStart ?? "?"}` +
        (efi ? `, ${ARTIFACTS.efiApp} ${efi.length} bytes` : ""),
    );

    const attestation = makeAttestation({
      sel4,
      layout,
      kernelElf,
      kernelDtb,
      rootserver,
      payload,
      rootfs,
      elf: elf.bytes,
      efi,
    });
    attestation.builder.linker = await linkerVersion();
    const attText = new TextEncoder().encode(jsonText(attestation));
    await Deno.writeFile(join(staging, ARTIFACTS.attestation), attText);

    if (efi) {
      const files = espFiles(efi, attText, rootfs, layout);
      const esp = writeFat(files, { fat: opts.espFat ?? 16 });
      await Deno.writeFile(join(staging, ARTIFACTS.esp), esp);
      stage(4, "esp", `${ARTIFACTS.esp} ${esp.length} bytes, FAT${opts.espFat ?? 16}, ${files.length} files`);
    } else {
      stage(4, "esp", "skipped (no --uefi)");
    }

    const artifacts: Artifact[] = [];
    for (const name of Object.values(ARTIFACTS).filter((n) => n !== ARTIFACTS.manifest).sort()) {
      const bytes = await Deno.readFile(join(staging, name)).catch(() => undefined);
      if (bytes) artifacts.push(component(name, bytes));
    }
    const manifestDoc = { version: 1, builder: `cohesix ${COHESIX_VERSION}`, artifacts };
    await Deno.writeTextFile(join(staging, ARTIFACTS.manifest), jsonText(manifestDoc));
    await commit(staging, out);
    stage(5, "manifest", `${join(opts.out, ARTIFACTS.manifest)}: ${artifacts.length} artifacts`);
    return { out, artifacts, attestation };
  } finally {
    Deno.removeSignalListener("SIGINT", interrupted);
    Deno.removeSignalListener("SIGTERM", interrupted);
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** Moves every staged file into `out` (created if needed). Old artifacts this build does not make are removed. */
async function commit(staging: string, out: string): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  const made = new Set<string>();
  for await (const e of Deno.readDir(staging)) made.add(e.name);
  for (const name of Object.values(ARTIFACTS)) {
    if (!made.has(name)) await Deno.remove(join(out, name)).catch(() => {});
  }
  // image-manifest.json goes last: while it is absent or old, the directory is visibly incomplete.
  const order = [...made].sort((a, b) =>
    Number(a === ARTIFACTS.manifest) - Number(b === ARTIFACTS.manifest) || (a < b ? -1 : 1)
  );
  for (const name of order) await Deno.rename(join(staging, name), join(out, name));
}
