/**
 * What `cohesix image` writes: artifact names, the guest rootfs archive, the attestation document
 * and the ESP file list. Pure functions of their inputs (no I/O), so builds are reproducible.
 */
import { type Attestation, ATTESTATION_SCHEMA, type Component, component } from "../../../images/attest.ts";
import { fileRecord, makeReproducible, writeCpio } from "../../../images/cpio.ts";
import type { FatFile } from "../../../images/fat.ts";
import type { Sel4Export } from "../../../images/sel4_export.ts";
import { COHESIX_VERSION } from "../../guest/version.ts";
import { spoolLayoutFiles } from "../spool/layout.ts";
import type { ImageLayout } from "./layout.ts";

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

/**
 * The spool stores on the ESP (settings, pending telemetry; src/host/spool/layout.ts). Mutable data:
 * written after the build, so never attested and never hashed by `cohesix status --offline ESP`.
 */
export const ESP_SPOOL_DIR = `${ESP_DIR}/SPOOL`;

/**
 * The guest root filesystem: the manifest's image.rootfs files and the resolved manifest as a
 * reproducible newc archive (read-only files, sorted, parent directories included). The same
 * bytes go to out/rootfs.cpio, the ESP, and (through images/embed.ts) into a native root task.
 */
export function rootfsArchive(layout: ImageLayout): Uint8Array {
  return writeCpio(makeReproducible(layout.rootfs.map((f) => fileRecord(f.dest, f.data, 0o444))));
}

interface AttestationInputs {
  sel4: Sel4Export;
  layout: ImageLayout;
  kernelElf: Uint8Array;
  kernelDtb: Uint8Array;
  rootserver: Uint8Array;
  payload: Uint8Array;
  rootfs: Uint8Array;
  elf: Uint8Array;
  efi?: Uint8Array;
}

/** The attestation document: every component's sha256, the manifest fingerprint, versions, budget. */
export function makeAttestation(i: AttestationInputs): Attestation {
  const components: Component[] = [
    component("kernel.elf", i.kernelElf),
    component("kernel.dtb", i.kernelDtb),
    component("rootserver", i.rootserver),
    component(ARTIFACTS.payload, i.payload),
    component(ARTIFACTS.rootfs, i.rootfs),
    component(ARTIFACTS.elfImage, i.elf),
    ...(i.efi ? [component(ARTIFACTS.efiApp, i.efi)] : []),
    ...i.layout.esp.map((f) => component(`esp:${f.dest}`, f.data)),
  ];
  return {
    version: 1,
    schema: ATTESTATION_SCHEMA,
    builder: { name: "cohesix", version: COHESIX_VERSION, linker: "" },
    sel4: { version: i.sel4.version, commit: i.sel4.commit, tools_commit: i.sel4.toolsCommit },
    manifest: {
      file: i.layout.manifestFile,
      fingerprint: i.layout.fingerprint,
      fingerprint_of: i.layout.fingerprint
        ? "sha256 of the resolved manifest JSON (etc/cohesix/manifest.json in the rootfs)"
        : null,
      limit_bytes: i.layout.limitBytes,
      limit_from: i.layout.limitFrom,
    },
    budget: {
      payload_bytes: i.payload.length,
      rootfs_bytes: i.rootfs.length,
      limit_bytes: i.layout.limitBytes,
    },
    components,
  };
}

/**
 * What goes on the ESP: the boot loader, the attestation, the rootfs, the manifest, image.esp files
 * and empty spool stores (their bounds files only: deterministic, so the ESP stays reproducible).
 */
export function espFiles(
  efi: Uint8Array,
  attestation: Uint8Array,
  rootfs: Uint8Array,
  layout: ImageLayout,
): FatFile[] {
  return [
    { path: "EFI/BOOT/BOOTAA64.EFI", data: efi },
    { path: `${ESP_DIR}/${ARTIFACTS.attestation}`, data: attestation },
    { path: `${ESP_DIR}/${ARTIFACTS.rootfs}`, data: rootfs },
    ...layout.rootfs.filter((f) => f.dest.startsWith("etc/cohesix/")).map((f) => ({
      path: `${ESP_DIR}/${f.dest.slice("etc/cohesix/".length)}`,
      data: f.data,
    })),
    ...layout.esp.map((f) => ({ path: f.dest, data: f.data })),
    ...spoolLayoutFiles(ESP_SPOOL_DIR),
  ];
}
