/**
 * Images for the operator-tool tests: the seL4 hello root task linked by `cohesix image --uefi`
 * with a manifest whose [image] table adds one ESP file, built once per test file.
 */
import { join } from "node:path";
import { writeManifest } from "../images/manifest_fixture.ts";
import { cohesixImage, helloRootTask } from "../images/support.ts";

/** The [image] table of the fixture manifest; `extraToml` goes before it (other tables' keys). */
export const IMAGE_TOML = `max_bytes = 4194304
include_manifest = true
rootfs = [{ src = "files/motd", dest = "/etc/motd" }]
esp = [{ src = "files/notes.txt", dest = "/cohesix/notes.txt" }]`;

export const NOTES = "operator notes: this text is one ESP file of the attest fixture\n";

/**
 * Builds an image into `<dir>/<name>` from a manifest in `<dir>/src-<name>`; `edit` may change
 * the manifest text (e.g. one key). Returns the image directory and the manifest path.
 */
export async function buildImage(
  dir: string,
  name: string,
  edit: (toml: string) => string = (t) => t,
): Promise<{ out: string; manifest: string }> {
  const src = join(dir, `src-${name}`);
  const manifest = await writeManifest(src, IMAGE_TOML);
  await Deno.writeTextFile(manifest, edit(await Deno.readTextFile(manifest)));
  await Deno.mkdir(join(src, "files"), { recursive: true });
  await Deno.writeTextFile(join(src, "files/motd"), "welcome to the fixture hive\n");
  await Deno.writeTextFile(join(src, "files/notes.txt"), NOTES);
  const out = join(dir, name);
  const r = await cohesixImage(await helloRootTask(), out, ["--manifest", manifest, "--uefi"]);
  if (r.code !== 0) throw new Error(`cohesix image failed: ${r.stderr}`);
  return { out, manifest };
}

/** Copies an image directory (flat: cohesix image writes no subdirectories). */
export async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) await Deno.copyFile(join(from, e.name), join(to, e.name));
}

/** Flips every bit of one byte of a file. */
export async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  if (offset < 0 || offset >= bytes.length) {
    throw new Error(`offset ${offset} outside ${path} (${bytes.length} bytes)`);
  }
  bytes[offset] ^= 0xff;
  await Deno.writeFile(path, bytes);
}

/** Offset of `needle` inside `hay` (-1 when absent). */
export function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
