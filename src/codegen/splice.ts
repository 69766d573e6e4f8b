/**
 * Splices snippets into Markdown between `<!-- coh-rtc:<name>:start -->` and `<!-- coh-rtc:<name>:end -->`.
 * Only the lines between the markers change; an unknown name or an unclosed marker is an error.
 */

const START = /^<!-- coh-rtc:([A-Za-z0-9_-]+):start -->$/;
const END = (name: string) => `<!-- coh-rtc:${name}:end -->`;

/** A refusal while splicing, with the file and 1-based line of the marker. */
export class SpliceError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = "SpliceError";
  }
}

/** True when the text has at least one coh-rtc start marker. */
export function hasMarkers(text: string): boolean {
  return text.split("\n").some((l) => START.test(l.trim()));
}

/** Returns `text` with every marked region replaced by its snippet (snippets end with LF). */
export function splice(text: string, file: string, snippets: ReadonlyMap<string, string>): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = START.exec(lines[i].trim());
    out.push(lines[i]);
    if (!m) continue;
    const name = m[1];
    const body = snippets.get(name);
    if (body === undefined) {
      const known = [...snippets.keys()].sort().join(", ");
      throw new SpliceError(file, i + 1, `unknown coh-rtc snippet '${name}' (known: ${known})`);
    }
    let end = i + 1;
    while (end < lines.length && lines[end].trim() !== END(name)) end++;
    if (end === lines.length) throw new SpliceError(file, i + 1, `coh-rtc:${name}:start has no matching '${END(name)}'`);
    out.push(...body.replace(/\n$/, "").split("\n"), lines[end]);
    i = end;
  }
  return out.join("\n");
}
