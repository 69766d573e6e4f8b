/** The files the Porffor check covers: guest code (src/guest, src/secure9p without its host/ part). */
import { join, relative } from "node:path";
import { REPO_ROOT } from "../guest_build/tools.ts";
import { checkSource, exportedConstants, type Finding } from "./rules.ts";

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

/**
 * Exported numeric constants of every guest module. A name exported with different values by two
 * modules is left out (it cannot size an array reliably). Two passes resolve constants built from
 * other modules' constants.
 */
export function guestConstants(files: string[] = guestFiles()): Map<string, number> {
  const sources = files.map((f) => Deno.readTextFileSync(f));
  let known = new Map<string, number>();
  for (let pass = 0; pass < 2; pass++) {
    const next = new Map<string, number>();
    const clash = new Set<string>();
    for (const src of sources) {
      for (const [k, v] of exportedConstants(src, known)) {
        if (next.has(k) && next.get(k) !== v) clash.add(k);
        next.set(k, v);
      }
    }
    for (const k of clash) next.delete(k);
    known = next;
  }
  return known;
}

/** Checks every file; findings name repository-relative paths. */
export function checkFiles(files: string[]): Finding[] {
  const constants = guestConstants();
  const findings: Finding[] = [];
  for (const f of files) findings.push(...checkSource(Deno.readTextFileSync(f), relative(REPO_ROOT, f), constants));
  return findings;
}
