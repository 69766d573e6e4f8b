/**
 * `cohesix rtc`: compile manifests into the committed generated files, into a directory, or check
 * that the committed files match what the manifests generate (CI).
 */
import { relative, resolve } from "node:path";
import { type Subcommand, parseFlags, UsageError } from "../cli/command.ts";
import {
  checkRepo,
  type Drift,
  ManifestError,
  planFlat,
  planRepo,
  PRIMARY_MANIFEST,
  SpliceError,
  writeArtifacts,
} from "../../codegen/mod.ts";

const HELP = `cohesix rtc: compile a Cohesix manifest (configs/*.toml, schema 1.0) into the hive's generated files

Usage:
  cohesix rtc [--root DIR] [--json]                 regenerate every committed output from configs/*.toml
  cohesix rtc MANIFEST [--out DIR] [--json]         compile one manifest into DIR (default out/rtc/<name>)
  cohesix rtc --check [--root DIR] [--json]         fail (exit 1) with a diff when committed outputs drifted

Outputs (repo mode): configs/generated/<name>_resolved.json and .sha256 (the fingerprint), docs/snippets/<name>_*.md
and docs/snippets/manifest_schema.md (every key, its bounds and default),
spliced into Markdown between <!-- coh-rtc:<name>:start --> / <!-- coh-rtc:<name>:end --> markers, and from
${PRIMARY_MANIFEST}: src/guest/generated/bootstrap.ts and configs/generated/boot_v0.coh; copies go to out/manifests/.

Flags:
  --out DIR    Write one manifest's outputs (resolved JSON, .sha256, bootstrap.ts, boot_v0.coh, snippets/) to DIR
  --check      Regenerate into a temporary directory and compare; writes nothing
  --root DIR   Repository root holding configs/ (default: the current directory)
  --json       Print one JSON document ("version": 1) instead of text
  -h, --help   Show this help

Exit codes: 0 ok, 1 manifest refused or drift found, 2 bad usage.

Examples:
  cohesix rtc                                        # after editing configs/root_task.toml; commit the result
  cohesix rtc configs/gpu_queen.toml --out out/gpu   # inspect what a profile would generate
  cohesix rtc --check                                # what CI runs (deno task rtc:check)
  cohesix rtc --check --json | jq '.drift[].path'
`;

function printJson(doc: Record<string, unknown>): void {
  console.log(JSON.stringify({ version: 1, ...doc }, null, 2));
}

function reportRefusal(err: ManifestError | SpliceError, json: boolean): number {
  if (json) {
    const errors = err instanceof ManifestError
      ? err.diagnostics
      : [{ file: err.file, line: err.line, key: "", message: err.message.slice(err.message.indexOf(": ") + 2) }];
    printJson({ ok: false, errors });
  } else {
    for (const line of err.message.split("\n")) console.error(`cohesix rtc: ${line}`);
    console.error("cohesix rtc: nothing was written; fix the lines above and run 'cohesix rtc' again");
  }
  return 1;
}

function reportDrift(drift: Drift[], json: boolean): number {
  if (json) {
    printJson({ ok: drift.length === 0, drift: drift.map(({ path, kind, diff }) => ({ path, kind, diff })) });
    return drift.length === 0 ? 0 : 1;
  }
  if (drift.length === 0) {
    console.log("cohesix rtc: generated files are up to date");
    return 0;
  }
  for (const d of drift) {
    if (d.kind === "missing") console.error(`missing: ${d.path} (the manifests generate it, but it is not in the tree)`);
    else if (d.kind === "stale") console.error(`stale: ${d.path} (no manifest generates it; delete it)`);
    else console.error(`changed: ${d.path}\n--- committed\n+++ generated\n${d.diff}`);
  }
  console.error(
    `cohesix rtc: ${drift.length} generated file(s) drifted from configs/*.toml; run 'cohesix rtc' and commit the result` +
      " (edit the manifest, not the generated files)",
  );
  return 1;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags("rtc", argv, {
    out: { type: "string" },
    check: { type: "boolean" },
    root: { type: "string" },
    json: { type: "boolean" },
  }, true);
  if (positionals.length > 1) {
    throw new UsageError(`rtc: expected at most one MANIFEST, got ${positionals.length}`, "run 'cohesix rtc --help' for usage");
  }
  if (values.check && (positionals.length > 0 || values.out !== undefined)) {
    throw new UsageError("rtc: --check takes no MANIFEST or --out", "it always checks configs/*.toml under --root");
  }
  const json = values.json === true;
  const root = resolve(values.root ?? ".");
  try {
    if (values.check) return reportDrift(await checkRepo(root), json);
    if (positionals.length === 0 && values.out === undefined) {
      const plan = await planRepo(root);
      const written = await writeArtifacts(root, [...plan.committed, ...plan.build]);
      const fingerprints = plan.compiled.map((c) => ({ manifest: c.source, fingerprint: c.manifest.fingerprint }));
      if (json) printJson({ ok: true, manifests: fingerprints, files: written });
      else {
        for (const w of written) if (w.status === "written") console.log(`wrote ${w.path}`);
        for (const f of fingerprints) console.log(`${f.manifest}: sha256 ${f.fingerprint}`);
        const changed = written.filter((w) => w.status === "written").length;
        console.log(`cohesix rtc: ${written.length} files, ${changed} written, ${written.length - changed} unchanged`);
      }
      return 0;
    }
    const manifest = positionals[0] ?? PRIMARY_MANIFEST;
    const path = positionals[0] === undefined ? resolve(root, manifest) : resolve(manifest);
    const inRoot = relative(root, path);
    const source = inRoot.startsWith("..") ? manifest : inRoot;
    const { compiled, files } = await planFlat(path, source);
    const out = values.out !== undefined ? resolve(values.out) : resolve(root, "out/rtc", compiled.stem);
    const existing = await Deno.stat(out).catch(() => undefined);
    if (existing && !existing.isDirectory) {
      throw new UsageError(`rtc: --out ${values.out ?? out} is not a directory`, "pass a directory; it is created when missing");
    }
    const written = await writeArtifacts(out, files);
    if (json) {
      printJson({ ok: true, manifests: [{ manifest: source, fingerprint: compiled.manifest.fingerprint }], out, files: written });
    } else {
      for (const w of written) console.log(`${w.status === "written" ? "wrote" : "unchanged"} ${out}/${w.path}`);
      console.log(`${source}: sha256 ${compiled.manifest.fingerprint}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof ManifestError || err instanceof SpliceError) return reportRefusal(err, json);
    throw err;
  }
}

export const rtcCommand: Subcommand = {
  name: "rtc",
  summary: "compile configs/*.toml manifests into boot tables, resolved JSON, scripts and docs",
  help: HELP,
  run,
};
