/**
 * `cohesix ui` in Debian's chromium (headless, playwright-core): log in, the boot record in the
 * header, a worker spawned from the terminal appearing on the canvas, and no request leaving the
 * page's own origin. Screenshots go to out/test/ui/<test>/.
 */
import { assert_ as assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { openBrowser } from "./support/browser.ts";
import { AUTH, login, outputDir, startHive, startUiFor, transcript, typeLine } from "./support/ui.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "cohesix ui: log in, see the fingerprint, spawn a worker from the terminal and watch it appear on the canvas",
  opts,
  async () => {
    const out = await outputDir("live");
    const hive = startHive();
    const ui = await startUiFor(hive);
    const b = await openBrowser();
    try {
      const requests: string[] = [];
      b.page.on("request", (r) => requests.push(r.url()));
      await login(b.page, ui.url, "queen");
      await b.page.waitForFunction(() => (globalThis as any).cohesixUi.terminalIdle());
      // The header shows the hive's boot record: version and the manifest fingerprint.
      assertEquals(await b.page.textContent("#fingerprint"), BOOT_CONFIG.manifestFingerprint);
      assertEquals(await b.page.textContent("#version"), "0.1.0");
      // The terminal attached the way `cohsh --role queen` does.
      assertEquals((await transcript(b.page)).slice(0, 2), ["coh> attach queen", "OK ATTACH role=queen"]);

      await typeLine(b.page, "spawn heartbeat ticks=100");
      await b.page.waitForFunction(() =>
        (globalThis as any).cohesixUi.state().workers.some((w: any) => w.id === "worker-1")
      );
      // The worker's heartbeats arrive through its telemetry cursor.
      await b.page.waitForFunction(() =>
        (globalThis as any).cohesixUi.state().workers.find((w: any) => w.id === "worker-1")?.lastHeartbeat
          .startsWith("heartbeat ")
      );
      const w = await b.page.evaluate(() =>
        (globalThis as any).cohesixUi.state().workers.find((w: any) => w.id === "worker-1")
      );
      assertEquals(w.kind, "heartbeat");
      assertEquals(w.ticks, 100);
      assert(w.cursor > 0, "the telemetry cursor moved past the heartbeats read");

      // The cell is drawn: the canvas pixel at its centre is the heartbeat colour, not the background.
      const at = await b.page.evaluate(() => (globalThis as any).cohesixUi.workerAt("worker-1"));
      assert(at !== null, "worker-1 has a cell");
      const box = (await b.page.locator("#hive").boundingBox())!;
      const shot = await b.page.screenshot({
        path: `${out}/view.png`,
        clip: { x: box.x + at.x - 2, y: box.y + at.y - 2, width: 4, height: 4 },
      });
      assert(shot.length > 0);
      const rgb: number[] = await b.page.evaluate(
        ({ x, y }) => (globalThis as any).cohesixUi.pixelAt(x, y),
        at,
      );
      assert(
        rgb[0] > 100 && rgb[1] > 80 && rgb[2] < 120,
        `worker-1's cell is drawn in the heartbeat colour, got rgb(${rgb})`,
      );

      // A GPU lease shows up on its GPU.
      await typeLine(b.page, "spawn gpu gpu_id=GPU-0 mem_mb=1024 streams=2 ttl_s=60");
      await b.page.waitForFunction(() =>
        (globalThis as any).cohesixUi.state().gpus.some((g: any) =>
          g.id === "GPU-0" && g.lease === "worker-2"
        )
      );
      const sessions = await b.page.evaluate(() => (globalThis as any).cohesixUi.state().sessions);
      assert(sessions.some((s: any) => s.role === "queen"), "the view lists its own queen session");
      const pressure = await b.page.evaluate(() => (globalThis as any).cohesixUi.state().pressure);
      assertEquals(typeof pressure.denied, "number");

      await b.page.screenshot({ path: `${out}/view-and-terminal.png` });
      await b.page.locator("#terminal").screenshot({ path: `${out}/terminal.png` });
      const origin = ui.origin;
      assertEquals(
        requests.filter((u) => !u.startsWith(origin) && !u.startsWith("blob:")),
        [],
        "every request stays on the page's origin",
      );
      assertEquals(b.errors, []);
      const text = (await transcript(b.page)).join("\n");
      assertStringIncludes(text, 'OK SPAWN payload={"spawn":"heartbeat","ticks":100}');
    } finally {
      await b.close();
      await ui.stop();
      await hive.stop();
    }
  },
);

Deno.test(
  "cohesix ui terminal: Ctrl-C stops a tail -f and the session keeps serving; after quit the next line reconnects",
  opts,
  async () => {
    const out = await outputDir("follow");
    const hive = startHive();
    const ui = await startUiFor(hive);
    const b = await openBrowser();
    try {
      await login(b.page, ui.url, "queen");
      await typeLine(b.page, "spawn heartbeat ticks=100");
      await b.page.click("#terminal");
      // Tab completes verbs and hive paths (cohsh's completer; paths listed over the view's session).
      const tab = async (typed: string, want: string) => {
        await b.page.keyboard.type(typed);
        await b.page.keyboard.press("Tab");
        await b.page.waitForFunction((w) => (globalThis as any).cohesixUi.terminalText().at(-1) === w, want, {
          timeout: 5000,
        }).catch(async (e) => {
          console.log(
            JSON.stringify(await b.page.evaluate(() => (globalThis as any).cohesixUi.terminalText())),
          );
          throw e;
        });
      };
      await tab("ta", "coh> tail ");
      await tab("-f /wor", "coh> tail -f /worker");
      await tab("/", "coh> tail -f /worker/worker-1");
      await tab("/t", "coh> tail -f /worker/worker-1/telemetry");
      await b.page.keyboard.press("Enter");
      // Heartbeats stream into the terminal while the follow runs.
      await b.page.waitForFunction(() =>
        (globalThis as any).cohesixUi.terminalText().some((l: string) => l.startsWith("heartbeat "))
      );
      assertEquals(await b.page.evaluate(() => (globalThis as any).cohesixUi.terminalIdle()), false);
      await b.page.keyboard.press("Control+C");
      await b.page.waitForFunction(() => (globalThis as any).cohesixUi.terminalIdle());
      const lines = await transcript(b.page);
      assertEquals(lines[lines.length - 1], "END");
      await typeLine(b.page, "ping");
      assertEquals((await transcript(b.page)).slice(-2), ["PONG", "OK PING reply=pong"]);
      // quit ends the console session; the next line opens a new one (detached, as a fresh cohsh).
      await typeLine(b.page, "quit");
      await typeLine(b.page, "log");
      assertEquals((await transcript(b.page)).slice(-1), ["ERR LOG reason=policy detail=unauthenticated"]);
      await b.page.locator("#terminal").screenshot({ path: `${out}/terminal.png` });
      assertEquals(b.errors, []);
    } finally {
      await b.close();
      await ui.stop();
      await hive.stop();
    }
  },
);

Deno.test(
  "cohesix ui: when the hive restarts, the view re-attaches with the login and the terminal reconnects",
  opts,
  async () => {
    let hive = startHive();
    const ports = { ninepPort: hive.ninepPort, consolePort: hive.consolePort };
    const ui = await startUiFor(hive);
    const b = await openBrowser();
    try {
      await login(b.page, ui.url, "queen");
      await typeLine(b.page, "spawn heartbeat ticks=100");
      await b.page.waitForFunction(() => (globalThis as any).cohesixUi.state().workers.length === 1);
      await hive.stop();
      // A new hive on the same ports: no workers until one is spawned there.
      hive = HostedHive.start({ ...ports, authToken: AUTH });
      await b.page.locator("#status").filter({ hasText: "re-attached" }).waitFor({ timeout: 20000 });
      await b.page.waitForFunction(() => (globalThis as any).cohesixUi.state().workers.length === 0);
      // The terminal finds its console closed, then reconnects and re-attaches (cohsh's reconnect).
      await typeLine(b.page, "ping");
      assertMatch(
        (await transcript(b.page)).join("\n"),
        /cohsh: (the hive closed the connection|Cannot send to the hive)/,
      );
      await typeLine(b.page, "spawn heartbeat ticks=7");
      await b.page.waitForFunction(() =>
        (globalThis as any).cohesixUi.state().workers.some((w: any) => w.ticks === 7)
      );
      assertStringIncludes((await transcript(b.page)).join("\n"), "cohsh: reconnected to tcp 127.0.0.1");
      assertEquals(b.errors, []);
    } finally {
      await b.close();
      await ui.stop();
      await hive.stop();
    }
  },
);
