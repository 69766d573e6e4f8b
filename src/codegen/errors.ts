/**
 * Manifest diagnostics: every refusal names the file, the line and the key, says what is wrong and
 * what is allowed. A `ManifestError` carries all diagnostics of one compile, sorted by line.
 */

export interface Diagnostic {
  /** The manifest path as the user gave it. */
  file: string;
  /** 1-based line of the offending key (or of its table when the key is missing); 0 when there is no file. */
  line: number;
  /** Dotted key, e.g. `secure9p.msize` or `tickets[1].public_key`; "" for TOML syntax errors. */
  key: string;
  /** What is wrong and what is allowed, one line. */
  message: string;
}

/** Formats one diagnostic as `file:line: message` (`file: message` when there is no line, e.g. a missing file). */
export function formatDiagnostic(d: Diagnostic): string {
  return d.line > 0 ? `${d.file}:${d.line}: ${d.message}` : `${d.file}: ${d.message}`;
}

/** Thrown when a manifest cannot be compiled. Nothing has been written when this is thrown. */
export class ManifestError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const sorted = [...diagnostics].sort((a, b) =>
      a.line - b.line || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0)
    );
    super(sorted.map(formatDiagnostic).join("\n"));
    this.name = "ManifestError";
    this.diagnostics = sorted;
  }
}

/** Joins a zod-style path into the dotted form used in messages: `tickets[1].public_key`. */
export function keyOf(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}
