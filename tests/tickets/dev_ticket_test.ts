/**
 * Tickets end to end as an operator uses them: `cohesix ticket keygen/mint` with the dev manifest's
 * worker-heartbeat key (seed documented in configs/root_task.toml), a `cohesix dev` process, and
 * `cohesix cohsh` attaching with the minted ticket. The hive checks iat/exp against its injected
 * clock, so this only passes when `cohesix dev` injects Unix milliseconds.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";
import { withDevProcess } from "../support/dev.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const dec = new TextDecoder();

async function cohesix(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await new Deno.Command(COHESIX, { args, env: { NO_COLOR: "1", COHSH_HISTORY: "" } }).output();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

async function devSeed(role: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`cohesix-dev-ticket-key:${role}`));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function script(dir: string, port: number, name: string, lines: string[]) {
  const path = `${dir}/${name}.coh`;
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return await cohesix(["cohsh", "--port", String(port), "--script", path]);
}

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
  assertEquals([r.code, r.stderr], [0, ""], "ticket mint");
  return r.stdout.trim();
}

Deno.test("cohesix dev accepts a CLI-minted worker ticket and refuses an expired one as expired", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dev-ticket-" });
  try {
    await withDevProcess(async (port) => {
      const key = `${dir}/worker-heartbeat.json`;
      const kg = await cohesix([
        "ticket",
        "keygen",
        "--out",
        key,
        "--seed",
        await devSeed("worker-heartbeat"),
      ]);
      assertEquals(kg.code, 0, kg.stderr);
      // The seed really is the dev manifest's key: the hive trusts exactly this public key.
      const pub = JSON.parse(await Deno.readTextFile(key)).publicKey;
      assertEquals(
        BOOT_CONFIG.ticketKeys.some((k) => k.publicKey === pub),
        true,
        `dev manifest trusts ${pub}`,
      );

      const q = await script(dir, port, "queen", [
        "attach queen",
        "spawn heartbeat ticks=1000",
        "ls /worker",
      ]);
      assertEquals([q.code, q.stderr], [0, ""]);
      assertStringIncludes(q.stdout, "\nworker-1\n");

      const valid = await mint(key, ["--ttl-s", "600"]);
      const ok = await script(dir, port, "valid", [
        `attach worker-heartbeat ${valid}`,
        "cat /worker/worker-1/telemetry",
      ]);
      assertEquals([ok.code, ok.stderr], [0, ""]);
      assertStringIncludes(ok.stdout, "OK ATTACH role=worker-heartbeat\n");

      // Issued two minutes ago for one minute: expired now in Unix time.
      const expired = await mint(key, ["--ttl-s", "60", "--issued-at", String(Date.now() - 120_000)]);
      const bad = await script(dir, port, "expired", [`attach worker-heartbeat ${expired}`]);
      assertEquals(bad.code, 1);
      assertStringIncludes(bad.stdout, "ERR ATTACH reason=quota detail=expired\n");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
