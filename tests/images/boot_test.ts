import { join } from "node:path";
import { FatVolume } from "../../images/fat_read.ts";
import { chooseAccel, qemuArgv } from "../../src/host/qemu/launcher.ts";
import { bootQemu, bootSpec } from "../../src/host/qemu/run.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes, assertThrows } from "../support/assert.ts";
import { cohesix, cohesixImage, HELLO_LINE, helloRootTask, REPO, tempDir } from "./support.ts";

let built: Promise<string> | undefined;
let builtDir: string | undefined;

/** One `cohesix image --uefi` build shared by the boot tests of this file. */
function image(): Promise<string> {
  built ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "cohesix-boot-" });
    const r = await cohesixImage(await helloRootTask(), dir, ["--uefi"]);
    if (r.code !== 0) {
      await Deno.remove(dir, { recursive: true });
      throw new Error(`cohesix image failed: ${r.stderr}`);
    }
    builtDir = dir;
    return dir;
  })();
  return built;
}

/** QEMU processes of this file's image still alive (zombies excluded), as "pid state" strings. */
async function qemuList(): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    const argv0 = cmd.split("\0")[0];
    if (
      (argv0 === "qemu-system-aarch64" || argv0.endsWith("/qemu-system-aarch64")) &&
      cmd.includes(builtDir ?? "\0")
    ) {
      const stat = await Deno.readTextFile(`/proc/${e.name}/stat`).catch(() => "");
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      found.push(`pid ${e.name} state ${state[0]} ppid ${state[1]}`);
    }
  }
  return found;
}

async function qemuProcesses(): Promise<number> {
  return (await qemuList()).length;
}

Deno.test("cohesix qemu boots the ELF image until the root task's line is on serial, then stops QEMU", async () => {
  const out = await image();
  const r = await cohesix(["qemu", "--image", out, "--expect", HELLO_LINE, "--timeout", "60"]);
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "Booting all finished, dropped to user space");
  assertStringIncludes(r.stdout, HELLO_LINE);
  assertMatch(r.stderr, /-machine virt -cpu cortex-a53 -smp 1 -m 1024 -accel tcg .*-kernel .*sel4-image.elf/);
  assertEquals(await qemuList(), [], "QEMU is gone");
});

Deno.test("cohesix qemu --uefi boots the ESP through AAVMF firmware until the root task's line is on serial", async () => {
  const out = await image();
  const r = await cohesix([
    "qemu",
    "--image",
    out,
    "--uefi",
    "--expect",
    HELLO_LINE,
    "--timeout",
    "90",
    "--json",
  ]);
  assertEquals(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assertEquals([doc.version, doc.outcome], [1, "expected"]);
  assertStringIncludes(doc.last_lines.join("\n"), HELLO_LINE);
  assertMatch(
    r.stderr,
    /-bios \/usr\/share\/qemu-efi-aarch64\/QEMU_EFI.fd -drive file=.*esp.img,format=raw,if=virtio,snapshot=on/,
  );
  assertEquals(await qemuList(), [], "QEMU is gone");
});

Deno.test("cohesix image --esp-fat 32 writes a FAT32 ESP that status verifies and UEFI boots to the root task's line", async (t) => {
  const dir = await tempDir(t);
  try {
    const out = join(dir, "out");
    const b = await cohesixImage(await helloRootTask(), out, ["--uefi", "--esp-fat", "32"]);
    assertEquals(b.code, 0, b.stderr);
    assertEquals(new FatVolume(await Deno.readFile(join(out, "esp.img"))).type, 32);
    const s = await cohesix(["status", "--offline", join(out, "esp.img")]);
    assertEquals(s.code, 0, s.stdout + s.stderr);
    const r = await cohesix([
      "qemu",
      "--image",
      out,
      "--uefi",
      "--expect",
      HELLO_LINE,
      "--timeout",
      "90",
      "--quiet",
    ]);
    assertEquals(r.code, 0, r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix qemu exits 1 with the last serial lines when the text never appears", async () => {
  const out = await image();
  const r = await cohesix([
    "qemu",
    "--image",
    out,
    "--expect",
    "this text is never printed",
    "--timeout",
    "4",
    "--quiet",
  ]);
  assertEquals(r.code, 1, r.stderr);
  assertMatch(r.stderr, /'this text is never printed' not seen within 4 s; last serial lines:/);
  assertMatch(r.stderr, /\| cohesix root task up/);
  assertEquals(await qemuList(), [], "QEMU is gone");
});

Deno.test("bootQemu with a TCP serial port serves the console to a client and stops QEMU when aborted", async () => {
  const out = await image();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const stop = new AbortController();
  const booting = bootQemu({
    image: join(out, "sel4-image.elf"),
    timeoutMs: 60_000,
    tcpPort: port,
    signal: stop.signal,
  });
  let conn: Deno.TcpConn | undefined;
  for (let i = 0; i < 100 && !conn; i++) {
    conn = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
    if (!conn) await new Promise((r) => setTimeout(r, 100));
  }
  assert(conn, "connected to QEMU's serial port");
  let text = "";
  const buf = new Uint8Array(4096);
  while (!text.includes(HELLO_LINE)) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  assertStringIncludes(text, HELLO_LINE);
  conn.close();
  stop.abort();
  const result = await booting;
  assertEquals(result.outcome, "aborted");
  assertEquals(await qemuList(), [], "QEMU is gone");
});

Deno.test("cohesix qemu refuses a file that is not an image and a directory without one", async (t) => {
  const dir = await tempDir(t);
  try {
    await Deno.writeTextFile(join(dir, "notes.txt"), "hello");
    const a = await cohesix(["qemu", "--image", join(dir, "notes.txt")]);
    assertEquals(a.code, 1);
    assertStringIncludes(a.stderr, "not an ELF image, an EFI application or a FAT ESP");
    const b = await cohesix(["qemu", "--image", dir, "--uefi"]);
    assertEquals(b.code, 2);
    assertStringIncludes(b.stderr, "has no esp.img");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

globalThis.addEventListener("unload", () => {
  if (builtDir) Deno.removeSync(builtDir, { recursive: true });
});

Deno.test("bootSpec boots an EFI application from a temporary ESP holding it as EFI/BOOT/BOOTAA64.EFI", async (t) => {
  const out = await image();
  const scratch = await tempDir(t);
  try {
    const spec = await bootSpec(
      join(out, "BOOTAA64.EFI"),
      "efi-app",
      scratch,
      "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
      { kind: "stdio" },
    );
    const args = qemuArgv(spec);
    assertEquals(args.slice(0, 9), [
      "-nodefaults",
      "-machine",
      "virt",
      "-cpu",
      "cortex-a53",
      "-smp",
      "1",
      "-m",
      "1024",
    ]);
    assertEquals(args[args.indexOf("-drive") + 1], `file=${join(scratch, "esp.img")},format=raw,if=virtio`);
    const esp = new FatVolume(await Deno.readFile(join(scratch, "esp.img")));
    assertEquals(esp.read("EFI/BOOT/BOOTAA64.EFI"), await Deno.readFile(join(out, "BOOTAA64.EFI")));
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
});

Deno.test("chooseAccel picks tcg on foreign hosts, kvm/hvf on AArch64 hosts that have them, and honours the override", () => {
  assertEquals(chooseAccel({ os: "linux", arch: "x86_64", kvm: true }), "tcg");
  assertEquals(chooseAccel({ os: "linux", arch: "aarch64", kvm: true }), "kvm");
  assertEquals(chooseAccel({ os: "linux", arch: "aarch64", kvm: false }), "tcg");
  assertEquals(chooseAccel({ os: "darwin", arch: "aarch64", kvm: false }), "hvf");
  assertEquals(chooseAccel({ os: "linux", arch: "aarch64", kvm: true, override: "tcg" }), "tcg");
  assertThrows(
    () => chooseAccel({ os: "linux", arch: "x86_64", kvm: false, override: "whpx" }),
    /use tcg, kvm or hvf/,
  );
});

Deno.test("cohesix qemu stops its QEMU when it is sent SIGTERM", async () => {
  const out = await image();
  const child = new Deno.Command(join(REPO, "cohesix"), {
    args: ["qemu", "--image", out, "--expect", "never printed", "--timeout", "60", "--quiet"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let status: Deno.CommandOutput | undefined;
  try {
    for (let i = 0; i < 100 && (await qemuProcesses()) === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(await qemuProcesses(), 1, "QEMU started");
    child.kill("SIGTERM");
    status = await child.output();
    assertEquals(status.code, 130, new TextDecoder().decode(status.stderr));
    assertStringIncludes(new TextDecoder().decode(status.stderr), "interrupted; QEMU stopped");
    assertEquals(await qemuList(), [], "QEMU is gone");
  } finally {
    if (!status) {
      child.kill("SIGKILL");
      await child.output();
    }
  }
});
