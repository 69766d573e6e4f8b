/**
 * Interactive cohsh: a `coh> ` prompt with line editing (node:readline), history persisted per
 * user (~/.cohsh_history, or $COHSH_HISTORY), Tab completion of verbs, roles and namespace paths
 * (asked of the hive with `ls`), and Ctrl-C that stops a running `tail -f` without leaving the
 * shell (at an idle prompt it clears the line; Ctrl-D or `quit` leaves).
 */
import { CLIENT_POLICY } from "../generated/cohsh_policy.ts";
import * as readline from "node:readline";
import process from "node:process";
import { ROLE_NAMES, Verb, VERB_TOKENS, verbOfText } from "../../guest/console/grammar.ts";
import { type CohshTarget, openSession } from "./connect.ts";
import { RecordingSession } from "./record.ts";
import type { CohshSession } from "./shell.ts";
import { formatReport, parseTestArgs, runSelftest } from "./selftest.ts";
import { TransportError } from "./transport.ts";

export const PROMPT = "coh> ";
const HISTORY_SIZE = 500;
/** Idle time after which the prompt sends a heartbeat PING (`[client_policies.heartbeat]`, 15 s by default). */
export const HEARTBEAT_MS = CLIENT_POLICY.heartbeat.interval_ms;

export function historyFile(): string | null {
  const explicit = Deno.env.get("COHSH_HISTORY");
  if (explicit !== undefined) return explicit === "" ? null : explicit;
  const home = Deno.env.get("HOME");
  return home ? `${home}/.cohsh_history` : null;
}

/** History lines, newest first (readline's order). */
export function loadHistory(file: string | null): string[] {
  if (file === null) return [];
  try {
    return Deno.readTextFileSync(file).split("\n").filter((l) => l.trim() !== "").slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

function saveHistory(file: string | null, line: string, last: string | undefined): void {
  if (file === null || line.trim() === "" || line === last) return;
  try {
    Deno.writeTextFileSync(file, line + "\n", { append: true });
  } catch { /* history is a convenience: an unwritable file is not an error */ }
}

const PATH_VERBS: number[] = [Verb.Cat, Verb.Tail, Verb.Ls, Verb.Echo];

/** Completions for the text before the cursor: verbs, roles after attach, paths after path verbs. */
export async function complete(line: string, listDir: (dir: string) => Promise<string[] | null>): Promise<[string[], string]> {
  const trimmed = line.trimStart();
  if (!/\s/.test(trimmed)) {
    const word = trimmed.toLowerCase();
    return [VERB_TOKENS.filter((v) => v !== "" && v.startsWith(word)).map((v) => v + " "), trimmed];
  }
  const verb = verbOfText(trimmed);
  const token = /(\S*)$/.exec(line)![1];
  if (verb === Verb.Attach || verb === Verb.Login) {
    return [ROLE_NAMES.filter((r) => r.startsWith(token)), token];
  }
  if (!PATH_VERBS.includes(verb) || !token.startsWith("/")) return [[], token];
  const cut = token.lastIndexOf("/");
  const dir = cut === 0 ? "/" : token.slice(0, cut);
  const prefix = token.slice(cut + 1);
  const entries = await listDir(dir);
  if (entries === null) return [[], token];
  const base = dir === "/" ? "/" : dir + "/";
  return [entries.filter((e) => e.startsWith(prefix)).map((e) => base + e), token];
}

export async function interactive(target: CohshTarget, preamble: string[]): Promise<number> {
  const heartbeatMs = target.policy?.heartbeat.interval_ms ?? HEARTBEAT_MS;
  let shell: CohshSession;
  try {
    shell = await openSession(target);
  } catch (e) {
    if (e instanceof TransportError) {
      console.error(`cohsh: ${e.message}`);
      return 1;
    }
    throw e;
  }
  // Completion queries go to the hive but not into a --record trace.
  const raw = shell instanceof RecordingSession ? shell.inner : shell;
  console.log("Welcome to Cohesix. Type 'help' for commands.");
  if (preamble.length === 0) console.log("detached shell: run 'attach <role>' to connect");
  try {
    for (const p of preamble) await shell.execute(p, (l) => console.log(l));
  } catch (e) {
    shell.close();
    if (!(e instanceof TransportError)) throw e;
    console.error(`cohsh: ${e.message}`);
    return 1;
  }
  let busy = false;
  const histFile = historyFile();
  const history = loadHistory(histFile);
  const listDir = async (dir: string): Promise<string[] | null> => {
    if (busy) return null;
    busy = true;
    try {
      const r = await raw.execute(`ls ${dir}`);
      if (!r?.ack?.ok) return null;
      const i = r.lines.indexOf(r.ackLine);
      return r.lines.slice(i + 1, r.lines.lastIndexOf("END"));
    } catch {
      return null;
    } finally {
      busy = false;
    }
  };
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: PROMPT,
    history,
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer: (line: string, cb: (err: Error | null, result: [string[], string]) => void) => {
      complete(line, listDir).then((r) => cb(null, r), () => cb(null, [[], line]));
    },
  });
  const lines = new LineQueue(rl);
  const prompt = () => {
    if (!lines.ended) rl.prompt();
  };
  rl.on("SIGINT", () => {
    if (!busy) {
      rl.write("", { ctrl: true, name: "u" });
      process.stdout.write("^C\n");
      prompt();
      return;
    }
    shell.cancel().then((stopped) => {
      if (!stopped) process.stdout.write("^C (the command is still running; it ends on its own)\n");
    }, () => {});
  });
  let idleSince = performance.now();
  const heartbeat = setInterval(() => {
    if (busy || raw.heartbeat === undefined || performance.now() - idleSince < heartbeatMs) return;
    busy = true;
    raw.heartbeat().then((ok) => {
      if (!ok) process.stdout.write("\ncohsh: the hive did not answer the heartbeat; the next command reconnects\n");
    }, () => {}).finally(() => {
      busy = false;
      idleSince = performance.now();
    });
  }, 1000);
  let code = 0;
  let last = history[0];
  try {
    prompt();
    for (;;) {
      const line = await lines.next();
      if (line === null) break;
      saveHistory(histFile, line, last);
      last = line;
      busy = true;
      try {
        const words = line.trim().split(/\s+/);
        if (words[0] === "test") {
          const parsed = parseTestArgs(words.slice(1));
          if (typeof parsed === "string") console.log(`cohsh: ${parsed}`);
          else {
            const report = await runSelftest(() => openSession({ ...target, record: undefined }), parsed.opts);
            if (parsed.json) console.log(JSON.stringify(report));
            else for (const l of formatReport(report)) console.log(l);
          }
          prompt();
          continue;
        }
        const r = await shell.execute(line, (l) => console.log(l));
        if (shell.quitSeen || r?.closed) {
          if (!shell.quitSeen) console.log("cohsh: the hive closed the connection");
          else console.log("closing session");
          break;
        }
      } finally {
        busy = false;
        idleSince = performance.now();
      }
      prompt();
    }
  } catch (e) {
    if (!(e instanceof TransportError)) throw e;
    console.error(`cohsh: ${e.message}`);
    code = 1;
  } finally {
    clearInterval(heartbeat);
    rl.close();
    shell.close();
  }
  return code;
}

/** Lines typed at the prompt, queued so none is lost while a command runs. */
class LineQueue {
  private queue: string[] = [];
  private waiter: ((line: string | null) => void) | null = null;
  ended = false;

  constructor(rl: readline.Interface) {
    rl.on("line", (line: string) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(line);
      } else this.queue.push(line);
    });
    rl.on("close", () => {
      this.ended = true;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(null);
      }
    });
  }

  next(): Promise<string | null> {
    const line = this.queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}
