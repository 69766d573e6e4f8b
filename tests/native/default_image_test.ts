/**
 * The default guest (the boot entry, what `cohesix image` builds without --rootserver): the image
 * fits the manifest's 4 MiB budget and boots on seL4 to the banner with the manifest fingerprint,
 * and cohsh's serial transport runs selftest_quick.coh against it — under qemu-aarch64 and on seL4
 * under qemu-system-aarch64 — with the hosted hive's transcript. One guest build (tests/native/builds.ts)
 * serves this file, and `cohesix image` takes the same build from the shared cache.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bootBuild, GUEST_CACHE } from "./builds.ts";
import { bootSel4 } from "../../src/host/guest_build/native_run.ts";
import { MANIFEST_FINGERPRINT } from "../../src/guest/generated/bootstrap.ts";
import { readCpio } from "../../images/cpio.ts";
import { REPO_ROOT } from "../../src/host/guest_build/tools.ts";
import { cohesix, SEL4 } from "../images/support.ts";
import { join } from "node:path";

const BUDGET = 4 * 1024 * 1024;
const work = Deno.makeTempDirSync({ prefix: "cohesix-default-image-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));

let image: Promise<string> | undefined;
/**
 * `cohesix image --uefi` with no other flag (the native guest from the build cache, the seL4 export from
 * ../shared/sel4/prebuilt, the manifest configs/root_task.toml); returns the out dir.
 */
function defaultImage(): Promise<string> {
  image ??= (async () => {
    await bootBuild();
    const out = join(work, "img");
    const r = await cohesix(["image", "--uefi", "--out", out], {
      env: { COHESIX_GUEST_CACHE: GUEST_CACHE, NO_COLOR: "1" },
    });
    assertEquals(r.code, 0, `cohesix image failed:\n${r.stderr}`);
    assertStringIncludes(r.stderr, "rootserver: build cache hit");
    return out;
  })();
  return image;
}

Deno.test("cohesix image without --rootserver packs the native guest into a payload under the 4 MiB budget", async () => {
  const out = await defaultImage();
  const payload = await Deno.readFile(join(out, "payload.cpio"));
  const entries = readCpio(payload);
  assertEquals(entries.map((e) => e.name), ["kernel.elf", "kernel.dtb", "rootserver"]);
  const rootserver = await Deno.readFile((await bootBuild()).elf);
  assert(
    entries[2].data.length === rootserver.length && entries[2].data.every((v, i) => v === rootserver[i]),
    "the image's rootserver is the cached boot-entry guest build",
  );
  assert(payload.length < BUDGET, `payload ${payload.length} bytes is over the ${BUDGET}-byte budget`);
  // With no --manifest the image is attested against configs/root_task.toml, the manifest the guest was
  // generated from (the banner prints the same fingerprint), and its image.max_bytes is the limit.
  const att = JSON.parse(await Deno.readTextFile(join(out, "attestation.json")));
  assertEquals([att.manifest.limit_bytes, att.manifest.limit_from], [BUDGET, "manifest"]);
  assertEquals(
    att.manifest.fingerprint,
    MANIFEST_FINGERPRINT,
    "the image's manifest is the one the guest was generated from",
  );
  const status = await cohesix(["status", "--offline", join(out, "esp.img")], { env: { NO_COLOR: "1" } });
  assertEquals(status.code, 0, status.stdout + status.stderr);
  assertStringIncludes(status.stdout, MANIFEST_FINGERPRINT);
  console.log(
    `default image: rootserver ${rootserver.length} bytes, payload.cpio ${payload.length} of ${BUDGET} bytes ` +
      `(${(100 * payload.length / BUDGET).toFixed(1)}%), sel4-image.elf ${
        (await Deno.stat(join(out, "sel4-image.elf"))).size
      } bytes`,
  );
});

Deno.test("the default image boots on seL4 to the guest banner with the manifest fingerprint", async () => {
  const out = await defaultImage();
  const banner = `cohesix: guest up, manifest ${MANIFEST_FINGERPRINT}\n`;
  const boot = await bootSel4(join(out, "sel4-image.elf"), {
    until: "cohesix: serial console ready\n",
    timeoutMs: 120_000,
    watch: [banner],
  });
  assertStringIncludes(boot.serial, banner);
  assert(
    boot.serial.indexOf(banner) < boot.serial.indexOf("cohesix: serial console ready"),
    "banner before the console",
  );
  console.log(`default image: boot to banner ${boot.seenMs[banner]} ms, to console ready ${boot.ms} ms`);
});

Deno.test("the root task starts worker 1 in its own CSpace and VSpace and does one PING 1 / PONG 1 with it per boot (Milestone 1)", async () => {
  const out = await defaultImage();
  const boot = await bootSel4(join(out, "sel4-image.elf"), {
    until: "cohesix: serial console ready\n",
    timeoutMs: 120_000,
  });
  const lines = boot.serial.split("\n");
  const count = (l: string) => lines.filter((x) => x === l).length;
  assertEquals([count("PING 1"), count("PONG 1")], [1, 1], "exactly one PING 1 and one PONG 1");
  const ping = lines.indexOf("PING 1");
  assertEquals(lines[ping + 1], "PONG 1", "PONG 1 answers PING 1");
  assert(ping < lines.findIndex((l) => l.startsWith("cohesix: guest up")), "the ping-pong is part of boot");
  // The timed round trips after it are answered too (the worker echoes each n): all of them, none lost.
  const stats = lines.find((l) => l.startsWith("cohesix: worker 1 in its own cspace and vspace"));
  const m = stats?.match(/, (\d+) bytes of untyped; (\d+)\/(\d+) round trips, (\d+) ns each$/);
  assert(m, `worker statistics line: ${stats}`);
  assertEquals(m[2], m[3], "every timed round trip answered");
  console.log(`worker 1: ${m[1]} bytes of untyped, ${m[3]} round trips at ${m[4]} ns each (QEMU TCG)`);
});

async function cohshScript(serialCmd: string, script: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "src/main.ts",
      "cohsh",
      "--transport",
      "serial",
      "--serial-cmd",
      serialCmd,
      "--timeout",
      "600000",
      "--script",
      script,
    ],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
}

const SCRIPT = "demo/selftest_quick.coh";
let hosted: Promise<{ code: number; out: string }> | undefined;
const hostedRun =
  () => (hosted ??= cohshScript(`${Deno.execPath()} run -A src/main.ts dev --serial --ninep-port 0`, SCRIPT));

Deno.test("cohsh --transport serial runs selftest_quick.coh on the native console (qemu-aarch64) with the hosted hive's transcript", async () => {
  const r = await bootBuild();
  const h = await hostedRun();
  assertEquals(h.code, 0, h.out);
  const native = await cohshScript(`qemu-aarch64 ${r.linuxElf} --serial-only`, SCRIPT);
  assertEquals(native.code, 0, native.out);
  assertStringIncludes(native.out, "OK ATTACH role=queen");
  assertEquals(native.out, h.out);
});

Deno.test("cohsh --transport serial runs selftest_quick.coh on the seL4 guest's PL011 (cohesix guest serial) with the hosted hive's transcript", async () => {
  const out = await defaultImage();
  const h = await hostedRun();
  assertEquals(h.code, 0, h.out);
  const t0 = performance.now();
  const sel4 = await cohshScript(
    `${Deno.execPath()} run -A src/main.ts guest serial ${join(out, "sel4-image.elf")} --timeout 600`,
    SCRIPT,
  );
  assertEquals(sel4.code, 0, sel4.out);
  assertStringIncludes(sel4.out, "OK ATTACH role=queen");
  assertEquals(sel4.out, h.out);
  console.log(`seL4 serial selftest_quick: ${Math.round(performance.now() - t0)} ms`);
  // The bridge stops QEMU by its pid shortly after cohsh closes the console (1 s drain).
  let left = "";
  for (let i = 0; i < 40; i++) {
    const ps = await new Deno.Command("pgrep", { args: ["-f", join(out, "sel4-image.elf")] }).output();
    left = new TextDecoder().decode(ps.stdout).trim();
    if (left === "") break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assertEquals(left, "", "no QEMU or bridge left running on the test image after 10 s");
});
