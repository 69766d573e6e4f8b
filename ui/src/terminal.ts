/// <reference lib="dom" />
/**
 * The terminal: xterm.js with a `coh> ` prompt, local line editing (Backspace, ←/→ are not
 * needed for cohsh's one-line commands; ↑/↓ walk the history) and Ctrl-C, which stops a running
 * `tail -f` through the bridge or clears the line. Lines go to the bridge whole, which runs them
 * through cohsh's shell; what comes back is written line by line, so the terminal's text is the
 * same transcript `cohesix cohsh --script` prints.
 */
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";

export const PROMPT = "coh> ";

/** Shows control characters visibly, so a hive line cannot move the cursor or change colours. */
function visible(line: string): string {
  let out = "";
  for (const ch of line) {
    const c = ch.codePointAt(0)!;
    out += c < 32 || c === 127 ? `^${String.fromCharCode(c === 127 ? 63 : c + 64)}` : ch;
  }
  return out;
}

export class CohTerminal {
  readonly term: Terminal;
  private fit = new FitAddon();
  private input = "";
  private busy = true;
  private history: string[] = [];
  private back = 0;
  /** Set when input is allowed (after login, in live mode). */
  enabled = false;

  constructor(
    el: HTMLElement,
    private send: (line: string) => void,
    private cancel: () => void,
    private askCompletion: (line: string) => void = () => {},
  ) {
    this.term = new Terminal({
      convertEol: false,
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
      fontSize: 13,
      scrollback: 5000,
      theme: { background: "#0f1216", foreground: "#d7dde5" },
    });
    this.term.loadAddon(this.fit);
    this.term.open(el);
    this.refit();
    new ResizeObserver(() => this.refit()).observe(el);
    this.term.onData((d) => this.onData(d));
  }

  /** True while a command runs (input waits for the prompt). */
  get running(): boolean {
    return this.busy;
  }

  refit(): void {
    try {
      this.fit.fit();
    } catch { /* not laid out yet */ }
  }

  focus(): void {
    this.term.focus();
  }

  /** One line from the hive (or the bridge). */
  writeLine(line: string): void {
    this.term.write(visible(line) + "\r\n");
  }

  /** The bridge finished a command: show the prompt and take input again. */
  ready(): void {
    this.busy = false;
    this.input = "";
    this.term.write(PROMPT);
  }

  /** Clears the screen and the scrollback (replay redraws it for each scrub position). */
  reset(): void {
    this.term.reset();
    this.input = "";
  }

  private onData(data: string): void {
    if (!this.enabled) return;
    if (data === "\x03") {
      if (this.busy) this.cancel();
      else {
        this.term.write("^C\r\n" + PROMPT);
        this.input = "";
      }
      return;
    }
    if (this.busy) return;
    if (data === "\x1b[A" || data === "\x1b[B") {
      if (this.history.length === 0) return;
      this.back = data === "\x1b[A"
        ? Math.min(this.history.length, this.back + 1)
        : Math.max(0, this.back - 1);
      const line = this.back === 0 ? "" : this.history[this.history.length - this.back];
      this.term.write("\b \b".repeat(this.input.length) + line);
      this.input = line;
      return;
    }
    if (data.startsWith("\x1b")) return; // other keys: no in-line cursor movement
    if (data === "\t") {
      this.askCompletion(this.input);
      return;
    }
    for (const ch of data) {
      if (ch === "\r" || ch === "\n") {
        this.term.write("\r\n");
        const line = this.input;
        this.input = "";
        this.back = 0;
        if (line.trim() === "") {
          this.term.write(PROMPT);
          continue;
        }
        if (this.history[this.history.length - 1] !== line) this.history.push(line);
        this.busy = true;
        this.send(line);
        return; // the rest of a paste waits for the prompt
      }
      if (ch === "\x7f" || ch === "\b") {
        if (this.input.length > 0) {
          this.input = this.input.slice(0, -1);
          this.term.write("\b \b");
        }
        continue;
      }
      if (ch < " ") continue;
      this.input += ch;
      this.term.write(ch);
    }
  }

  /**
   * The bridge's completions for `line` (ignored when the input moved on): one option completes the
   * word, several complete their common prefix and are listed under the prompt, as readline does.
   */
  completions(line: string, token: string, options: string[]): void {
    if (this.busy || line !== this.input || options.length === 0) return;
    let common = options[0];
    for (const o of options) while (!o.startsWith(common)) common = common.slice(0, -1);
    if (common.length > token.length) {
      const more = common.slice(token.length);
      this.input += more;
      this.term.write(more);
      return;
    }
    if (options.length > 1) this.term.write("\r\n" + options.join("  ") + "\r\n" + PROMPT + this.input);
  }

  /** The terminal's text, one string per logical line (wrapped rows joined), trailing blanks dropped. */
  text(): string[] {
    const buf = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) {
      const row = buf.getLine(i)!;
      // A row that continues on the next one is full width: keep its trailing spaces.
      const s = row.translateToString(!buf.getLine(i + 1)?.isWrapped);
      if (row.isWrapped && lines.length > 0) lines[lines.length - 1] += s;
      else lines.push(s);
    }
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
  }
}
