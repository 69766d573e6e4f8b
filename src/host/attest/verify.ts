/**
 * `cohesix attest`: recompute every hash an image's attestation.json names, wherever the image
 * carries that component (the files of an output directory, the elfloader payload inside the ELF
 * image and the EFI application, the ESP's files, the rootfs's resolved manifest), and require
 * that each attested component was found and matched at least once. Builds on the offline status
 * checks (`src/host/status/offline.ts`) and adds what they leave out: the members of payload.cpio,
 * the manifest inside rootfs.cpio, the ESP's `esp:` files, and the coverage of every component.
 */
import { join } from "node:path";
import { type Check, checkComponents, findPayload, sha256Hex } from "../../../images/attest.ts";
import { readCpio } from "../../../images/cpio.ts";
import { FatVolume } from "../../../images/fat_read.ts";
import { ARTIFACTS, ESP_DIR } from "../image/artifacts.ts";
import { MANIFEST_JSON } from "../image/layout.ts";
import { type OfflineStatus, offlineStatus } from "../status/offline.ts";

export interface ComponentResult {
  name: string;
  sha256: string;
  size: number;
  /** How many places in the image carried this component and were hashed. */
  places: number;
  ok: boolean;
}

export interface AttestReport {
  target: string;
  kind: OfflineStatus["kind"];
  fingerprint: string | null;
  ok: boolean;
  components: ComponentResult[];
  checks: Check[];
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  return await Deno.readFile(path).catch(() => undefined);
}

function manifestInRootfs(s: OfflineStatus, rootfs: Uint8Array, where: string): Check[] {
  const want = s.attestation.manifest.fingerprint;
  if (want === null) return [];
  const entry = readCpio(rootfs).find((e) => e.name === MANIFEST_JSON);
  const got = entry ? sha256Hex(entry.data) : "";
  return [{
    what: `manifest fingerprint (${where}:${MANIFEST_JSON})`,
    ok: got === want,
    detail: !entry
      ? "missing"
      : got === want
      ? `${got.slice(0, 16)}… matches`
      : `${got.slice(0, 16)}… != ${want.slice(0, 16)}…`,
  }];
}

function espFileChecks(s: OfflineStatus, esp: Uint8Array, where: string): Check[] {
  const vol = new FatVolume(esp);
  const files = new Map<string, Uint8Array>();
  for (const c of s.attestation.components) {
    if (!c.name.startsWith("esp:")) continue;
    const path = c.name.slice(4);
    try {
      files.set(c.name, vol.read(path));
    } catch {
      // absent: reported by the coverage check
    }
  }
  const rootfs = (() => {
    try {
      return vol.read(`${ESP_DIR}/${ARTIFACTS.rootfs}`);
    } catch {
      return undefined;
    }
  })();
  return [
    ...checkComponents(s.attestation, files, where),
    ...(rootfs ? manifestInRootfs(s, rootfs, `${where}:${ESP_DIR}/${ARTIFACTS.rootfs}`) : []),
  ];
}

/** The checks offline status does not make. */
async function extraChecks(s: OfflineStatus): Promise<Check[]> {
  if (s.kind === "esp") return espFileChecks(s, await Deno.readFile(s.target), s.target.split("/").pop()!);
  if (s.kind !== "dir") return [];
  const checks: Check[] = [];
  const payload = await readOptional(join(s.target, ARTIFACTS.payload));
  if (payload) {
    const members = new Map(readCpio(payload).map((e) => [e.name, e.data]));
    checks.push(...checkComponents(s.attestation, members, ARTIFACTS.payload));
  }
  const efi = await readOptional(join(s.target, ARTIFACTS.efiApp));
  const efiPayload = efi ? findPayload(efi) : undefined;
  if (efiPayload) {
    checks.push(
      ...checkComponents(
        s.attestation,
        new Map(efiPayload.map((e) => [e.name, e.data])),
        `payload in ${ARTIFACTS.efiApp}`,
      ),
    );
  }
  const rootfs = await readOptional(join(s.target, ARTIFACTS.rootfs));
  if (rootfs) checks.push(...manifestInRootfs(s, rootfs, ARTIFACTS.rootfs));
  const esp = await readOptional(join(s.target, ARTIFACTS.esp));
  if (esp) checks.push(...espFileChecks(s, esp, ARTIFACTS.esp));
  return checks;
}

/**
 * Verifies an image directory, ESP, ELF image or EFI application; with `fingerprint` (the trust
 * anchor, e.g. a CI baseline) the attested manifest fingerprint must equal it. Throws StatusError
 * when the media is unreadable.
 */
export async function attestImage(target: string, fingerprint?: string): Promise<AttestReport> {
  const s = await offlineStatus(target, fingerprint);
  const checks = [...s.checks, ...await extraChecks(s)];
  const components = s.attestation.components.map((c) => {
    const mine = checks.filter((k) => k.what.startsWith(`${c.name} (`));
    return {
      name: c.name,
      sha256: c.sha256,
      size: c.size,
      places: mine.length,
      ok: mine.length > 0 && mine.every((k) => k.ok),
    };
  });
  // An output directory holds every component; a single medium (ESP, ELF, EFI) only some.
  for (const c of components.filter((c) => c.places === 0)) {
    if (s.kind === "dir") {
      checks.push({
        what: `${c.name} (coverage)`,
        ok: false,
        detail: "attested but not found anywhere in the image",
      });
    } else c.ok = true;
  }
  return {
    target,
    kind: s.kind,
    fingerprint: s.attestation.manifest.fingerprint,
    ok: checks.every((c) => c.ok),
    components,
    checks,
  };
}

export function formatAttest(r: AttestReport): string {
  const width = Math.max(...r.components.map((c) => c.name.length));
  const failed = r.checks.filter((c) => !c.ok);
  return [
    `attest     ${r.target} (${r.kind}), manifest fingerprint ${r.fingerprint ?? "(none)"}`,
    ...r.components.map((c) =>
      `  ${c.ok ? "ok  " : "FAIL"} ${c.name.padEnd(width)}  sha256 ${c.sha256.slice(0, 16)}…  ${
        c.places === 0 ? "not on this medium" : `${c.places} place${c.places === 1 ? "" : "s"} checked`
      }`
    ),
    ...failed.map((c) => `  FAIL ${c.what}: ${c.detail}`),
    r.ok
      ? `result     PASS: ${r.components.length} components, ${r.checks.length} hashes recomputed, all match`
      : `result     FAIL: ${failed.length} of ${r.checks.length} checks do not match the attestation; rebuild with 'cohesix image' or replace the media`,
  ].join("\n");
}
