/**
 * Reads the replay transcript (`src/guest/replay/transcript.ts`): extracts the part between the
 * begin/end lines from a run's output and renders it as readable text for failure messages.
 */
export const BEGIN = "=== replay begin";
export const END = "=== replay end";

/**
 * The transcript: every line from the first BEGIN to the last END (inclusive), so several corpora
 * replayed in one run form one transcript; null when either line is missing. Text outside it
 * (kernel boot log, banner, arena report) is not part of the comparison, and `arena: ` lines are
 * dropped wherever they are.
 */
export function extractTranscript(output: string): string | null {
  // The native runtime's arena lines may interleave (seL4 prints them on the same serial line).
  const text = output.replaceAll("\r\n", "\n").replace(/^arena: [^\n]*\n/gm, "");
  const b = text.indexOf(BEGIN + "\n");
  if (b < 0) return null;
  const e = text.lastIndexOf(END + "\n");
  if (e < b) return null;
  return text.slice(b, e + END.length + 1);
}

/** Renders hex-byte lines as escaped text runs (one rendered line per output line); other lines stay. */
export function renderTranscript(transcript: string): string {
  const out: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    let s = "";
    for (const b of run) {
      if (b === 10) {
        out.push(`  | ${s}`);
        s = "";
      } else if (b >= 32 && b < 127 && b !== 92) s += String.fromCharCode(b);
      else s += `\\x${b.toString(16).padStart(2, "0")}`;
    }
    if (s !== "") out.push(`  | ${s}`);
    run = [];
  };
  for (const line of transcript.split("\n")) {
    if (/^[0-9a-f]{2}$/.test(line)) run.push(parseInt(line, 16));
    else {
      flush();
      if (line !== "") out.push(line);
    }
  }
  flush();
  return out.join("\n") + "\n";
}
