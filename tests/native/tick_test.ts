/**
 * The hive tick on seL4: the root task sleeps in seL4_Wait until the pump's next tick (the generic
 * timer's interrupt) or serial input, so `event_pump.tick_ms` is honoured as it is hosted. A guest
 * booted from a manifest with tick_ms = 250 gives a heartbeat worker four telemetry lines per
 * second of wall time. The rate is measured between two telemetry reads far enough apart (12 ticks)
 * that the reads' own latency stays small against it; every wait is for a reply on serial.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { linkImage, sel4Export } from "./builds.ts";
import { Sel4Console } from "../../src/host/guest_build/native_run.ts";
import { cachedBuildGuest } from "../../src/host/guest_build/cache.ts";
import { manifestEntrySource } from "../../src/host/guest_build/bundle.ts";
import { compileManifestText } from "../../src/codegen/mod.ts";
import { bootConfigValue } from "../../src/codegen/emit/bootstrap.ts";
import { REPO_ROOT } from "../../src/host/guest_build/tools.ts";
import { GUEST_CACHE } from "./builds.ts";
import { join } from "node:path";

const work = Deno.makeTempDirSync({ prefix: "cohesix-tick-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));

/** configs/root_task.toml with event_pump.tick_ms = 250. */
function manifest250(): string {
  const text = Deno.readTextFileSync(join(REPO_ROOT, "configs", "root_task.toml"));
  const out = text.replace(/^tick_ms = \d+/m, "tick_ms = 250");
  assert(out !== text, "configs/root_task.toml has an event_pump tick_ms line");
  return out;
}

/** The last "heartbeat N" of a telemetry read (0: none yet). */
function lastBeat(reply: string): number {
  assert(reply.startsWith("OK CAT"), `the telemetry read failed:\n${reply}`);
  const beats = [...reply.matchAll(/^heartbeat (\d+)$/gm)].map((m) => Number(m[1]));
  return beats.length > 0 ? beats[beats.length - 1] : 0;
}

Deno.test("a 250 ms tick_ms manifest gives a heartbeat worker four telemetry ticks per second on seL4", async () => {
  const boot = bootConfigValue(compileManifestText(manifest250(), "root_task-250ms.toml"));
  assertEquals(boot.tickMs, 250);
  const r = await cachedBuildGuest({
    entrySource: manifestEntrySource(boot),
    sel4Sdk: await sel4Export(),
    root: GUEST_CACHE,
  });
  const image = join(work, "tick250.elf");
  await linkImage(r.elf, image);
  const c = await Sel4Console.boot(image);
  try {
    assertStringIncludes(c.serial, "cohesix: clock generic timer");
    assertStringIncludes(c.serial, "serial input and tick by interrupt (seL4_Wait)");
    assertStringIncludes(await c.command("attach queen", "\n"), "OK ATTACH role=queen");
    assertStringIncludes(
      await c.command('spawn {"spawn":"heartbeat","ticks":100000}', "\n"),
      "OK SPAWN",
    );
    const beat = async () => lastBeat(await c.command("cat /worker/worker-1/telemetry", "\nEND\n"));
    // Start at a fresh tick: wait for the first, then for the next one.
    let n0 = await beat();
    while (n0 === 0) n0 = await beat();
    for (const first = n0; n0 === first;) n0 = await beat();
    const t0 = performance.now();
    let n1 = n0;
    let t1 = t0;
    while (n1 < n0 + 12) {
      n1 = await beat();
      t1 = performance.now();
    }
    const perSecond = (n1 - n0) / ((t1 - t0) / 1000);
    console.log(`tick 250 ms: ${n1 - n0} ticks in ${Math.round(t1 - t0)} ms = ${perSecond.toFixed(2)}/s`);
    assert(perSecond >= 3 && perSecond <= 5, `expected 4 ± 1 ticks per second, got ${perSecond.toFixed(2)}`);
  } finally {
    await c.close();
  }
});
