/**
 * Snapshot and replay (Milestone 20g): record a live session, save it from the page, stop the hive,
 * then play it back with `cohesix ui --replay FILE` and scrub through it: each frame shows the view
 * and the terminal as they were. A tampered file is refused by the CLI and by the page.
 */
import { assert_ as assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { decodeSnapshot, encodeSnapshot } from "../../src/host/ui/snapshot.ts";
import { openBrowser } from "./support/browser.ts";
import { login, outputDir, startHive, startUi, startUiFor, typeLine } from "./support/ui.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const opts = { sanitizeOps: false, sanitizeResources: false };
const ui = (page: import("playwright-core").Page, expr: string) =>
  page.evaluate(`globalThis.cohesixUi.${expr}`) as Promise<any>;

Deno.test(
  "cohesix ui: save a snapshot of a live session, stop the hive, replay it and scrub through it",
  opts,
  async () => {
    const out = await outputDir("replay");
    const file = `${out}/session.cohui.json`;

    // 1. Live: two workers spawned from the terminal, recorded frame by frame.
    const hive = startHive();
    const live = await startUiFor(hive);
    const b = await openBrowser();
    try {
      await login(b.page, live.url, "queen");
      await b.page.waitForFunction(() => (globalThis as any).cohesixUi.frames() >= 1);
      await typeLine(b.page, "spawn heartbeat ticks=50");
      await b.page.waitForFunction(() => (globalThis as any).cohesixUi.state().workers.length === 1);
      await typeLine(b.page, "spawn heartbeat ticks=60");
      await b.page.waitForFunction(() => (globalThis as any).cohesixUi.state().workers.length === 2);
      const [download] = await Promise.all([b.page.waitForEvent("download"), b.page.click("#save")]);
      await download.saveAs(file);
    } finally {
      await b.close();
      await live.stop();
      await hive.stop();
    }

    // 2. The file: sealed, deterministic (decode + encode gives the same bytes), frames from 0 to 2 workers.
    const text = await Deno.readTextFile(file);
    const snap = await decodeSnapshot(text);
    assertEquals((await encodeSnapshot(snap.hive, snap.boot, snap.frames, snap.terminal)).text, text);
    assertEquals(snap.frames[0].workers.length, 0);
    assertEquals(snap.frames[snap.frames.length - 1].workers.length, 2);
    assert(
      snap.terminal.some((e) => e.line === "coh> spawn heartbeat ticks=60"),
      "the terminal lines are recorded",
    );

    // 3. Offline: no hive runs; the replay server serves the file and the page scrubs it.
    const replay = await startUi(["--replay", file]);
    const r = await openBrowser();
    try {
      await r.page.goto(replay.url);
      await r.page.waitForFunction(() => (globalThis as any).cohesixUi.replayFrames() > 0);
      assertEquals(await ui(r.page, "mode()"), "replay");
      assertEquals(await r.page.textContent("#fingerprint"), snap.boot.manifest);
      const n = await ui(r.page, "replayFrames()");
      assertEquals(n, snap.frames.length);
      // Scrub with the slider to the first frame: no workers, no spawn in the terminal yet.
      await r.page.locator("#scrub").fill("0");
      assertEquals((await ui(r.page, "state()")).workers.length, 0);
      assert(
        !(await ui(r.page, "terminalText()")).join("\n").includes("spawn heartbeat"),
        "frame 0 precedes the spawns",
      );
      await r.page.screenshot({ path: `${out}/replay-first.png` });
      // The last frame: both workers, and the terminal up to the second spawn.
      await r.page.locator("#scrub").fill(String(n - 1));
      const last = await ui(r.page, "state()");
      assertEquals(last.workers.map((w: any) => w.id), ["worker-1", "worker-2"]);
      assertStringIncludes((await ui(r.page, "terminalText()")).join("\n"), "coh> spawn heartbeat ticks=60");
      assertStringIncludes(await r.page.textContent("#frame-label") ?? "", `frame ${n}/${n}`);
      // A frame in the middle where exactly one worker existed.
      const one = snap.frames.findIndex((f) => f.workers.length === 1);
      await r.page.evaluate(`globalThis.cohesixUi.scrubTo(${one})`);
      assertEquals((await ui(r.page, "state()")).workers.length, 1);
      await r.page.screenshot({ path: `${out}/replay-scrubbed.png` });

      // The page refuses a tampered file and keeps what it shows.
      const tampered = `${out}/tampered.cohui.json`;
      await Deno.writeTextFile(tampered, text.replace('"worker-2"', '"worker-9"'));
      await r.page.setInputFiles("#open", tampered);
      await r.page.locator("#status").filter({ hasText: "sha256 mismatch" }).waitFor();
      assertEquals((await ui(r.page, "state()")).workers.length, 1);
      assertEquals(r.errors, []);
    } finally {
      await r.close();
      await replay.stop();
    }

    // 4. The CLI refuses a tampered or truncated snapshot before serving anything.
    for (
      const [name, body] of [["tampered", text.replace('"worker-2"', '"worker-9"')], [
        "truncated",
        text.slice(0, text.length / 2),
      ]]
    ) {
      const path = `${out}/${name}.cohui.json`;
      await Deno.writeTextFile(path, body);
      const res = await new Deno.Command(COHESIX, {
        args: ["ui", "--replay", path, "--port", "0"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(res.code, 1, name);
      assertStringIncludes(new TextDecoder().decode(res.stderr), "is not a usable snapshot");
    }
  },
);
