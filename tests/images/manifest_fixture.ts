/** A manifest for image tests: the repository's configs/root_task.toml with its [image] table replaced. */
import { join } from "node:path";
import { REPO } from "./support.ts";

/**
 * Writes `<dir>/configs/root_task.toml` (and a deno.json marking `dir` as the source root) whose
 * [image] table is `imageToml`. Returns the manifest path.
 */
export async function writeManifest(dir: string, imageToml: string): Promise<string> {
  const text = await Deno.readTextFile(join(REPO, "configs/root_task.toml"));
  const start = text.search(/^\[image\]\s*$/m);
  if (start < 0) throw new Error("configs/root_task.toml has no [image] table");
  const rest = text.slice(start + "[image]".length);
  const next = rest.search(/^\[/m);
  const replaced = text.slice(0, start) + `[image]\n${imageToml.trim()}\n` +
    (next < 0 ? "" : "\n" + rest.slice(next));
  await Deno.mkdir(join(dir, "configs"), { recursive: true });
  await Deno.writeTextFile(join(dir, "deno.json"), "{}\n");
  const path = join(dir, "configs/root_task.toml");
  await Deno.writeTextFile(path, replaced);
  return path;
}
