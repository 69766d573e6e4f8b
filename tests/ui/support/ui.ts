/** Starts `cohesix ui` (the CLI, as a user runs it) and a hosted hive for the browser tests. */
import { HostedHive } from "../../../src/host/dev/runtime.ts";
import type { Page } from "playwright-core";

const COHESIX = new URL("../../../cohesix", import.meta.url).pathname;
export const AUTH = "ui-test-token";

/** Where a test's screenshots and transcripts go: out/test/ui/<test>/ (or $COHESIX_TEST_OUT/ui/<test>/). */
export async function outputDir(test: string): Promise<string> {
  const base = Deno.env.get("COHESIX_TEST_OUT") ?? new URL("../../../out/test", import.meta.url).pathname;
  const dir = `${base}/ui/${test}`;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** A hive on free ports; `fixed` gives the demo's fixed clock (deterministic transcripts). */
export function startHive(fixed = false): HostedHive {
  return HostedHive.start({
    ninepPort: 0,
    consolePort: 0,
    authToken: AUTH,
    ...(fixed ? { clock: () => 0 } : {}),
  });
}

export interface UiProcess {
  url: string;
  origin: string;
  stop(): Promise<void>;
}

/** Runs `cohesix ui ARGS --port 0 --json` and returns the URL from its first stdout line. */
export async function startUi(args: string[]): Promise<UiProcess> {
  const proc = new Deno.Command(COHESIX, {
    args: ["ui", ...args, "--port", "0", "--json"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  const errDone = (async () => {
    for await (const c of proc.stderr.pipeThrough(new TextDecoderStream())) stderr += c;
  })();
  const stop = async () => {
    try {
      proc.kill("SIGTERM");
    } catch { /* exited */ }
    await reader.cancel().catch(() => {});
    await proc.status;
    await errDone;
  };
  let first = "";
  try {
    while (!first.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`cohesix ui exited before printing its URL: ${first}`);
      first += value;
    }
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  const url = JSON.parse(first.slice(0, first.indexOf("\n"))).url as string;
  return { url, origin: new URL(url).origin, stop };
}

/** `cohesix ui` bridged to `hive`. */
export function startUiFor(hive: HostedHive, extra: string[] = []): Promise<UiProcess> {
  return startUi([
    "--hive",
    `127.0.0.1:${hive.ninepPort}`,
    "--console",
    `127.0.0.1:${hive.consolePort}`,
    "--auth-token",
    AUTH,
    "--refresh-ms",
    "200",
    ...extra,
  ]);
}

/** Opens the page with its one-time URL and logs in with `role` and `ticket`. */
export async function login(page: Page, url: string, role: string, ticket = ""): Promise<void> {
  await page.goto(url);
  await page.waitForSelector("#login:not(.hidden)");
  await page.selectOption("#role", role);
  await page.fill("#ticket", ticket);
  await page.click("#login-button");
}

/** Types one line into the terminal and waits until its reply is complete (the prompt is back). */
export async function typeLine(page: Page, line: string): Promise<void> {
  await page.waitForFunction(() => (globalThis as any).cohesixUi.terminalIdle());
  await page.click("#terminal");
  await page.keyboard.type(line);
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => (globalThis as any).cohesixUi.terminalIdle());
}

/** The terminal's transcript: its lines without the final empty prompt. */
export async function transcript(page: Page): Promise<string[]> {
  const lines: string[] = await page.evaluate(() => (globalThis as any).cohesixUi.terminalText());
  if (lines.length > 0 && lines[lines.length - 1].trimEnd() === "coh>") lines.pop();
  return lines;
}
