/**
 * Which files a compile produces and where they go. Two layouts:
 * - repo: the committed places (configs/generated, src/guest/generated, docs/snippets), checked for drift;
 * - flat: everything for one manifest in one directory (`cohesix rtc MANIFEST --out DIR`).
 */
import { bootScript } from "./emit/coh_script.ts";
import { bootstrapModule } from "./emit/bootstrap.ts";
import { clientPolicyModule, clientPolicyToml } from "./emit/client_policy.ts";
import { snippet, SNIPPET_KINDS } from "./emit/snippets.ts";
import type { ResolvedManifest } from "./load.ts";

/** One generated file: a path relative to the layout root, and its exact content. */
export interface Artifact {
  path: string;
  content: string;
}

/** The manifest whose tables the guest boots from, and which yields boot_v0.coh. */
export const PRIMARY_MANIFEST = "configs/root_task.toml";

/** Directories whose files are all generated in the repo layout; anything else in them is stale. */
export const GENERATED_DIRS = ["configs/generated", "src/guest/generated", "src/host/generated", "docs/snippets"] as const;

/** A compiled manifest plus the name it is shown under (`configs/root_task.toml`) and its stem. */
export interface Compiled {
  manifest: ResolvedManifest;
  source: string;
  stem: string;
}

export function stemOf(source: string): string {
  return source.slice(source.lastIndexOf("/") + 1).replace(/\.toml$/, "");
}

function sha256File(c: Compiled): string {
  return `${c.manifest.fingerprint}  ${c.stem}_resolved.json\n`;
}

/** Snippet name used in files and in `<!-- coh-rtc:<name>:start -->` markers. */
export function snippetName(stem: string, kind: string): string {
  return `${stem}_${kind}`;
}

function snippets(c: Compiled, dir: string): Artifact[] {
  return SNIPPET_KINDS.map((kind) => ({
    path: `${dir}/${snippetName(c.stem, kind)}.md`,
    content: snippet(kind, c.manifest, c.source),
  }));
}

/** Committed artifacts of one manifest; the primary one also yields the guest tables and boot_v0.coh. */
export function repoArtifacts(c: Compiled): Artifact[] {
  const out: Artifact[] = [
    { path: `configs/generated/${c.stem}_resolved.json`, content: c.manifest.resolvedJson },
    { path: `configs/generated/${c.stem}_resolved.json.sha256`, content: sha256File(c) },
    ...snippets(c, "docs/snippets"),
  ];
  if (c.source === PRIMARY_MANIFEST) {
    out.push(
      { path: "src/guest/generated/bootstrap.ts", content: bootstrapModule(c.manifest, c.source) },
      { path: "configs/generated/boot_v0.coh", content: bootScript(c.manifest, c.source) },
      { path: "configs/generated/cohsh_policy.toml", content: clientPolicyToml(c.manifest, c.source) },
      { path: "src/host/generated/cohsh_policy.ts", content: clientPolicyModule(c.manifest, c.source) },
    );
  }
  return out;
}

/** Build copies under out/manifests (gitignored, not drift-checked). */
export function buildArtifacts(c: Compiled): Artifact[] {
  return [
    { path: `out/manifests/${c.stem}_resolved.json`, content: c.manifest.resolvedJson },
    { path: `out/manifests/${c.stem}_resolved.json.sha256`, content: sha256File(c) },
  ];
}

/** Everything for one manifest in one directory. */
export function flatArtifacts(c: Compiled): Artifact[] {
  return [
    { path: `${c.stem}_resolved.json`, content: c.manifest.resolvedJson },
    { path: `${c.stem}_resolved.json.sha256`, content: sha256File(c) },
    { path: "bootstrap.ts", content: bootstrapModule(c.manifest, c.source) },
    { path: "boot_v0.coh", content: bootScript(c.manifest, c.source) },
    { path: "cohsh_policy.toml", content: clientPolicyToml(c.manifest, c.source) },
    ...snippets(c, "snippets"),
  ];
}
