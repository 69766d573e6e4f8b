/**
 * Tickets in the browser: the bridge attaches with exactly the role and ticket the user logs in
 * with, so the hive's refusals reach the page. A refused login says why; an observer ticket with a
 * small ops quota runs out while the view refreshes, and the view shows the hive's EMSGSIZE.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { testTicket } from "../support/tickets.ts";
import { openBrowser } from "./support/browser.ts";
import { login, outputDir, startHive, startUiFor } from "./support/ui.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** The development key of a role in configs/root_task.toml (its seed is public by design). */
function devKey(role: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(`cohesix-dev-ticket-key:${role}`)));
}

Deno.test(
  "cohesix ui: a refused login shows the hive's refusal; a spent ticket quota shows EMSGSIZE in the view",
  opts,
  async () => {
    const out = await outputDir("ticket");
    const hive = startHive();
    const ui = await startUiFor(hive);
    const b = await openBrowser();
    try {
      // A worker role needs a ticket for a live worker: the hive refuses, the form says so.
      await login(b.page, ui.url, "worker-heartbeat", "");
      await b.page.locator("#login-error").filter({ hasText: "refused" }).waitFor();
      const why = await b.page.textContent("#login-error");
      assertStringIncludes(why!, "The hive refused to attach as 'worker-heartbeat'");
      await b.page.screenshot({ path: `${out}/login-refused.png` });

      // An observer ticket good for 40 operations: the view spends them, then the hive refuses.
      const ticket = testTicket("observer", "", "00000000000000a1", devKey("observer"), {
        quota: { ops: 40, bytes: 0, fids: 0 },
      });
      await b.page.selectOption("#role", "observer");
      await b.page.fill("#ticket", ticket);
      await b.page.click("#login-button");
      await b.page.waitForFunction(
        () => (globalThis as any).cohesixUi.state().refusals.length > 0,
        undefined,
        { timeout: 20000 },
      );
      const refusal = await b.page.evaluate(() => (globalThis as any).cohesixUi.state().refusals[0]);
      assertEquals(refusal.errno, 90);
      assertStringIncludes(refusal.error, "quota");
      // The terminal attached with the same ticket.
      const lines: string[] = await b.page.evaluate(() => (globalThis as any).cohesixUi.terminalText());
      assertEquals(lines[0], `coh> attach observer ${ticket}`.slice(0, lines[0].length));
      assertStringIncludes(lines.join("\n"), "OK ATTACH role=observer");
      await b.page.screenshot({ path: `${out}/quota-refused.png` });
      assertEquals(b.errors, []);
    } finally {
      await b.close();
      await ui.stop();
      await hive.stop();
    }
  },
);
