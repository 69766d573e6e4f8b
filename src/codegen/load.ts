/**
 * Manifest loading: TOML text → (smol-toml) plain values → (zod) typed IR → red lines → resolved
 * manifest with its fingerprint. Every failure becomes a `ManifestError` naming file, line and key.
 */
import { parse, TomlError } from "smol-toml";
import { type Budget, computeBudget } from "./budget.ts";
import { canonicalJson, sha256Hex } from "./canonical.ts";
import { type Diagnostic, keyOf, ManifestError } from "./errors.ts";
import { issueMessages, valueAt } from "./issues.ts";
import { indexKeyLines } from "./locate.ts";
import { redLines } from "./redlines.ts";
import { type ManifestIR, ManifestSchema, SCHEMA_VERSION } from "./schema.ts";

/** A validated manifest with every default filled in, its memory budget and its fingerprint. */
export type ResolvedManifest = ManifestIR & {
  /** Boot-time memory footprint (bytes) computed from the manifest; `total <= limit`. */
  budget: Budget;
  /** The resolved JSON document (canonical: sorted keys, LF, trailing newline). */
  resolvedJson: string;
  /** SHA-256 (lowercase hex) of `resolvedJson`: the manifest fingerprint shown in `/proc/boot`. */
  fingerprint: string;
};

/** Version of the resolved JSON layout, bumped when its shape changes. */
export const RESOLVED_FORMAT = 1;

function tomlDiagnostic(file: string, err: TomlError): Diagnostic {
  const first = err.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
  return { file, line: err.line, key: "", message: `TOML syntax error at column ${err.column}: ${first}` };
}

/**
 * Compiles manifest text. `file` is only used in messages. Throws `ManifestError` on any problem;
 * the result does not depend on `file` (the fingerprint covers the content only).
 */
export function compileManifestText(text: string, file: string): ResolvedManifest {
  let raw: Record<string, unknown>;
  try {
    raw = parse(text.replace(/\r\n/g, "\n"), { unsafeKeyBehaviour: "throw" }) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) throw new ManifestError([tomlDiagnostic(file, err)]);
    throw err;
  }
  const lines = indexKeyLines(text.replace(/\r\n/g, "\n"));
  const diag = (path: readonly PropertyKey[], message: string): Diagnostic => ({
    file,
    line: lines.lineOf(path),
    key: keyOf(path),
    message,
  });

  const schema = valueAt(raw, ["root_task", "schema"]);
  if (typeof schema === "string" && schema !== SCHEMA_VERSION) {
    throw new ManifestError([diag(
      ["root_task", "schema"],
      `unsupported root_task.schema ${schema} (expected ${SCHEMA_VERSION}); this compiler reads schema ` +
        `${SCHEMA_VERSION} only: upgrade the manifest to ${SCHEMA_VERSION} (compare with configs/root_task.toml) ` +
        `or use the cohesix release that wrote it`,
    )]);
  }

  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const diagnostics: Diagnostic[] = [];
    for (const issue of parsed.error.issues) {
      for (const m of issueMessages(issue, raw, ManifestSchema)) diagnostics.push(diag(m.path, m.message));
    }
    throw new ManifestError(diagnostics);
  }
  const ir = parsed.data;
  const violations = redLines(ir);
  if (violations.length > 0) throw new ManifestError(violations.map((v) => diag(v.path, v.message)));

  const budget = computeBudget(ir);
  const resolvedJson = canonicalJson({ format: RESOLVED_FORMAT, manifest: ir, budget });
  return { ...ir, budget, resolvedJson, fingerprint: sha256Hex(resolvedJson) };
}

/**
 * Reads and compiles a manifest file. Throws `ManifestError` for a missing file or an invalid manifest.
 * @example
 * const m = await loadManifest("configs/root_task.toml");
 * m.image.max_bytes; // 4194304
 * m.fingerprint;     // 64 hex characters
 */
export async function loadManifest(path: string): Promise<ResolvedManifest> {
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Deno.errors.NotFound();
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ManifestError([{
        file: path,
        line: 0,
        key: "",
        message: "manifest path does not exist or is not a file; pass a configs/*.toml manifest",
      }]);
    }
    throw err;
  }
  return compileManifestText(text, path);
}
