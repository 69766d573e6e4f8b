/**
 * Orchestration: compile every `configs/*.toml`, plan the repo-layout files (including spliced docs),
 * write them (only when changed, each via a temporary file and rename), and check for drift by
 * regenerating into a temporary directory and comparing with the tree.
 * Nothing is written unless every manifest compiles and every splice succeeds.
 */
import { type Artifact, buildArtifacts, type Compiled, flatArtifacts, GENERATED_DIRS, repoArtifacts, snippetName, stemOf } from "./artifacts.ts";
import { lineDiff } from "./diff.ts";
import { SCHEMA_SNIPPET, schemaSnippet } from "./emit/schema_doc.ts";
import { snippet, SNIPPET_KINDS } from "./emit/snippets.ts";
import { type Diagnostic, ManifestError } from "./errors.ts";
import { loadManifest } from "./load.ts";
import { hasMarkers, splice } from "./splice.ts";

function join(root: string, rel: string): string {
  if (root === "" || rel.startsWith("/")) return rel;
  return root.endsWith("/") ? root + rel : `${root}/${rel}`;
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function listFiles(dir: string, rel: string, out: string[]): Promise<void> {
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(join(dir, rel))) entries.push(e);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = `${rel}/${e.name}`;
    if (e.isDirectory) await listFiles(dir, path, out);
    else out.push(path);
  }
}

/** Paths (relative to root) of the manifests the repo layout compiles: `configs/*.toml`, sorted. */
export async function repoManifests(root: string): Promise<string[]> {
  const found: string[] = [];
  const refuse = (message: string) => new ManifestError([{ file: join(root, "configs"), line: 0, key: "", message }]);
  try {
    for await (const e of Deno.readDir(join(root, "configs"))) {
      if (e.isFile && e.name.endsWith(".toml")) found.push(`configs/${e.name}`);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw refuse("no such directory; run 'cohesix rtc' from the repository root or pass --root DIR");
    }
    throw err;
  }
  if (found.length === 0) throw refuse("holds no *.toml manifest; add configs/root_task.toml (see docs/snippets/manifest_schema.md)");
  return found.sort();
}

/** Compiles manifests (paths relative to root); all diagnostics of all manifests are thrown together. */
export async function compileAll(root: string, sources: string[]): Promise<Compiled[]> {
  const out: Compiled[] = [];
  const problems: Diagnostic[] = [];
  for (const source of sources) {
    try {
      const manifest = await loadManifest(join(root, source));
      out.push({ manifest, source, stem: stemOf(source) });
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      problems.push(...err.diagnostics.map((d) => ({ ...d, file: source })));
    }
  }
  if (problems.length > 0) throw new ManifestError(problems);
  return out;
}

/** Markdown files outside docs/snippets that carry coh-rtc markers, with their spliced content. */
async function splicedDocs(root: string, compiled: Compiled[]): Promise<Artifact[]> {
  const snippets = new Map<string, string>([[SCHEMA_SNIPPET, schemaSnippet()]]);
  for (const c of compiled) {
    for (const kind of SNIPPET_KINDS) snippets.set(snippetName(c.stem, kind), snippet(kind, c.manifest, c.source));
  }
  const candidates = ["README.md"];
  const docs: string[] = [];
  await listFiles(root, "docs", docs);
  candidates.push(...docs.filter((p) => p.endsWith(".md") && !p.startsWith("docs/snippets/")));
  const out: Artifact[] = [];
  for (const path of candidates) {
    const text = await readOrUndefined(join(root, path));
    if (text === undefined || !hasMarkers(text)) continue;
    out.push({ path, content: splice(text, path, snippets) });
  }
  return out;
}

/** Every file the repo layout consists of (committed files first, then out/manifests copies). */
export async function planRepo(root: string): Promise<{ compiled: Compiled[]; committed: Artifact[]; build: Artifact[] }> {
  const compiled = await compileAll(root, await repoManifests(root));
  const committed = [
    ...compiled.flatMap(repoArtifacts),
    { path: `docs/snippets/${SCHEMA_SNIPPET}.md`, content: schemaSnippet() },
    ...await splicedDocs(root, compiled),
  ];
  return { compiled, committed, build: compiled.flatMap(buildArtifacts) };
}

/** Plans the flat layout of one manifest. `source` is how it is named in headers. */
export async function planFlat(path: string, source: string): Promise<{ compiled: Compiled; files: Artifact[] }> {
  const [compiled] = await compileAll("", [path]);
  const named = { ...compiled, source };
  return { compiled: named, files: flatArtifacts(named) };
}

export type WriteStatus = "written" | "unchanged";

/** Writes artifacts under `dir`, skipping files whose content is already right. */
export async function writeArtifacts(dir: string, files: Artifact[]): Promise<{ path: string; status: WriteStatus }[]> {
  const result: { path: string; status: WriteStatus }[] = [];
  for (const f of files) {
    const target = join(dir, f.path);
    if ((await readOrUndefined(target)) === f.content) {
      result.push({ path: f.path, status: "unchanged" });
      continue;
    }
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")) || "/", { recursive: true });
    const tmp = `${target}.rtc-tmp`;
    await Deno.writeTextFile(tmp, f.content);
    await Deno.rename(tmp, target);
    result.push({ path: f.path, status: "written" });
  }
  return result;
}

export interface Drift {
  path: string;
  kind: "changed" | "missing" | "stale";
  /** Unified-style diff (committed → generated) for changed files; "" otherwise. */
  diff: string;
}

/**
 * Regenerates the repo layout into a temporary directory and compares it with the tree at `root`.
 * Returns one entry per drifted file (none when the tree is up to date).
 */
export async function checkRepo(root: string): Promise<Drift[]> {
  const { committed } = await planRepo(root);
  const tmp = await Deno.makeTempDir({ prefix: "cohesix-rtc-check-" });
  try {
    await writeArtifacts(tmp, committed);
    const drift: Drift[] = [];
    const expected = new Set(committed.map((f) => f.path));
    for (const f of committed) {
      const generated = await Deno.readTextFile(join(tmp, f.path));
      const current = await readOrUndefined(join(root, f.path));
      if (current === undefined) drift.push({ path: f.path, kind: "missing", diff: "" });
      else if (current !== generated) drift.push({ path: f.path, kind: "changed", diff: lineDiff(current, generated) });
    }
    for (const dir of GENERATED_DIRS) {
      const present: string[] = [];
      await listFiles(root, dir, present);
      for (const path of present) if (!expected.has(path)) drift.push({ path, kind: "stale", diff: "" });
    }
    return drift.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
