/**
 * What a file or directory is, for the operator tools (`inspect`, `diff`): an image output
 * directory, an ESP, an ELF image / EFI application, a CPIO archive, a cohsh trace, a manifest
 * (TOML, or the resolved JSON), an attestation, or a support bundle. Identification looks at the
 * bytes (magic numbers, JSON schema), never only at the name.
 */
import { join } from "node:path";
import {
  type Attestation,
  ATTESTATION_SCHEMA,
  AttestationError,
  parseAttestation,
} from "../../../images/attest.ts";
import { CpioError, readCpio } from "../../../images/cpio.ts";
import { FatError } from "../../../images/fat.ts";
import { FatVolume } from "../../../images/fat_read.ts";
import { ARTIFACTS, ESP_DIR } from "../image/artifacts.ts";
import { MANIFEST_JSON } from "../image/layout.ts";
import { TRACE_SCHEMA, TraceError } from "../cohsh/record.ts";

export type ArtifactKind =
  | "image-dir"
  | "bundle-dir"
  | "esp"
  | "elf"
  | "efi-app"
  | "cpio"
  | "tar.gz"
  | "trace"
  | "manifest-toml"
  | "manifest-json"
  | "attestation"
  | "json";

/** A file or directory the tools cannot read; the message names it and says why. */
export class ArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactError";
  }
}

/** The message of an error that means "this input is damaged or unknown", else undefined (a bug). */
export function unreadableInput(err: unknown): string | undefined {
  const known = err instanceof ArtifactError || err instanceof AttestationError || err instanceof CpioError ||
    err instanceof FatError || err instanceof TraceError || err instanceof SyntaxError;
  return known ? (err as Error).message : undefined;
}

const dec = new TextDecoder();

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

/** The kind of `path`, from its bytes (and for directories, the files in it). */
export async function identify(path: string): Promise<{ kind: ArtifactKind; bytes?: Uint8Array }> {
  const info = await Deno.stat(path).catch(() => null);
  if (info === null) throw new ArtifactError(`Cannot read ${path}: no such file or directory`);
  if (info.isDirectory) {
    if (await Deno.stat(join(path, ARTIFACTS.attestation)).then(() => true, () => false)) {
      return { kind: "image-dir" };
    }
    if (await Deno.stat(join(path, "bundle.json")).then(() => true, () => false)) {
      return { kind: "bundle-dir" };
    }
    throw new ArtifactError(
      `Cannot read ${path}: a directory without ${ARTIFACTS.attestation} (not a 'cohesix image' output)`,
    );
  }
  const bytes = await Deno.readFile(path);
  if (startsWith(bytes, [0x7f, 0x45, 0x4c, 0x46])) return { kind: "elf", bytes };
  if (startsWith(bytes, [0x4d, 0x5a])) return { kind: "efi-app", bytes };
  if (startsWith(bytes, [0x1f, 0x8b])) return { kind: "tar.gz", bytes };
  if (dec.decode(bytes.subarray(0, 6)) === "070701") return { kind: "cpio", bytes };
  if (bytes.length >= 512 && bytes[510] === 0x55 && bytes[511] === 0xaa) return { kind: "esp", bytes };
  const text = dec.decode(bytes);
  const firstLine = text.slice(0, text.indexOf("\n") >>> 0);
  if (firstLine.includes(`"schema":"${TRACE_SCHEMA}"`)) return { kind: "trace", bytes };
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{")) {
    try {
      const doc = JSON.parse(text);
      if (doc?.schema === ATTESTATION_SCHEMA) return { kind: "attestation", bytes };
      if (typeof doc?.format === "number" && typeof doc?.manifest === "object") {
        return { kind: "manifest-json", bytes };
      }
      return { kind: "json", bytes };
    } catch { /* not JSON: fall through */ }
  }
  if (path.endsWith(".toml")) return { kind: "manifest-toml", bytes };
  throw new ArtifactError(
    `Cannot tell what ${path} is: not an image directory, ESP, ELF, EFI application, CPIO, trace, manifest or attestation`,
  );
}

/** What `diff` compares: the attestation (components, versions) and the resolved manifest. */
export interface Snapshot {
  path: string;
  kind: ArtifactKind;
  attestation: Attestation | null;
  /** The resolved manifest document ({format, manifest, budget}), when the artifact carries one. */
  manifest: Record<string, unknown> | null;
  /** A support bundle's hive facts: /proc/boot as `key` → value (version, manifest, limits.*, …). */
  hive: Map<string, string> | null;
}

/** One file of a support bundle: from the unpacked directory, or read out of the archive by GNU tar. */
async function bundleFile(path: string, kind: ArtifactKind, name: string): Promise<Uint8Array | undefined> {
  if (kind === "bundle-dir") return await Deno.readFile(join(path, name)).catch(() => undefined);
  const out = await new Deno.Command("tar", {
    args: ["-xzOf", path, `cohesix-bundle/${name}`],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return out.success ? out.stdout : undefined;
}

/**
 * /proc/boot as facts: `key=value` tokens, a leading word without `=` prefixing the line's keys
 * (`limits sessions=16` → `limits.sessions`), other lines kept whole (`banner`).
 */
export function bootFacts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n").filter((l) => l.trim() !== "")) {
    const words = line.trim().split(/\s+/);
    if (!words.some((w) => w.includes("="))) {
      out.set("banner", line.trim());
      continue;
    }
    const prefix = words[0].includes("=") ? "" : `${words.shift()}.`;
    for (const w of words) {
      const at = w.indexOf("=");
      if (at > 0) out.set(prefix + w.slice(0, at), w.slice(at + 1));
    }
  }
  return out;
}

function espFile(vol: FatVolume, path: string): Uint8Array | undefined {
  try {
    return vol.read(path);
  } catch {
    return undefined;
  }
}

function json(bytes: Uint8Array | undefined, where: string): Record<string, unknown> | null {
  if (bytes === undefined) return null;
  try {
    return JSON.parse(dec.decode(bytes));
  } catch (err) {
    throw new ArtifactError(`Cannot read ${where}: not JSON (${(err as Error).message})`);
  }
}

/** The attestation and resolved manifest an artifact carries (either may be null). */
export async function snapshotOf(path: string): Promise<Snapshot> {
  const { kind, bytes } = await identify(path);
  const snap: Snapshot = { path, kind, attestation: null, manifest: null, hive: null };
  if (kind === "image-dir") {
    const attPath = join(path, ARTIFACTS.attestation);
    snap.attestation = parseAttestation(await Deno.readTextFile(attPath), attPath);
    const rootfs = await Deno.readFile(join(path, ARTIFACTS.rootfs)).catch(() => undefined);
    const entry = rootfs ? readCpio(rootfs).find((e) => e.name === MANIFEST_JSON) : undefined;
    snap.manifest = json(entry?.data, `${path}/${ARTIFACTS.rootfs}:${MANIFEST_JSON}`);
  } else if (kind === "esp") {
    const vol = new FatVolume(bytes!);
    const att = espFile(vol, `${ESP_DIR}/${ARTIFACTS.attestation}`);
    if (att) {
      snap.attestation = parseAttestation(dec.decode(att), `${path}:${ESP_DIR}/${ARTIFACTS.attestation}`);
    }
    snap.manifest = json(espFile(vol, `${ESP_DIR}/manifest.json`), `${path}:${ESP_DIR}/manifest.json`);
  } else if (kind === "attestation") {
    snap.attestation = parseAttestation(dec.decode(bytes!), path);
  } else if (kind === "manifest-json") {
    snap.manifest = json(bytes, path);
  } else if (kind === "manifest-toml") {
    const { loadManifest } = await import("../../codegen/load.ts");
    const { ManifestError } = await import("../../codegen/errors.ts");
    try {
      snap.manifest = JSON.parse((await loadManifest(path)).resolvedJson);
    } catch (err) {
      if (err instanceof ManifestError) throw new ArtifactError(`Cannot compile ${path}:\n${err.message}`);
      throw err;
    }
  } else if (kind === "cpio") {
    const entry = readCpio(bytes!).find((e) => e.name === MANIFEST_JSON);
    snap.manifest = json(entry?.data, `${path}:${MANIFEST_JSON}`);
  } else if (kind === "bundle-dir" || kind === "tar.gz") {
    snap.manifest = json(
      await bundleFile(path, kind, "manifest/resolved.json"),
      `${path}:manifest/resolved.json`,
    );
    const boot = await bundleFile(path, kind, "hive/proc/boot");
    if (boot) snap.hive = bootFacts(dec.decode(boot));
  }
  if (snap.attestation === null && snap.manifest === null && snap.hive === null) {
    throw new ArtifactError(
      `Cannot compare ${path} (${kind}): it carries no attestation, manifest or hive state`,
    );
  }
  return snap;
}

/** Fields that name an array element (roles by name, GPUs by id, ticket keys by issuer, ...). */
const ELEMENT_NAMES = ["name", "id", "issuer", "service", "dest", "path"];

/** The field whose value is a distinct string in every element, if one is. */
function elementKey(items: unknown[]): string | undefined {
  return ELEMENT_NAMES.find((f) => {
    const values = items.map((
      v,
    ) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[f] : undefined));
    return values.every((v) => typeof v === "string") && new Set(values).size === values.length;
  });
}

/**
 * Flattens a JSON value into `dotted.key` → JSON text. Arrays of scalars stay one value; arrays of
 * objects get `[name]` keys when every element has a distinct name (id, issuer, ...), else `[i]`,
 * so one changed element names itself.
 */
export function flatten(
  value: unknown,
  prefix: string,
  out = new Map<string, string>(),
): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0 || value.every((v) => v === null || typeof v !== "object")) {
      out.set(prefix, JSON.stringify(value));
    } else {
      const by = elementKey(value);
      value.forEach((v, i) => flatten(v, `${prefix}[${by ? (v as Record<string, string>)[by] : i}]`, out));
    }
  } else if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) out.set(prefix, "{}");
    for (const k of keys) {
      flatten((value as Record<string, unknown>)[k], prefix === "" ? k : `${prefix}.${k}`, out);
    }
  } else out.set(prefix, JSON.stringify(value));
  return out;
}

/** The keys of a resolved manifest document: `manifest.*` without the prefix, `budget.*` with it. */
export function manifestKeys(doc: Record<string, unknown>): Map<string, string> {
  const out = flatten(doc.manifest ?? {}, "");
  flatten(doc.budget ?? {}, "budget", out);
  return out;
}
