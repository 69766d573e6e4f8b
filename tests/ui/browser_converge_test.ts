/**
 * Milestone 20e's convergence test, in a browser: the converge_v0 session typed into the UI's
 * xterm.js terminal gives byte-for-byte the transcript `cohesix cohsh --role queen --script` gives,
 * each against a fresh hive with the demo's fixed clock (so no time reaches either transcript).
 * A corrupted transcript is told apart with a line-level diff.
 */
import { assertEquals, assertNotEquals } from "../support/assert.ts";
import { runScriptText } from "../../src/host/cohsh/command.ts";
import { parseScript } from "../../src/host/cohsh/script.ts";
import { openBrowser } from "./support/browser.ts";
import { AUTH, login, outputDir, startHive, startUiFor, transcript, typeLine } from "./support/ui.ts";

const SCRIPT = new URL("./fixtures/converge_v0.coh", import.meta.url).pathname;
const opts = { sanitizeOps: false, sanitizeResources: false };

/** What `cohesix cohsh --role queen --script converge_v0.coh` prints, against a fresh fixed-clock hive. */
async function cohshTranscript(text: string): Promise<string[]> {
  const hive = startHive(true);
  const lines: string[] = [];
  try {
    const code = await runScriptText(
      { transport: "tcp", hostname: "127.0.0.1", port: hive.consolePort, authToken: AUTH, timeoutMs: 5000 },
      text,
      SCRIPT,
      (l) => lines.push(l),
      (l) => lines.push(`stderr: ${l}`),
      ["attach queen"],
    );
    assertEquals(code, 0, lines.join("\n"));
  } finally {
    await hive.stop();
  }
  return lines;
}

/** The first differing line, for a readable failure. */
function firstDiff(a: string[], b: string[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      return `line ${i + 1}: browser ${JSON.stringify(a[i])} vs cohsh ${JSON.stringify(b[i])}`;
    }
  }
  return "";
}

Deno.test(
  "cohesix ui terminal: the converge_v0 session is byte-identical to cohsh's transcript",
  opts,
  async () => {
    const out = await outputDir("converge");
    const text = await Deno.readTextFile(SCRIPT);
    const expected = await cohshTranscript(text);
    const hive = startHive(true);
    const ui = await startUiFor(hive);
    const b = await openBrowser();
    try {
      await login(b.page, ui.url, "queen");
      for (const step of parseScript(text, SCRIPT)) await typeLine(b.page, step.command);
      const got = await transcript(b.page);
      await Deno.writeTextFile(`${out}/browser.txt`, got.join("\n") + "\n");
      await Deno.writeTextFile(`${out}/cohsh.txt`, expected.join("\n") + "\n");
      await b.page.locator("#terminal").screenshot({ path: `${out}/terminal.png` });
      assertEquals(firstDiff(got, expected), "");
      assertEquals(new TextEncoder().encode(got.join("\n")), new TextEncoder().encode(expected.join("\n")));
      // The comparison can fail: one changed byte is found.
      const corrupted = expected.map((l) => l.replace("OK LOG", "OK L0G"));
      assertNotEquals(firstDiff(got, corrupted), "");
      assertEquals(b.errors, []);
    } finally {
      await b.close();
      await ui.stop();
      await hive.stop();
    }
  },
);
