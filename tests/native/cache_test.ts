/** The guest build cache: keys follow the inputs, a finished entry is reused, a stale lock is taken over. */
import { assert, assertEquals } from "../support/assert.ts";
import { acquireLock, cachedBuildGuest, guestBuildKey } from "../../src/host/guest_build/cache.ts";
import { join } from "node:path";

const A = `console.log("a");\n`;
const B = `console.log("b");\n`;

Deno.test("guestBuildKey is stable for the same inputs and changes with the entry and the arena", async () => {
  const a1 = await guestBuildKey({ entrySource: A });
  assertEquals(await guestBuildKey({ entrySource: A }), a1);
  assert(await guestBuildKey({ entrySource: B }) !== a1, "another entry, another key");
  assert(await guestBuildKey({ entrySource: A, arenaBytes: 64 << 20 }) !== a1, "another arena, another key");
});

Deno.test("cachedBuildGuest reuses a finished entry without building", async () => {
  const root = await Deno.makeTempDir({ prefix: "cohesix-cache-" });
  try {
    const key = await guestBuildKey({ entrySource: A });
    await Deno.mkdir(join(root, key));
    await Deno.writeTextFile(
      join(root, key, "result.json"),
      JSON.stringify({ stageMs: { wasm: 1 }, sizes: {}, arenaPtrField: "w2c_g4" }),
    );
    const r = await cachedBuildGuest({ entrySource: A, root });
    assert(r.hit, "a finished entry is a hit");
    assertEquals([r.dir, r.elf, r.arenaPtrField], [
      join(root, key),
      join(root, key, "rootserver.elf"),
      "w2c_g4",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("acquireLock takes over a lock whose owner is dead and waits out a live one until the entry is done", async () => {
  const root = await Deno.makeTempDir({ prefix: "cohesix-lock-" });
  try {
    const lockDir = join(root, "k.lock");
    const done = join(root, "k", "result.json");
    await Deno.mkdir(lockDir);
    await Deno.writeTextFile(join(lockDir, "pid"), "999999999");
    assertEquals(await acquireLock(lockDir, done), true, "a dead owner's lock is taken");
    assertEquals(await Deno.readTextFile(join(lockDir, "pid")), String(Deno.pid));
    // Held by a live process (pid 1): the waiter returns false once the entry is finished.
    await Deno.writeTextFile(join(lockDir, "pid"), "1");
    const t0 = performance.now();
    setTimeout(() => {
      Deno.mkdirSync(join(root, "k"));
      Deno.writeTextFileSync(done, "{}");
    }, 700);
    assertEquals(await acquireLock(lockDir, done), false, "the entry appeared while waiting");
    assert(performance.now() - t0 >= 600, "it waited for the live owner");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
