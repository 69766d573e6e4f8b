/**
 * Reads the replay transcript (`src/guest/replay/transcript.ts`): extracts the part between the
 * begin/end lines from a run's output and renders it as readable text for failure messages.
 */
export const BEGIN = "=== replay begin";
export const END = "=== replay end";

/** The transcript lines between BEGIN and END (inclusive), or null when either is missing. */
export function extractTranscript(output: string): string | null {
  const text = output.replaceAll("\r\n", "\n");
  const b = text.indexOf(BEGIN + "\n");
  if (b < 0) return null;
  const e = text.indexOf(END + "\n", b);
  if (e < 0) return null;
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
