/**
 * Boots with QEMU's ROM search path holding nothing: a copy of qemu-system-aarch64 in a fresh
 * prefix (QEMU looks for its data directories relative to its own binary, so `-L EMPTY` alone would
 * still search /usr/share/qemu) and `-L EMPTY`. No optional ROM can be found, so a boot that needs one
 * fails here, on every machine, not only on one without `ipxe-qemu`. The UEFI firmware is named by
 * absolute path, as the launcher always does.
 */
import { join } from "node:path";
import { DEFAULT_FIRMWARE, QEMU_SYSTEM, QemuProcess } from "../../src/host/qemu/launcher.ts";
import { bootQemu } from "../../src/host/qemu/run.ts";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { cohesixImage, HELLO_LINE, helloRootTask } from "./support.ts";

interface Hermetic {
  binary: string;
  empty: string;
  dir: string;
}

let rig: Promise<Hermetic> | undefined;
let rigDir: string | undefined;

/** A prefix with a copy of the QEMU binary and an empty ROM directory, plus a `cohesix image --uefi` build. */
function hermetic(): Promise<Hermetic> {
  rig ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "cohesix-norom-" });
    rigDir = dir;
    const which = await new Deno.Command("sh", { args: ["-c", `command -v ${QEMU_SYSTEM}`], stdout: "piped" })
      .output();
    const system = new TextDecoder().decode(which.stdout).trim();
    assert(system !== "", `${QEMU_SYSTEM} is on PATH`);
    await Deno.mkdir(join(dir, "prefix", "bin"), { recursive: true });
    await Deno.mkdir(join(dir, "empty"));
    const binary = join(dir, "prefix", "bin", QEMU_SYSTEM);
    await Deno.copyFile(await Deno.realPath(system), binary);
    await Deno.chmod(binary, 0o755);
    const img = await cohesixImage(await helloRootTask(), join(dir, "img"), ["--uefi"]);
    assertEquals(img.code, 0, img.stderr);
    return { binary, empty: join(dir, "empty"), dir };
  })();
  return rig;
}

globalThis.addEventListener("unload", () => {
  if (rigDir) Deno.removeSync(rigDir, { recursive: true });
});

Deno.test("the relocated QEMU searches only directories that hold no ROM", async () => {
  const h = await hermetic();
  const out = await new Deno.Command(h.binary, { args: ["-L", h.empty, "-L", "help"], stdout: "piped" })
    .output();
  const dirs = new TextDecoder().decode(out.stdout).trim().split("\n");
  assertEquals(dirs[0], h.empty);
  for (const d of dirs) {
    const names = [];
    try {
      for await (const e of Deno.readDir(d)) names.push(e.name);
    } catch { /* missing: nothing to find */ }
    assertEquals(names, [], `${d} is empty or missing`);
  }
});

Deno.test("the relocated QEMU refuses a PCI NIC for want of its option ROM (the rig catches ROM dependencies)", async () => {
  const h = await hermetic();
  const out = await new Deno.Command(h.binary, {
    args: [
      "-nodefaults",
      "-machine",
      "virt",
      "-display",
      "none",
      "-S",
      "-L",
      h.empty,
      "-nic",
      "user,model=virtio-net-pci",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 1);
  assertStringIncludes(new TextDecoder().decode(out.stderr), "failed to find romfile");
});

Deno.test("the ELF image boots to the root task's line with no ROM on the search path", async () => {
  const h = await hermetic();
  const r = await bootQemu({
    image: join(h.dir, "img", "sel4-image.elf"),
    expect: HELLO_LINE,
    timeoutMs: 120_000,
    binary: h.binary,
    romDir: h.empty,
  });
  assertEquals(r.outcome, "expected", `${r.serial.slice(-800)}\n${r.diagnostics}`);
  assert(r.argv.includes("-nodefaults"));
});

Deno.test("the ESP boots through UEFI (firmware by absolute path) to the root task's line with no ROM on the search path", async () => {
  const h = await hermetic();
  const r = await bootQemu({
    image: join(h.dir, "img", "esp.img"),
    expect: HELLO_LINE,
    timeoutMs: 300_000,
    firmware: DEFAULT_FIRMWARE,
    binary: h.binary,
    romDir: h.empty,
  });
  assertEquals(r.outcome, "expected", `${r.serial.slice(-800)}\n${r.diagnostics}`);
  assertEquals(r.argv[r.argv.indexOf("-bios") + 1], DEFAULT_FIRMWARE);
});

Deno.test("QemuProcess keeps QEMU's own messages out of the serial stream", async () => {
  const h = await hermetic();
  const q = QemuProcess.start({
    boot: { kind: "elf", image: join(h.dir, "img", "sel4-image.elf") },
    serial: { kind: "stdio" },
    romDir: h.empty,
  }, { binary: h.binary });
  let serial = "";
  const dec = new TextDecoder();
  for await (const chunk of q.stdout) {
    serial += dec.decode(chunk, { stream: true });
    if (serial.includes(HELLO_LINE)) break;
  }
  await q.stop();
  assertStringIncludes(serial, HELLO_LINE);
  assertStringIncludes(q.diagnostics(), "terminating on signal 15");
  assert(!serial.includes("terminating on signal"), "QEMU's stderr never reaches the serial stream");
});
