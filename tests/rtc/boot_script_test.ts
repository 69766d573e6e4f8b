/**
 * The generated tables boot a real hosted hive, and the generated boot_v0.coh passes against it
 * through `cohesix cohsh --script` (the same CLI an operator runs).
 */
import { BOOT_CONFIG, MANIFEST_FINGERPRINT } from "../../src/guest/generated/bootstrap.ts";
import { TRACE_CATEGORIES as GUEST_TRACE_CATEGORIES } from "../../src/guest/ninedoor/trace.ts";
import { bootConfigFromManifest, loadManifest, planFlat, writeArtifacts } from "../../src/codegen/mod.ts";
import { TRACE_CATEGORIES } from "../../src/codegen/schema.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { withDevProcess } from "../support/dev.ts";

const REPO = new URL("../../", import.meta.url).pathname;

async function cohshScript(port: number, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(`${REPO}cohesix`, {
    args: ["cohsh", "--port", String(port), "--script", script],
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withHive(fn: (port: number) => Promise<void>): Promise<void> {
  const hive = HostedHive.start({ boot: BOOT_CONFIG, ninepPort: 0, consolePort: 0, noNinep: true });
  try {
    await fn(hive.consolePort);
  } finally {
    await hive.stop();
  }
}

Deno.test("BOOT_CONFIG equals the BootConfig compiled from configs/root_task.toml", async () => {
  const m = await loadManifest(`${REPO}configs/root_task.toml`);
  assertEquals(BOOT_CONFIG, await bootConfigFromManifest(`${REPO}configs/root_task.toml`));
  assertEquals(MANIFEST_FINGERPRINT, m.fingerprint);
  assertEquals(BOOT_CONFIG.manifestFingerprint, m.fingerprint);
});

Deno.test("schema TRACE_CATEGORIES matches the guest's trace categories", () => {
  assertEquals([...TRACE_CATEGORIES], GUEST_TRACE_CATEGORIES);
});

Deno.test("boot_v0.coh passes against a hive booted from the generated tables, which shows the fingerprint", async () => {
  await withHive(async (port) => {
    const r = await cohshScript(port, `${REPO}configs/generated/boot_v0.coh`);
    assertEquals(r.stderr, "");
    assertEquals(r.code, 0);
    assertStringIncludes(r.stdout, `manifest=${MANIFEST_FINGERPRINT}\n`);
    assertStringIncludes(r.stdout, "coh> ls /gpu/GPU-1\nOK LS path=/gpu/GPU-1");
  });
});

Deno.test("boot_v0.coh of another profile fails against this hive at the first fact that differs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rtc-boot-script-" });
  try {
    await writeArtifacts(dir, (await planFlat(`${REPO}configs/gpu_queen.toml`, "configs/gpu_queen.toml")).files);
    await withHive(async (port) => {
      const r = await cohshScript(port, `${dir}/boot_v0.coh`);
      assertEquals(r.code, 1);
      assertStringIncludes(r.stderr, "'ls /gpu/GPU-2'");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("boot_v0.coh passes via cohsh against a `cohesix dev` process", async () => {
  await withDevProcess(async (port) => {
    const r = await cohshScript(port, `${REPO}configs/generated/boot_v0.coh`);
    assertEquals([r.code, r.stderr], [0, ""]);
    assertStringIncludes(r.stdout, `manifest=${MANIFEST_FINGERPRINT}\n`);
  });
});

// field_node ticks every 5 s of the (real) clock, so the script's spawn → kill cannot race a tick budget.
Deno.test("boot_v0.coh of another profile passes via cohsh against `cohesix dev --manifest` of that profile", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rtc-boot-manifest-" });
  try {
    const plan = await planFlat(`${REPO}configs/field_node.toml`, "configs/field_node.toml");
    await writeArtifacts(dir, plan.files);
    const fingerprint = (await loadManifest(`${REPO}configs/field_node.toml`)).fingerprint;
    const out = await new Deno.Command(`${REPO}cohesix`, {
      args: [
        "cohsh",
        "--transport",
        "serial",
        "--serial-cmd",
        `${REPO}cohesix dev --manifest ${REPO}configs/field_node.toml --serial --ninep-port 0`,
        "--script",
        `${dir}/boot_v0.coh`,
      ],
      env: { NO_COLOR: "1", COHSH_HISTORY: "" },
    }).output();
    const dec = new TextDecoder();
    assertEquals([out.code, dec.decode(out.stderr)], [0, ""]);
    assertStringIncludes(dec.decode(out.stdout), `manifest=${fingerprint}\n`);
    assertStringIncludes(dec.decode(out.stdout), " workers=8 tick_ms=5000 ");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
