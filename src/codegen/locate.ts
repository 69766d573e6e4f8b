/**
 * Finds the source line of every key in a TOML document, so validation errors (which only know the
 * key path) can name a line. smol-toml returns plain values without positions, so this is a small
 * line scanner over the same text: table headers, array-of-table headers, `key = value` lines, and the
 * elements of arrays that span several lines. Lookups fall back to the nearest enclosing key.
 */

/** Maps a path like `tickets.1.public_key` (array indices as numbers) to its 1-based line. */
export class KeyLines {
  readonly #lines = new Map<string, number>();

  set(path: readonly (string | number)[], line: number): void {
    const k = path.join("\u0000");
    if (!this.#lines.has(k)) this.#lines.set(k, line);
  }

  /** Line of the path, else of its longest known prefix, else 1. */
  lineOf(path: readonly PropertyKey[]): number {
    for (let n = path.length; n > 0; n--) {
      const line = this.#lines.get(path.slice(0, n).map(String).join("\u0000"));
      if (line !== undefined) return line;
    }
    return 1;
  }
}

/** Splits `a."b.c".d` into `["a", "b.c", "d"]`. */
function splitKey(raw: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let quote = "";
  for (const ch of raw) {
    if (quote) {
      if (ch === quote) quote = "";
      else cur += ch;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === ".") {
      parts.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  parts.push(cur.trim());
  return parts;
}

/** Index of the first `=` outside quotes, or -1. */
function assignAt(line: string): number {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = "";
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "=") return i;
    else if (ch === "#") return -1;
  }
  return -1;
}

/** Scans one value's brackets; records where each top-level element of an array starts. */
class ValueScanner {
  depth = 0;
  quote = "";
  element = -1;
  expectElement = false;

  /** Feeds one line; returns the indices of array elements that start on it. */
  feed(text: string): number[] {
    const started: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (this.quote) {
        if (ch === "\\" && this.quote === '"') i++;
        else if (ch === this.quote) this.quote = "";
        continue;
      }
      if (ch === "#") break;
      if (this.depth === 1 && this.expectElement && ch !== " " && ch !== "\t" && ch !== "," && ch !== "]") {
        this.element++;
        started.push(this.element);
        this.expectElement = false;
      }
      if (ch === '"' || ch === "'") this.quote = ch;
      else if (ch === "[" || ch === "{") {
        this.depth++;
        if (this.depth === 1 && ch === "[") this.expectElement = true;
      } else if (ch === "]" || ch === "}") this.depth--;
      else if (ch === "," && this.depth === 1) this.expectElement = true;
    }
    return started;
  }
}

/** Builds the key → line index of a TOML document. Never throws; odd lines are skipped. */
export function indexKeyLines(source: string): KeyLines {
  const index = new KeyLines();
  const arrayCounts = new Map<string, number>();
  let table: (string | number)[] = [];
  let open: { key: (string | number)[]; scanner: ValueScanner } | undefined;
  const lines = source.split("\n");

  // Header parts become a path; a prefix that names an array of tables points at its latest element.
  const resolveHeader = (parts: string[]): (string | number)[] => {
    const path: (string | number)[] = [];
    for (const part of parts) {
      path.push(part);
      const count = arrayCounts.get(path.join("\u0000"));
      if (count !== undefined) path.push(count - 1);
    }
    return path;
  };

  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const line = lines[n];
    if (open) {
      for (const el of open.scanner.feed(line)) index.set([...open.key, el], lineNo);
      if (open.scanner.depth <= 0) open = undefined;
      continue;
    }
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const arrayHeader = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(trimmed);
    if (arrayHeader) {
      const parts = splitKey(arrayHeader[1]);
      const parent = resolveHeader(parts.slice(0, -1));
      const key = [...parent, parts[parts.length - 1]].join("\u0000");
      const count = (arrayCounts.get(key) ?? 0) + 1;
      arrayCounts.set(key, count);
      table = [...parent, parts[parts.length - 1], count - 1];
      index.set(table.slice(0, -1), lineNo);
      index.set(table, lineNo);
      continue;
    }
    const header = /^\[\s*([^\]]+?)\s*\]/.exec(trimmed);
    if (header) {
      table = resolveHeader(splitKey(header[1]));
      index.set(table, lineNo);
      continue;
    }
    const eq = assignAt(line);
    if (eq < 0) continue;
    const key = [...table, ...splitKey(line.slice(0, eq))];
    index.set(key, lineNo);
    const scanner = new ValueScanner();
    for (const el of scanner.feed(line.slice(eq + 1))) index.set([...key, el], lineNo);
    if (scanner.depth > 0) open = { key, scanner };
  }
  return index;
}
