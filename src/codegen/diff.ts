/**
 * A small line diff for drift reports: longest common subsequence over lines, printed as hunks with
 * three lines of context (`-` committed, `+` generated). Generated files are small, so O(n·m) is fine;
 * past 4,000,000 cells it falls back to reporting the first differing line.
 */

type Op = { kind: " " | "-" | "+"; text: string; a: number; b: number };

function ops(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) out.push({ kind: " ", text: a[i++], a: i, b: ++j });
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) out.push({ kind: "-", text: a[i++], a: i, b: j });
    else out.push({ kind: "+", text: b[j++], a: i, b: j });
  }
  return out;
}

/** Unified-style diff of two texts, or "" when equal. */
export function lineDiff(committed: string, generated: string, context = 3): string {
  if (committed === generated) return "";
  const a = committed.split("\n");
  const b = generated.split("\n");
  if ((a.length + 1) * (b.length + 1) > 4_000_000) {
    let k = 0;
    while (k < a.length && k < b.length && a[k] === b[k]) k++;
    return `@@ first difference at line ${k + 1} @@\n-${a[k] ?? ""}\n+${b[k] ?? ""}\n`;
  }
  const all = ops(a, b);
  const keep = new Array<boolean>(all.length).fill(false);
  all.forEach((op, k) => {
    if (op.kind === " ") return;
    for (let c = Math.max(0, k - context); c <= Math.min(all.length - 1, k + context); c++) keep[c] = true;
  });
  let text = "";
  for (let k = 0; k < all.length; k++) {
    if (!keep[k]) continue;
    if (k === 0 || !keep[k - 1]) {
      text += `@@ committed line ${Math.max(all[k].a, 1)}, generated line ${Math.max(all[k].b, 1)} @@\n`;
    }
    text += `${all[k].kind}${all[k].text}\n`;
  }
  return text;
}
