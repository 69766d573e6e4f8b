/**
 * What the manifest says about the image: the payload size limit, the guest root-filesystem
 * files (`[image] rootfs`), extra ESP files (`[image] esp`), and the manifest fingerprint.
 * Without --manifest the limit is the schema's maximum (4 MiB) and the rootfs is empty.
 */
import { dirname, join, resolve } from "node:path";
import type { ResolvedManifest } from "../../codegen/load.ts";

/** Default payload limit when no manifest is given (the manifest schema's own maximum). */
export const DEFAULT_LIMIT_BYTES = 4 * 1024 * 1024; // = LIMITS.imageBytesMax (tests/images checks they agree)

/** Where the resolved manifest and its fingerprint go in the guest rootfs (and on the ESP under /cohesix). */
export const MANIFEST_JSON = "etc/cohesix/manifest.json";
export const MANIFEST_SHA256 = "etc/cohesix/manifest.sha256";

export class LayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LayoutError";
  }
}

export interface LayoutFile {
  /** Path in the rootfs or on the ESP, without a leading '/'. */
  dest: string;
  data: Uint8Array;
}

export interface ImageLayout {
  /** The manifest file name (no directories, so artifacts do not depend on where the tree lives). */
  manifestFile: string | null;
  fingerprint: string | null;
  limitBytes: number;
  limitFrom: "manifest" | "default";
  rootfs: LayoutFile[];
  esp: LayoutFile[];
}

/**
 * The directory `[image]` sources are relative to: the manifest's repository root, i.e. the
 * nearest ancestor of the manifest that holds a deno.json or .git; else the manifest's directory.
 */
export function sourceRoot(manifestPath: string): string {
  const start = dirname(resolve(manifestPath));
  for (let dir = start;;) {
    for (const marker of ["deno.json", ".git"]) {
      try {
        Deno.statSync(join(dir, marker));
        return dir;
      } catch { /* keep climbing */ }
    }
    const up = dirname(dir);
    if (up === dir) return start;
    dir = up;
  }
}

async function readSource(
  root: string,
  src: string,
  label: string,
  manifestPath: string,
): Promise<Uint8Array> {
  const path = join(root, src);
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Deno.errors.NotFound();
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new LayoutError(
        `Cannot build image: ${manifestPath} lists ${label} '${src}', which is not a file under ${root} (fix the path or add the file)`,
      );
    }
    throw err;
  }
}

/** Loads the layout; throws LayoutError for an invalid manifest or a missing source file. */
export async function loadLayout(manifestPath: string | undefined): Promise<ImageLayout> {
  if (manifestPath === undefined) {
    return {
      manifestFile: null,
      fingerprint: null,
      limitBytes: DEFAULT_LIMIT_BYTES,
      limitFrom: "default",
      rootfs: [],
      esp: [],
    };
  }
  // The manifest compiler (zod, smol-toml) loads only when a manifest is given.
  const { loadManifest } = await import("../../codegen/load.ts");
  const { ManifestError } = await import("../../codegen/errors.ts");
  let m: ResolvedManifest;
  try {
    m = await loadManifest(manifestPath);
  } catch (err) {
    if (err instanceof ManifestError) {
      throw new LayoutError(`Cannot build image: the manifest is invalid:\n${err.message}`);
    }
    throw err;
  }
  const root = sourceRoot(manifestPath);
  const rootfs: LayoutFile[] = [];
  const esp: LayoutFile[] = [];
  for (const [i, f] of m.image.rootfs.entries()) {
    rootfs.push({
      dest: f.dest.replace(/^\/+/, ""),
      data: await readSource(root, f.src, `image.rootfs[${i}].src`, manifestPath),
    });
  }
  for (const [i, f] of m.image.esp.entries()) {
    esp.push({
      dest: f.dest.replace(/^\/+/, ""),
      data: await readSource(root, f.src, `image.esp[${i}].src`, manifestPath),
    });
  }
  if (m.image.include_manifest) {
    const enc = new TextEncoder();
    rootfs.push({ dest: MANIFEST_JSON, data: enc.encode(m.resolvedJson) });
    rootfs.push({ dest: MANIFEST_SHA256, data: enc.encode(`${m.fingerprint}  manifest.json\n`) });
  }
  return {
    manifestFile: manifestPath.split("/").pop()!,
    fingerprint: m.fingerprint,
    limitBytes: m.image.max_bytes,
    limitFrom: "manifest",
    rootfs,
    esp,
  };
}
