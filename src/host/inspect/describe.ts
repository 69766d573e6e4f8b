/**
 * `cohesix inspect`: what an artifact is and what is in it, as ordered facts (key, value) and a
 * table of entries (name, size, sha256 or detail). Read-only; damaged input is reported, not half-read.
 */
import { join } from "node:path";
import { type Attestation, findPayload, parseAttestation, sha256Hex } from "../../../images/attest.ts";
import { type CpioEntry, readCpio } from "../../../images/cpio.ts";
import { FatVolume } from "../../../images/fat_read.ts";
import { parseTrace } from "../cohsh/record.ts";
import { ARTIFACTS, ESP_DIR } from "../image/artifacts.ts";
import { MANIFEST_JSON } from "../image/layout.ts";
import { ArtifactError, type ArtifactKind, identify } from "./artifact.ts";

export interface Entry {
  name: string;
  size: number | null;
  /** sha256 (hex), or another one-line detail when a hash does not apply. */
  detail: string;
}

export interface Description {
  path: string;
  kind: ArtifactKind;
  /** What it is, in a few words. */
  what: string;
  facts: [string, string][];
  entries: Entry[];
}

const dec = new TextDecoder();

function attestationFacts(a: Attestation): [string, string][] {
  return [
    [
      "builder",
      `${a.builder.name} ${a.builder.version}${a.builder.linker ? `, linked by ${a.builder.linker}` : ""}`,
    ],
    ["seL4", `${a.sel4.version} (kernel ${a.sel4.commit}, tools ${a.sel4.tools_commit})`],
    ["manifest", `${a.manifest.file ?? "(none)"}, fingerprint ${a.manifest.fingerprint ?? "(none)"}`],
    [
      "budget",
      `payload ${a.budget.payload_bytes} of ${a.budget.limit_bytes} bytes (${
        ((100 * a.budget.payload_bytes) / a.budget.limit_bytes).toFixed(1)
      }%), rootfs ${a.budget.rootfs_bytes} bytes`,
    ],
    ["components", String(a.components.length)],
  ];
}

function cpioEntries(entries: CpioEntry[]): Entry[] {
  return entries.map((e) => ({
    name: e.name,
    size: (e.mode & 0o170000) === 0o040000 ? null : e.data.length,
    detail: (e.mode & 0o170000) === 0o040000
      ? `directory, mode ${(e.mode & 0o7777).toString(8)}`
      : sha256Hex(e.data),
  }));
}

function manifestFacts(doc: Record<string, any>, fingerprint: string): [string, string][] {
  const m = doc.manifest ?? {};
  const s = m.secure9p ?? {};
  const roles = (m.roles ?? []).map((r: any) => `${r.name}${r.ticket ? ` (ticket ${r.ticket})` : ""}`);
  return [
    ["fingerprint", fingerprint],
    [
      "profile",
      `${m.profile?.name ?? "?"} on ${m.profile?.platform ?? "?"}, max ${
        m.profile?.max_workers ?? "?"
      } workers`,
    ],
    [
      "secure9p",
      `msize ${s.msize}, walk depth ${s.walk_depth}, ${s.tags_per_session} tags, ${s.max_sessions} sessions`,
    ],
    ["roles", roles.join(", ")],
    ["gpus", (m.gpu?.devices ?? []).map((g: any) => g.id).join(", ") || "(none)"],
    ["memory budget", `${doc.budget?.total ?? "?"} of ${doc.budget?.limit ?? "?"} bytes`],
    [
      "image",
      `max ${m.image?.max_bytes ?? "?"} bytes, ${(m.image?.rootfs ?? []).length} rootfs files, ${
        (m.image?.esp ?? []).length
      } ESP files`,
    ],
  ];
}

async function describeImageDir(path: string): Promise<Description> {
  const att = parseAttestation(
    await Deno.readTextFile(join(path, ARTIFACTS.attestation)),
    join(path, ARTIFACTS.attestation),
  );
  const listing = JSON.parse(
    await Deno.readTextFile(join(path, ARTIFACTS.manifest)).catch(() => '{"artifacts":[]}'),
  );
  const entries: Entry[] = listing.artifacts.map((a: { name: string; size: number; sha256: string }) => ({
    name: a.name,
    size: a.size,
    detail: a.sha256,
  }));
  const rootfs = await Deno.readFile(join(path, ARTIFACTS.rootfs)).catch(() => undefined);
  if (rootfs) {
    for (const e of cpioEntries(readCpio(rootfs))) {
      entries.push({ ...e, name: `${ARTIFACTS.rootfs}:${e.name}` });
    }
  }
  return {
    path,
    kind: "image-dir",
    what: "a 'cohesix image' output directory",
    facts: attestationFacts(att),
    entries,
  };
}

function describeEsp(path: string, bytes: Uint8Array): Description {
  const vol = new FatVolume(bytes);
  const files = vol.walk();
  const entries = files.map((f) => ({
    name: f.path,
    size: f.isDir ? null : f.size,
    detail: f.isDir ? "directory" : sha256Hex(vol.read(f.path)),
  }));
  const facts: [string, string][] = [[
    "volume",
    `FAT${vol.type}, ${bytes.length} bytes, ${files.filter((f) => !f.isDir).length} files`,
  ]];
  try {
    const att = parseAttestation(
      dec.decode(vol.read(`${ESP_DIR}/${ARTIFACTS.attestation}`)),
      `${path}:${ESP_DIR}/${ARTIFACTS.attestation}`,
    );
    facts.push(...attestationFacts(att));
  } catch {
    facts.push(["attestation", "(none on this volume)"]);
  }
  return { path, kind: "esp", what: "a FAT EFI system partition", facts, entries };
}

function describeBinary(path: string, kind: ArtifactKind, bytes: Uint8Array): Description {
  const payload = findPayload(bytes);
  return {
    path,
    kind,
    what: kind === "elf" ? "an ELF image (seL4 elfloader)" : "an EFI application (seL4 elfloader)",
    facts: [["size", `${bytes.length} bytes`], ["sha256", sha256Hex(bytes)], [
      "payload",
      payload ? `${payload.length} members` : "(no elfloader payload found)",
    ]],
    entries: payload ? cpioEntries(payload) : [],
  };
}

function describeCpio(path: string, bytes: Uint8Array): Description {
  const entries = readCpio(bytes);
  const names = entries.map((e) => e.name).join(",");
  const facts: [string, string][] = [["size", `${bytes.length} bytes`], ["sha256", sha256Hex(bytes)], [
    "members",
    String(entries.length),
  ]];
  const manifest = entries.find((e) => e.name === MANIFEST_JSON);
  if (manifest) facts.push(["manifest fingerprint", sha256Hex(manifest.data)]);
  const what = names === "kernel.elf,kernel.dtb,rootserver"
    ? "an elfloader payload (newc CPIO)"
    : "a newc CPIO archive";
  return { path, kind: "cpio", what, facts, entries: cpioEntries(entries) };
}

function describeTrace(path: string, bytes: Uint8Array): Description {
  const trace = parseTrace(dec.decode(bytes), path);
  const errs = trace.steps.filter((s) => s.out.some((l) => l.startsWith("ERR "))).length;
  return {
    path,
    kind: "trace",
    what: "a cohsh session trace (cohsh-trace/v1), checksum valid",
    facts: [["transport", trace.transport], ["commands", String(trace.steps.length)], [
      "reply lines",
      String(trace.steps.reduce((n, s) => n + s.out.length, 0)),
    ], ["ERR replies", String(errs)]],
    entries: trace.steps.map((s, i) => ({
      name: `${i + 1}: ${s.cmd}`,
      size: null,
      detail: s.out.find((l) => /^(OK|ERR) /.test(l)) ?? s.out[0] ?? "(no reply)",
    })),
  };
}

async function describeManifest(path: string, kind: ArtifactKind, bytes: Uint8Array): Promise<Description> {
  if (kind === "manifest-json") {
    const doc = JSON.parse(dec.decode(bytes));
    return {
      path,
      kind,
      what: `a resolved manifest (format ${doc.format})`,
      facts: manifestFacts(doc, sha256Hex(bytes)),
      entries: [],
    };
  }
  const { loadManifest } = await import("../../codegen/load.ts");
  const { ManifestError } = await import("../../codegen/errors.ts");
  try {
    const m = await loadManifest(path);
    return {
      path,
      kind,
      what: "a coh-rtc manifest (TOML), compiles",
      facts: manifestFacts(JSON.parse(m.resolvedJson), m.fingerprint),
      entries: [],
    };
  } catch (err) {
    if (err instanceof ManifestError) {
      throw new ArtifactError(`${path} is a manifest that does not compile:\n${err.message}`);
    }
    throw err;
  }
}

function bundleDescription(
  path: string,
  kind: ArtifactKind,
  doc: any,
  facts: [string, string][],
): Description {
  return {
    path,
    kind,
    what: "a cohesix support bundle (cohesix-bundle/1)",
    facts: [...facts, ["hive", doc.hive], ["role", doc.role], ["builder", doc.builder], [
      "redactions",
      String(doc.redactions),
    ], [
      "manifest matches hive",
      String(doc.manifest?.matches_hive ?? "unknown"),
    ]],
    entries: doc.files.map((f: { path: string; size: number; sha256: string }) => ({
      name: f.path,
      size: f.size,
      detail: f.sha256,
    })),
  };
}

async function describeBundle(path: string, bytes: Uint8Array): Promise<Description> {
  const out = await new Deno.Command("tar", {
    args: ["-xzOf", path, "cohesix-bundle/bundle.json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    return {
      path,
      kind: "tar.gz",
      what: "a gzip file (not a cohesix bundle)",
      facts: [["size", `${bytes.length} bytes`], ["sha256", sha256Hex(bytes)]],
      entries: [],
    };
  }
  return bundleDescription(path, "tar.gz", JSON.parse(dec.decode(out.stdout)), [[
    "sha256",
    sha256Hex(bytes),
  ]]);
}

export async function describe(path: string): Promise<Description> {
  const { kind, bytes } = await identify(path);
  switch (kind) {
    case "image-dir":
      return await describeImageDir(path);
    case "esp":
      return describeEsp(path, bytes!);
    case "elf":
    case "efi-app":
      return describeBinary(path, kind, bytes!);
    case "cpio":
      return describeCpio(path, bytes!);
    case "trace":
      return describeTrace(path, bytes!);
    case "manifest-toml":
    case "manifest-json":
      return await describeManifest(path, kind, bytes!);
    case "attestation": {
      const att = parseAttestation(dec.decode(bytes!), path);
      return {
        path,
        kind,
        what: "an image attestation (cohesix-attestation/1)",
        facts: attestationFacts(att),
        entries: att.components.map((c) => ({ name: c.name, size: c.size, detail: c.sha256 })),
      };
    }
    case "tar.gz":
      return await describeBundle(path, bytes!);
    case "bundle-dir":
      return bundleDescription(
        path,
        kind,
        JSON.parse(await Deno.readTextFile(join(path, "bundle.json"))),
        [],
      );
    default:
      throw new ArtifactError(
        `Cannot describe ${path}: JSON that is neither a resolved manifest nor an attestation`,
      );
  }
}

export function formatDescription(d: Description): string {
  const width = Math.max(4, ...d.facts.map(([k]) => k.length));
  const nameWidth = Math.min(48, Math.max(0, ...d.entries.map((e) => e.name.length)));
  return [
    `${"path".padEnd(width)}  ${d.path}`,
    `${"kind".padEnd(width)}  ${d.kind}: ${d.what}`,
    ...d.facts.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    ...(d.entries.length > 0 ? [`entries (${d.entries.length})`] : []),
    ...d.entries.map((e) =>
      `  ${e.name.padEnd(nameWidth)}  ${
        e.size === null ? "".padStart(9) : String(e.size).padStart(9)
      }  ${e.detail}`
    ),
  ].join("\n");
}
