/**
 * Debian's chromium, headless, driven by playwright-core (never a downloaded browser). The flags keep
 * it off the network (the machine has none: without them Chromium keeps retrying refused
 * connections) and every run gets a fresh profile directory, removed afterwards.
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Page console errors and uncaught exceptions seen so far (a test asserts there are none). */
  errors: string[];
  close(): Promise<void>;
}

/** Starts chromium with a fresh profile; `downloads` is where saved files land. */
export async function openBrowser(opts: { width?: number; height?: number } = {}): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "cohesix-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: { width: opts.width ?? 1400, height: opts.height ?? 820 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
