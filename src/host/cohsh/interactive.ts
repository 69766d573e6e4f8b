/**
 * Interactive cohsh: a `coh> ` prompt with line editing, history and tab completion of verbs
 * (node:readline), one command at a time against the console.
 */
import * as readline from "node:readline";
import process from "node:process";
import { VERB_TOKENS } from "../../guest/console/grammar.ts";
import { type CohshTarget, openSession } from "./connect.ts";
import type { CohshSession } from "./shell.ts";
import { formatReport, parseTestArgs, runSelftest } from "./selftest.ts";
import { TransportError } from "./transport.ts";

export const PROMPT = "coh> ";

/** Completes the first word against the verb table. */
export function completeVerb(line: string): [string[], string] {
  if (/\s/.test(line.trimStart())) return [[], line];
  const word = line.trimStart().toLowerCase();
  const hits = VERB_TOKENS.filter((v) => v !== "" && v.startsWith(word));
  return [hits.map((h) => h + " "), line.trimStart()];
}

export async function interactive(target: CohshTarget, preamble: string[]): Promise<number> {
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
  console.log("Welcome to Cohesix. Type 'help' for commands.");
  if (preamble.length === 0) console.log("detached shell: run 'attach <role>' to connect");
  let code = 0;
  try {
    for (const p of preamble) {
      const r = await shell.execute(p);
      for (const l of r?.lines ?? []) console.log(l);
    }
  } catch (e) {
    shell.close();
    if (!(e instanceof TransportError)) throw e;
    console.error(`cohsh: ${e.message}`);
    return 1;
  }
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: PROMPT,
    completer: completeVerb,
    historySize: 500,
  });
  const lines = new LineQueue(rl);
  let busy = false;
  const prompt = () => {
    if (!lines.ended) rl.prompt();
  };
  rl.on("SIGINT", () => {
    if (!busy) {
      rl.write("", { ctrl: true, name: "u" });
      process.stdout.write("^C\n");
      prompt();
    }
  });
  try {
    prompt();
    for (;;) {
      const line = await lines.next();
      if (line === null) break;
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
        const r = await shell.execute(line);
        for (const l of r?.lines ?? []) console.log(l);
        if (shell.quitSeen || r?.closed) {
          if (!shell.quitSeen) console.log("cohsh: the hive closed the connection");
          else console.log("closing session");
          break;
        }
      } finally {
        busy = false;
      }
      prompt();
    }
  } catch (e) {
    if (!(e instanceof TransportError)) throw e;
    console.error(`cohsh: ${e.message}`);
    code = 1;
  } finally {
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
