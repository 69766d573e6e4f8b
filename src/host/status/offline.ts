/**
 * Offline status of a built image: reads what the image itself carries (attestation, the elfloader
 * payload inside the ELF/EFI binary, the ESP files) and checks every component hash against the
 * attestation, with no network and no running hive.
 */
import { basename, dirname, join } from "node:path";
import {
  type Attestation,
  AttestationError,
  type Check,
  checkComponents,
  findPayload,
  parseAttestation,
  sha256Hex,
} from "../../../images/attest.ts";
import { CpioError } from "../../../images/cpio.ts";
import { FatError } from "../../../images/fat.ts";
import { FatVolume } from "../../../images/fat_read.ts";
import { ARTIFACTS, ESP_DIR } from "../image/artifacts.ts";

export class StatusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StatusError";
  }
}

export interface OfflineStatus {
  target: string;
  kind: "dir" | "esp" | "elf" | "efi-app";
  attestation: Attestation;
  checks: Check[];
  ok: boolean;
}

function payloadChecks(att: Attestation, binary: Uint8Array, where: string): Check[] {
  const payload = findPayload(binary);
  if (!payload) {
    return [{ what: `payload in ${where}`, ok: false, detail: "no elfloader CPIO payload found" }];
  }
  const names = payload.map((e) => e.name).join(",");
  const order: Check = {
    what: `payload order in ${where}`,
    ok: names === "kernel.elf,kernel.dtb,rootserver",
    detail: `members ${names}`,
  };
  return [
    order,
    ...checkComponents(att, new Map(payload.map((e) => [e.name, e.data])), `payload in ${where}`),
  ];
}

function fingerprintCheck(att: Attestation, manifestJson: Uint8Array | undefined, where: string): Check[] {
  if (att.manifest.fingerprint === null) return [];
  if (!manifestJson) return [{ what: `manifest.json (${where})`, ok: false, detail: "missing" }];
  const got = sha256Hex(manifestJson);
  return [{
    what: `manifest fingerprint (${where})`,
    ok: got === att.manifest.fingerprint,
    detail: got === att.manifest.fingerprint
      ? `${got.slice(0, 16)}… matches`
      : `${got.slice(0, 16)}… != ${att.manifest.fingerprint.slice(0, 16)}…`,
  }];
}

function readEsp(
  att: Attestation | undefined,
  img: Uint8Array,
  where: string,
): { att: Attestation; checks: Check[] } {
  // Only attested files are read, by name. The spool stores under ESP_SPOOL_DIR are mutable data
  // written after the build (settings, pending telemetry): never hashed here, so appends to them do
  // not fail these checks (`cohesix status` lists them separately, src/host/status/spool.ts).
  const vol = new FatVolume(img);
  let text: string;
  try {
    text = new TextDecoder().decode(vol.read(`${ESP_DIR}/${ARTIFACTS.attestation}`));
  } catch {
    throw new StatusError(
      `Cannot check ${where}: it has no ${ESP_DIR}/${ARTIFACTS.attestation} (was it built by 'cohesix image --uefi'?)`,
    );
  }
  const espAtt = parseAttestation(text, `${where}:${ESP_DIR}/${ARTIFACTS.attestation}`);
  const checks: Check[] = [];
  if (att) {
    checks.push({
      what: `attestation on ${where}`,
      ok: JSON.stringify(att) === JSON.stringify(espAtt),
      detail: JSON.stringify(att) === JSON.stringify(espAtt)
        ? "same as the directory's"
        : "differs from the directory's",
    });
  }
  const efi = vol.read("EFI/BOOT/BOOTAA64.EFI");
  checks.push(...checkComponents(espAtt, new Map([[ARTIFACTS.efiApp, efi]]), where));
  checks.push(...payloadChecks(espAtt, efi, `${where}:BOOTAA64.EFI`));
  const rootfs = (() => {
    try {
      return vol.read(`${ESP_DIR}/${ARTIFACTS.rootfs}`);
    } catch {
      return undefined;
    }
  })();
  if (rootfs) checks.push(...checkComponents(espAtt, new Map([[ARTIFACTS.rootfs, rootfs]]), where));
  let manifestJson: Uint8Array | undefined;
  try {
    manifestJson = vol.read(`${ESP_DIR}/manifest.json`);
  } catch { /* checked below when a fingerprint is attested */ }
  checks.push(...fingerprintCheck(espAtt, manifestJson, where));
  return { att: espAtt, checks };
}

async function readDir(dir: string): Promise<OfflineStatus> {
  const attPath = join(dir, ARTIFACTS.attestation);
  const text = await Deno.readTextFile(attPath).catch(() => {
    throw new StatusError(
      `Cannot check ${dir}: no ${ARTIFACTS.attestation} (pass a 'cohesix image' output directory)`,
    );
  });
  const att = parseAttestation(text, attPath);
  const checks: Check[] = [];
  const manifestText = await Deno.readTextFile(join(dir, ARTIFACTS.manifest)).catch(() => undefined);
  if (manifestText === undefined) {
    checks.push({ what: ARTIFACTS.manifest, ok: false, detail: "missing" });
  } else {
    const doc = JSON.parse(manifestText) as { artifacts: { name: string; size: number; sha256: string }[] };
    for (const a of doc.artifacts) {
      const bytes = await Deno.readFile(join(dir, a.name)).catch(() => undefined);
      const got = bytes ? sha256Hex(bytes) : "";
      checks.push({
        what: `${a.name} (${ARTIFACTS.manifest})`,
        ok: bytes !== undefined && got === a.sha256 && bytes.length === a.size,
        detail: !bytes
          ? "missing"
          : got === a.sha256
          ? `${a.size} bytes, sha256 matches`
          : `sha256 ${got.slice(0, 16)}… != ${a.sha256.slice(0, 16)}…`,
      });
    }
  }
  const files = new Map<string, Uint8Array>();
  for (const name of [ARTIFACTS.payload, ARTIFACTS.rootfs, ARTIFACTS.elfImage, ARTIFACTS.efiApp]) {
    const bytes = await Deno.readFile(join(dir, name)).catch(() => undefined);
    if (bytes) files.set(name, bytes);
  }
  checks.push(...checkComponents(att, files, "directory"));
  const elf = files.get(ARTIFACTS.elfImage);
  if (elf) checks.push(...payloadChecks(att, elf, ARTIFACTS.elfImage));
  const esp = await Deno.readFile(join(dir, ARTIFACTS.esp)).catch(() => undefined);
  if (esp) checks.push(...readEsp(att, esp, ARTIFACTS.esp).checks);
  return { target: dir, kind: "dir", attestation: att, checks, ok: checks.every((c) => c.ok) };
}

/**
 * Inspects an output directory, an ESP image, or an ELF image / EFI application; with `baseline`,
 * the attested manifest fingerprint must also equal it. Damaged media
 * (bad FAT, truncated archives, broken JSON) become a StatusError naming the target, never a crash.
 */
export async function offlineStatus(target: string, baseline?: string): Promise<OfflineStatus> {
  try {
    const s = await inspect(target);
    if (baseline !== undefined) {
      const got = s.attestation.manifest.fingerprint;
      s.checks.push({
        what: "manifest fingerprint (baseline)",
        ok: got === baseline,
        detail: got === baseline
          ? `${baseline.slice(0, 16)}… as expected`
          : `attested ${got ?? "(none)"} != expected ${baseline}`,
      });
      s.ok = s.checks.every((c) => c.ok);
    }
    return s;
  } catch (err) {
    if (err instanceof StatusError) throw err;
    if (err instanceof AttestationError) throw new StatusError(err.message);
    if (
      err instanceof FatError || err instanceof CpioError || err instanceof SyntaxError ||
      err instanceof RangeError
    ) {
      throw new StatusError(
        `Cannot check ${target}: ${err.message} (the media may be damaged: rebuild or rewrite it)`,
      );
    }
    throw err;
  }
}

async function inspect(target: string): Promise<OfflineStatus> {
  const info = await Deno.stat(target).catch(() => undefined);
  if (!info) throw new StatusError(`Cannot check ${target}: no such file or directory`);
  if (info.isDirectory) return await readDir(target);
  const bytes = await Deno.readFile(target);
  const isElf = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  const isEfi = bytes[0] === 0x4d && bytes[1] === 0x5a;
  if (!isElf && !isEfi) {
    if (bytes.length >= 512 && bytes[510] === 0x55 && bytes[511] === 0xaa) {
      const { att, checks } = readEsp(undefined, bytes, basename(target));
      return { target, kind: "esp", attestation: att, checks, ok: checks.every((c) => c.ok) };
    }
    throw new StatusError(
      `Cannot check ${target}: not an image directory, ESP, ELF image or EFI application`,
    );
  }
  const attPath = join(dirname(target), ARTIFACTS.attestation);
  const text = await Deno.readTextFile(attPath).catch(() => {
    throw new StatusError(
      `Cannot check ${target}: no ${ARTIFACTS.attestation} beside it to verify against (keep the image with its attestation)`,
    );
  });
  const att = parseAttestation(text, attPath);
  const name = isElf ? ARTIFACTS.elfImage : ARTIFACTS.efiApp;
  const checks = [
    ...checkComponents(att, new Map([[name, bytes]]), basename(target)),
    ...payloadChecks(att, bytes, basename(target)),
  ];
  return { target, kind: isElf ? "elf" : "efi-app", attestation: att, checks, ok: checks.every((c) => c.ok) };
}

/** The human-readable report. */
export function formatStatus(s: OfflineStatus): string {
  const a = s.attestation;
  const pct = (n: number) => ((100 * n) / a.budget.limit_bytes).toFixed(1);
  const lines = [
    `image      ${s.target} (${s.kind})`,
    `builder    ${a.builder.name} ${a.builder.version}${
      a.builder.linker ? `, linked by ${a.builder.linker}` : ""
    }`,
    `seL4       ${a.sel4.version} (kernel ${a.sel4.commit}, tools ${a.sel4.tools_commit})`,
    `manifest   ${a.manifest.file ?? "(none)"} fingerprint ${a.manifest.fingerprint ?? "(none)"}`,
    `budget     payload ${a.budget.payload_bytes} of ${a.budget.limit_bytes} bytes (${
      pct(a.budget.payload_bytes)
    }%), ` +
    `rootfs ${a.budget.rootfs_bytes} bytes; limit from ${a.manifest.limit_from}`,
    "checks",
    ...s.checks.map((c) => `  ${c.ok ? "ok  " : "FAIL"} ${c.what}: ${c.detail}`),
    s.ok
      ? `result     ${s.checks.length} checks, all ok`
      : `result     ${
        s.checks.filter((c) => !c.ok).length
      } of ${s.checks.length} checks FAILED: rebuild with 'cohesix image' or replace the media`,
  ];
  return lines.join("\n");
}
