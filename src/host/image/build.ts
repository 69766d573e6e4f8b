/**
 * The `cohesix image` pipeline: root task → CPIO payloads (size guard) → elfloader link (ELF, and
 * EFI with --uefi) → FAT ESP (--uefi) → attestation + image-manifest.json.
 * Everything is written to a staging directory next to --out and moved into --out only when every
 * stage succeeded, so a failed build leaves no partial files there.
 */
import { basename, dirname, join, resolve } from "node:path";
import {
  type Attestation,
  ATTESTATION_SCHEMA,
  type Component,
  component,
  jsonText,
} from "../../../images/attest.ts";
import { type CpioRecord, fileRecord, makeReproducible, writeCpio } from "../../../images/cpio.ts";
import { type FatFile, writeFat } from "../../../images/fat.ts";
import { linkEfiApp, linkElfImage, linkerVersion, stripElf } from "../../../images/link.ts";
import { openSel4Export } from "../../../images/sel4_export.ts";
import { COHESIX_VERSION } from "../../guest/version.ts";
import { type ImageLayout, loadLayout } from "./layout.ts";
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

/** File names in --out. */
export const ARTIFACTS = {
  payload: "payload.cpio",
  rootfs: "rootfs.cpio",
  elfImage: "sel4-image.elf",
  efiApp: "BOOTAA64.EFI",
  esp: "esp.img",
  attestation: "attestation.json",
  manifest: "image-manifest.json",
} as const;

/** ESP paths (besides EFI/BOOT/BOOTAA64.EFI). */
export const ESP_DIR = "cohesix";

const STAGES = 5;

/**
 * The guest root filesystem: the manifest's image.rootfs files and the resolved manifest as a
 * reproducible newc archive (read-only files, sorted, parent directories included). The same
 * bytes go to out/rootfs.cpio, the ESP, and (through images/embed.ts) into a native root task.
 */
export function rootfsArchive(layout: ImageLayout): Uint8Array {
  return writeCpio(makeReproducible(layout.rootfs.map((f) => fileRecord(f.dest, f.data, 0o444))));
}

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
  try {
    const rs = await resolveRootserver({
      explicit: opts.rootserver,
      work,
      rootfs,
      sel4Dir: sel4.dir,
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

    const components: Component[] = [
      component("kernel.elf", kernelElf),
      component("kernel.dtb", kernelDtb),
      component("rootserver", rootserver),
      component(ARTIFACTS.payload, payload),
      component(ARTIFACTS.rootfs, rootfs),
      component(ARTIFACTS.elfImage, elf.bytes),
      ...(efi ? [component(ARTIFACTS.efiApp, efi)] : []),
      ...layout.esp.map((f) => component(`esp:${f.dest}`, f.data)),
    ];
    const attestation: Attestation = {
      version: 1,
      schema: ATTESTATION_SCHEMA,
      builder: { name: "cohesix", version: COHESIX_VERSION, linker: await linkerVersion() },
      sel4: { version: sel4.version, commit: sel4.commit, tools_commit: sel4.toolsCommit },
      manifest: {
        file: layout.manifestFile,
        fingerprint: layout.fingerprint,
        fingerprint_of: layout.fingerprint
          ? "sha256 of the resolved manifest JSON (etc/cohesix/manifest.json in the rootfs)"
          : null,
        limit_bytes: layout.limitBytes,
        limit_from: layout.limitFrom,
      },
      budget: { payload_bytes: payload.length, rootfs_bytes: rootfs.length, limit_bytes: layout.limitBytes },
      components,
    };
    const attText = new TextEncoder().encode(jsonText(attestation));
    await Deno.writeFile(join(staging, ARTIFACTS.attestation), attText);

    if (efi) {
      const files: FatFile[] = [
        { path: "EFI/BOOT/BOOTAA64.EFI", data: efi },
        { path: `${ESP_DIR}/${ARTIFACTS.attestation}`, data: attText },
        { path: `${ESP_DIR}/${ARTIFACTS.rootfs}`, data: rootfs },
        ...layout.rootfs.filter((f) => f.dest.startsWith("etc/cohesix/")).map((f) => ({
          path: `${ESP_DIR}/${f.dest.slice("etc/cohesix/".length)}`,
          data: f.data,
        })),
        ...layout.esp.map((f) => ({ path: f.dest, data: f.data })),
      ];
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
