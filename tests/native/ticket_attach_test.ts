/**
 * Signed tickets on seL4 (the default boot image's serial console): a worker-heartbeat ticket minted
 * by `cohesix ticket mint` with a manifest-trusted key attaches after the queen spawned worker-1; the
 * same ticket with one character changed is refused; an expired one is refused by the injected clock
 * (the PL031's wall time at boot plus the generic timer). The native verifier is libsodium behind
 * the verify mailbox. A refused attach backs the console off for the delay it names; the client
 * waits exactly that long before the next attach, as cohsh does.
 */
import { assert, assertStringIncludes } from "../support/assert.ts";
import { bootBuild, linkImage } from "./builds.ts";
import { Sel4Console } from "../../src/host/guest_build/native_run.ts";
import { cohesix } from "../images/support.ts";
import { changeChar, devSecret } from "./ticket_vectors.ts";
import { join } from "node:path";

const work = Deno.makeTempDirSync({ prefix: "cohesix-ticket-attach-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));

async function mint(key: string, extra: string[]): Promise<string> {
  const r = await cohesix([
    "ticket",
    "mint",
    "--key",
    key,
    "--role",
    "worker-heartbeat",
    "--subject",
    "worker-1",
    ...extra,
  ]);
  if (r.code !== 0) throw new Error(`cohesix ticket mint failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Sends an attach; when the console names a back-off delay, waits it out and sends it again. */
async function attach(c: Sel4Console, line: string): Promise<{ reply: string; ms: number }> {
  for (;;) {
    const t0 = performance.now();
    const reply = await c.command(line, "\n");
    const ms = performance.now() - t0;
    const m = /detail=throttled delay_ms=(\d+)/.exec(reply);
    if (!m) return { reply, ms };
    await new Promise((r) => setTimeout(r, Number(m[1]) + 20));
  }
}

Deno.test("on seL4 a minted worker ticket attaches, the same ticket with one character changed and an expired one do not", async () => {
  const key = join(work, "worker-key.json");
  const kg = await cohesix(["ticket", "keygen", "--out", key, "--seed", devSecret("worker-heartbeat")]);
  assert(kg.code === 0, kg.stderr);
  const ticket = await mint(key, ["--ttl-s", "600"]);
  const tampered = changeChar(ticket, 12);
  const expired = await mint(key, ["--issued-at", String(Date.now() - 7_200_000), "--ttl-s", "60"]);

  const image = join(work, "boot.elf");
  await linkImage((await bootBuild()).elf, image);
  const c = await Sel4Console.boot(image);
  try {
    assertStringIncludes(await c.command("attach queen", "\n"), "OK ATTACH role=queen");
    assertStringIncludes(await c.command('spawn {"spawn":"heartbeat","ticks":100}', "\n"), "OK SPAWN");
    assertStringIncludes(await c.command("quit", "\n"), "OK QUIT");
    const ok = await attach(c, `attach worker-heartbeat ${ticket}`);
    assertStringIncludes(ok.reply, "OK ATTACH role=worker-heartbeat");
    assertStringIncludes(await c.command("cat /worker/worker-1/telemetry", "\nEND\n"), "OK CAT");
    assertStringIncludes(await c.command("quit", "\n"), "OK QUIT");
    const bad = await attach(c, `attach worker-heartbeat ${tampered}`);
    assertStringIncludes(bad.reply, "ERR ATTACH reason=policy detail=denied");
    const old = await attach(c, `attach worker-heartbeat ${expired}`);
    assertStringIncludes(old.reply, "ERR ATTACH reason=quota detail=expired");
    // A malformed ticket is refused before any signature check: the difference is the verify cost.
    const malformed = await attach(c, `attach worker-heartbeat cht1.AAAA.AAAA`);
    assertStringIncludes(malformed.reply, "ERR ATTACH");
    const valid = await attach(c, `attach worker-heartbeat ${ticket}`);
    assertStringIncludes(valid.reply, "OK ATTACH role=worker-heartbeat");
    console.log(
      `seL4 attach round trip: signed ticket ${valid.ms.toFixed(1)} ms, malformed (no crypto) ${
        malformed.ms.toFixed(1)
      } ms`,
    );
  } finally {
    await c.close();
  }
});
