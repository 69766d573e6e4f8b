/**
 * The attestation file an image carries (out/attestation.json and /cohesix/attestation.json on the
 * ESP): sha256 of every component, the manifest fingerprint, seL4 version/commit, builder version,
 * and the size budget. Also finds the elfloader payload inside a linked image so the component
 * hashes can be checked offline against what the image really holds.
 */
import { createHash } from "node:crypto";
import { type CpioEntry, readCpio } from "./cpio.ts";

export const ATTESTATION_SCHEMA = "cohesix-attestation/1";

export interface Component {
  name: string;
  size: number;
  sha256: string;
}

export interface Attestation {
  version: 1;
  schema: string;
  /** `linker`: the cross gcc that linked the image (first line of `gcc --version`). */
  builder: { name: "cohesix"; version: string; linker: string };
  sel4: { version: string; commit: string; tools_commit: string };
  manifest: {
    file: string | null;
    fingerprint: string | null;
    /** What the fingerprint hashes, e.g. "manifest-file-sha256". */
    fingerprint_of: string | null;
    limit_bytes: number;
    limit_from: "manifest" | "default";
  };
  budget: { payload_bytes: number; rootfs_bytes: number; limit_bytes: number };
  components: Component[];
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function component(name: string, bytes: Uint8Array): Component {
  return { name, size: bytes.length, sha256: sha256Hex(bytes) };
}

/** Stable JSON text: two-space indent, keys in the order the objects were built, trailing newline. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

const MAGIC = new TextEncoder().encode("070701");

/**
 * Finds the elfloader's payload (a newc archive whose first member is kernel.elf) inside an
 * ELF image or EFI application. Returns undefined when none is there.
 */
export function findPayload(image: Uint8Array): CpioEntry[] | undefined {
  for (
    let i = image.indexOf(MAGIC[0]);
    i >= 0 && i + 110 <= image.length;
    i = image.indexOf(MAGIC[0], i + 1)
  ) {
    if (!MAGIC.every((b, k) => image[i + k] === b)) continue;
    const name = new TextDecoder().decode(image.subarray(i + 110, i + 120));
    if (name !== "kernel.elf") continue;
    try {
      const entries = readCpio(image, i);
      if (entries.length > 0) return entries;
    } catch {
      // a stray "070701kernel.elf" that is not an archive: keep looking
    }
  }
  return undefined;
}

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

/** Compares what was found (name → bytes) with the attestation's components of the same names. */
export function checkComponents(att: Attestation, found: Map<string, Uint8Array>, where: string): Check[] {
  const checks: Check[] = [];
  for (const [name, bytes] of found) {
    const want = att.components.find((c) => c.name === name);
    const got = sha256Hex(bytes);
    if (!want) {
      checks.push({ what: `${name} (${where})`, ok: false, detail: "not listed in the attestation" });
    } else {
      checks.push({
        what: `${name} (${where})`,
        ok: want.sha256 === got && want.size === bytes.length,
        detail: want.sha256 === got
          ? `sha256 ${got.slice(0, 16)}… matches`
          : `sha256 ${got.slice(0, 16)}… != attested ${want.sha256.slice(0, 16)}…`,
      });
    }
  }
  return checks;
}

export class AttestationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AttestationError";
  }
}

/** Parses an attestation file, refusing anything that is not this schema. */
export function parseAttestation(text: string, where: string): Attestation {
  let doc: any;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new AttestationError(`Cannot read attestation ${where}: not JSON (${(err as Error).message})`);
  }
  const obj = (v: unknown): boolean => typeof v === "object" && v !== null;
  const ok = obj(doc) && doc.schema === ATTESTATION_SCHEMA && Array.isArray(doc.components) &&
    doc.components.every((c: any) =>
      obj(c) && typeof c.name === "string" && typeof c.sha256 === "string" && typeof c.size === "number"
    ) &&
    obj(doc.manifest) && obj(doc.budget) && typeof doc.budget.limit_bytes === "number" && obj(doc.sel4) &&
    obj(doc.builder);
  if (!ok) {
    throw new AttestationError(`Cannot read attestation ${where}: not a ${ATTESTATION_SCHEMA} document`);
  }
  return doc as Attestation;
}
