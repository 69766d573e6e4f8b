/**
 * Fixtures for the native network tests: the default image (built once per test file through the
 * guest build cache), the seL4 guest booted with its NIC (through `cohesix qemu --net`, or the
 * launcher directly when a test needs the frame tap), and cohsh runs against any hive.
 */
import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bootBuild, GUEST_CACHE } from "./builds.ts";
import { cohesix } from "../images/support.ts";
import { REPO_ROOT } from "../../src/host/guest_build/tools.ts";
import type { NetGuest } from "../../src/host/qemu/net.ts";
export { startNetGuest } from "../../src/host/qemu/net.ts";
export type { NetGuest };

const COHESIX = join(REPO_ROOT, "cohesix");
const work = Deno.makeTempDirSync({ prefix: "cohesix-net-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));

let image: Promise<string> | undefined;
/** `cohesix image --uefi` with no other flags (the default guest from the shared cache); the out dir. */
export function netImage(): Promise<string> {
  image ??= (async () => {
    await bootBuild();
    const out = join(work, "img");
    const r = await cohesix(["image", "--uefi", "--out", out], { env: { COHESIX_GUEST_CACHE: GUEST_CACHE, NO_COLOR: "1" } });
    assertEquals(r.code, 0, `cohesix image failed:\n${r.stderr}`);
    return out;
  })();
  return image;
}

/** `cohesix qemu --image DIR --net --console-port 0 --ninep-port 0 --json [...extra]`, until it listens. */
export async function cliNetGuest(dir: string, extra: string[] = []): Promise<NetGuest & { stdout(): Promise<string> }> {
  const t0 = performance.now();
  const child = new Deno.Command(COHESIX, {
    args: ["qemu", "--image", dir, "--net", "--console-port", "0", "--ninep-port", "0", "--json", ...extra],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let serial = "";
  const errDone = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) serial += c;
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) {
      await errDone;
      throw new Error(`cohesix qemu --net ended before listening:\n${serial.slice(-1500)}`);
    }
    out += value;
  }
  const listeningMs = performance.now() - t0;
  const event = JSON.parse(out.slice(0, out.indexOf("\n")));
  assertEquals(event.event, "listening");
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return out;
      out += value;
    }
  })();
  return {
    consolePort: event.console_port,
    ninepPort: event.ninep_port,
    listeningMs,
    serial: () => serial,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await errDone;
      await rest;
      return "aborted";
    },
    stdout: () => rest,
  };
}

/** `cohesix cohsh --transport T --port P --script FILE`: the transcript, checked to have exited 0. */
export async function cohshScript(transport: "tcp" | "9p", port: number, script: string): Promise<string> {
  const r = await new Deno.Command(COHESIX, {
    args: ["cohsh", "--transport", transport, `--port=${port}`, "--timeout", "60000", "--script", script],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assertEquals(r.code, 0, `cohsh ${transport} ${script} exited ${r.code}:\n${out}\n${new TextDecoder().decode(r.stderr)}`);
  assertStringIncludes(out, "OK QUIT");
  return out;
}

/** Fails if the guest trapped or lwIP asserted (both print a report on serial). */
export function assertNoTrap(serial: string): void {
  for (const bad of ["cohesix guest trap", "root task stopped", "lwIP assertion"]) {
    if (serial.includes(bad)) throw new Error(`the guest stopped: ${serial.slice(serial.indexOf(bad) - 200, serial.indexOf(bad) + 400)}`);
  }
}
