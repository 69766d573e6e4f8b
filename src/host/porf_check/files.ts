/** The files the Porffor check covers: guest code (src/guest, src/secure9p without its host/ part). */
import { join, relative } from "node:path";
import { REPO_ROOT } from "../guest_build/tools.ts";
import { checkSource, type Finding } from "./rules.ts";

export const GUEST_ROOTS = ["src/guest", "src/secure9p"];
const EXCLUDED = ["src/secure9p/host"];

function walk(dir: string, out: string[]) {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    const rel = relative(REPO_ROOT, p);
    if (EXCLUDED.some((x) => rel === x || rel.startsWith(x + "/"))) continue;
    if (e.isDirectory) walk(p, out);
    else if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
}

/** Guest source files under the given roots (repository-relative), sorted for a stable report. */
export function guestFiles(roots: string[] = GUEST_ROOTS): string[] {
  const out: string[] = [];
  for (const r of roots) walk(join(REPO_ROOT, r), out);
  return out.sort();
}

/** Checks every file; findings name repository-relative paths. */
export function checkFiles(files: string[]): Finding[] {
  const findings: Finding[] = [];
  for (const f of files) findings.push(...checkSource(Deno.readTextFileSync(f), relative(REPO_ROOT, f)));
  return findings;
}
