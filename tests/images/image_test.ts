import { join } from "node:path";
import { sha256Hex } from "../../images/attest.ts";
import { readCpio } from "../../images/cpio.ts";
import { FatVolume } from "../../images/fat_read.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes, assertThrows } from "../support/assert.ts";
import { MANIFEST_FINGERPRINT } from "../../src/guest/generated/bootstrap.ts";
import { UsageError } from "../../src/host/cli/command.ts";
import { chooseSel4Export } from "../../src/host/image/defaults.ts";
import { SHARED_SEL4, sel4ExportDir } from "../../src/host/sel4/kernel_export.ts";
import { LIMITS } from "../../src/codegen/schema.ts";
import { DEFAULT_LIMIT_BYTES } from "../../src/host/image/layout.ts";
import { writeManifest } from "./manifest_fixture.ts";
import { cohesix, cohesixImage, helloRootTask, listDir, REPO, run, SEL4, tempDir } from "./support.ts";

const ALL = [
  "BOOTAA64.EFI",
  "attestation.json",
  "esp.img",
  "image-manifest.json",
  "payload.cpio",
  "rootfs.cpio",
  "sel4-image.elf",
];

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await listDir(dir)) out[name] = sha256Hex(await Deno.readFile(join(dir, name)));
  return out;
}

Deno.test("cohesix image --uefi with a manifest writes every artifact, listed with size and sha256, one progress line per stage", async (t) => {
  const dir = await tempDir(t);
  try {
    const rt = await helloRootTask();
    await Deno.mkdir(join(dir, "tests"));
    await Deno.writeTextFile(join(dir, "tests/boot.coh"), "attach queen\nlog\n");
    const manifest = await writeManifest(
      dir,
      `max_bytes = 4194304
include_manifest = true
rootfs = [{ src = "tests/boot.coh", dest = "/proc/tests/boot.coh" }]
esp = [{ src = "tests/boot.coh", dest = "/cohesix/extra/boot.coh" }]`,
    );
    const out = join(dir, "out");
    const r = await cohesixImage(rt, out, ["--manifest", manifest, "--uefi"]);
    assertEquals(r.code, 0, r.stderr);
    const progress = r.stderr.split("\n").filter((l) => l.startsWith("["));
    assertEquals(progress.map((l) => l.slice(0, 16)), [
      "[1/5] rootserver",
      "[2/5] cpio      ",
      "[3/5] link      ",
      "[4/5] esp       ",
      "[5/5] manifest  ",
    ]);
    assertEquals(await listDir(out), ALL);
    const doc = JSON.parse(await Deno.readTextFile(join(out, "image-manifest.json")));
    assertEquals(doc.version, 1);
    assertEquals(
      doc.artifacts.map((a: { name: string }) => a.name),
      ALL.filter((n) => n !== "image-manifest.json"),
    );
    for (const a of doc.artifacts) {
      const bytes = await Deno.readFile(join(out, a.name));
      assertEquals([a.size, a.sha256], [bytes.length, sha256Hex(bytes)], a.name);
    }
    // The rootfs holds the manifest's files and the resolved manifest, whose sha256 is the attested fingerprint.
    const rootfs = readCpio(await Deno.readFile(join(out, "rootfs.cpio")));
    const files = new Map(
      rootfs.filter((e) => (e.mode & 0o170000) === 0o100000).map((e) => [e.name, e.data]),
    );
    assertEquals([...files.keys()], [
      "etc/cohesix/manifest.json",
      "etc/cohesix/manifest.sha256",
      "proc/tests/boot.coh",
    ]);
    assertEquals(new TextDecoder().decode(files.get("proc/tests/boot.coh")), "attach queen\nlog\n");
    const att = JSON.parse(await Deno.readTextFile(join(out, "attestation.json")));
    assertEquals(att.manifest.fingerprint, sha256Hex(files.get("etc/cohesix/manifest.json")!));
    assertEquals([att.manifest.limit_bytes, att.manifest.limit_from], [4194304, "manifest"]);
    assertEquals(att.sel4.commit, "1326364bc9135d9445d936ebc01e38a402c1f4c6");
    assertMatch(att.builder.linker, /^aarch64-linux-gnu-gcc .*\d+\.\d+/);
    // The payload is kernel.elf, kernel.dtb, rootserver in that order, each attested.
    const payload = readCpio(await Deno.readFile(join(out, "payload.cpio")));
    assertEquals(payload.map((e) => e.name), ["kernel.elf", "kernel.dtb", "rootserver"]);
    for (const e of payload) {
      assertEquals(att.components.find((c: { name: string }) => c.name === e.name).sha256, sha256Hex(e.data));
    }
    // The ESP carries the boot loader, the attestation, the manifest and the manifest's ESP files.
    const esp = new FatVolume(await Deno.readFile(join(out, "esp.img")));
    assertEquals(esp.read("EFI/BOOT/BOOTAA64.EFI"), await Deno.readFile(join(out, "BOOTAA64.EFI")));
    assertEquals(esp.read("cohesix/attestation.json"), await Deno.readFile(join(out, "attestation.json")));
    assertEquals(esp.read("cohesix/manifest.json"), files.get("etc/cohesix/manifest.json"));
    assertEquals(new TextDecoder().decode(esp.read("cohesix/extra/boot.coh")), "attach queen\nlog\n");
    const fsck = await run("/usr/sbin/fsck.vfat", ["-n", join(out, "esp.img")]);
    assertEquals(fsck.code, 0, fsck.stdout);
    const status = await cohesix(["status", "--offline", join(out, "esp.img")]);
    assertEquals(status.code, 0, status.stdout + status.stderr);
    assertStringIncludes(status.stdout, `manifest   root_task.toml fingerprint ${att.manifest.fingerprint}`);
    assertMatch(status.stdout, /ok {3}manifest fingerprint \(esp.img\)/);
    assertMatch(status.stdout, /budget {5}payload 215040 of 4194304 bytes \(5.1%\)/);
    const baseline = await cohesix([
      "status",
      "--offline",
      out,
      "--fingerprint",
      att.manifest.fingerprint.toUpperCase(),
    ]);
    assertEquals(baseline.code, 0, baseline.stdout + baseline.stderr);
    assertMatch(baseline.stdout, /ok {3}manifest fingerprint \(baseline\)/);
    const other = "0".repeat(64);
    const wrong = await cohesix(["status", "--offline", join(out, "esp.img"), "--fingerprint", other]);
    assertEquals(wrong.code, 1, wrong.stdout);
    assertStringIncludes(
      wrong.stdout,
      `FAIL manifest fingerprint (baseline): attested ${att.manifest.fingerprint} != expected ${other}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix image is byte-reproducible across directories, umask and TZ", async (t) => {
  const dir = await tempDir(t);
  try {
    const rt = await helloRootTask();
    const builds: Record<string, string>[] = [];
    for (const [i, [umask, tz]] of [["022", "UTC"], ["077", "Pacific/Kiritimati"]].entries()) {
      const cwd = join(dir, `tree-${i}-${"x".repeat(i * 7)}`);
      await Deno.mkdir(cwd);
      const script = `umask ${umask} && exec "$0" "$@"`;
      const r = await run("sh", [
        "-c",
        script,
        join(REPO, "cohesix"),
        "image",
        "--sel4-build",
        SEL4,
        "--rootserver",
        rt,
        "--uefi",
        "--out",
        "out",
      ], {
        cwd,
        env: { TZ: tz, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root" },
      });
      assertEquals(r.code, 0, r.stderr);
      builds.push(await snapshot(join(cwd, "out")));
    }
    assertEquals(Object.keys(builds[0]), ALL);
    assertEquals(builds[1], builds[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function expectRefusal(dir: string, args: string[], message: RegExp): Promise<void> {
  const out = join(dir, "out");
  const r = await cohesix(["image", ...args, "--uefi", "--out", out]);
  assertEquals(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assertMatch(r.stderr, message);
  assertEquals(await listDir(out), [], "nothing in --out");
  assertEquals((await listDir(dir)).filter((n) => n.includes("partial")), [], "no staging leftovers");
}

Deno.test("cohesix image refuses a missing seL4 export, leaving --out empty", async (t) => {
  const dir = await tempDir(t);
  try {
    await expectRefusal(
      dir,
      ["--sel4-build", join(dir, "no-sel4"), "--rootserver", await helloRootTask()],
      /Cannot use seL4 export .*no-sel4: no such directory/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix image refuses a root task that is not an AArch64 ELF, leaving --out empty", async (t) => {
  const dir = await tempDir(t);
  try {
    await expectRefusal(
      dir,
      ["--sel4-build", SEL4, "--rootserver", "/bin/true"],
      /Cannot use \/bin\/true as the root task: it is built for x86-64, not AArch64/,
    );
    await Deno.writeTextFile(
      join(dir, "notes.txt"),
      "not an ELF at all, just text that is long enough for a header\n",
    );
    await expectRefusal(
      dir,
      ["--sel4-build", SEL4, "--rootserver", join(dir, "notes.txt")],
      /it is not an ELF file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix image refuses a payload over the manifest's image.max_bytes, keeping an earlier build intact", async (t) => {
  const dir = await tempDir(t);
  try {
    const rt = await helloRootTask();
    const out = join(dir, "out");
    const ok = await cohesixImage(rt, out);
    assertEquals(ok.code, 0, ok.stderr);
    const before = await snapshot(out);
    const manifest = await writeManifest(join(dir, "repo"), "max_bytes = 100000\ninclude_manifest = false");
    const r = await cohesixImage(rt, out, ["--manifest", manifest, "--uefi"]);
    assertEquals(r.code, 1, r.stderr);
    assertMatch(
      r.stderr,
      /elfloader payload CPIO is 215040 bytes, over the 100000-byte limit \(image.max_bytes in the manifest\)/,
    );
    assertEquals(await snapshot(out), before);
    await expectRefusal(
      join(dir, "repo"),
      ["--sel4-build", SEL4, "--rootserver", rt, "--manifest", manifest],
      /over the 100000-byte limit/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix image refuses a manifest that names a missing file, leaving --out empty", async (t) => {
  const dir = await tempDir(t);
  try {
    const manifest = await writeManifest(
      dir,
      `max_bytes = 4194304
rootfs = [{ src = "tests/missing.coh", dest = "/proc/tests/missing.coh" }]`,
    );
    await expectRefusal(dir, [
      "--sel4-build",
      SEL4,
      "--rootserver",
      await helloRootTask(),
      "--manifest",
      manifest,
    ], /lists image.rootfs\[0\].src 'tests\/missing.coh', which is not a file under/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix image reports a failing link step with the tool's message, leaving --out empty", async (t) => {
  const dir = await tempDir(t);
  try {
    const copy = join(dir, "sel4");
    const cp = await run("cp", ["-r", SEL4, copy]);
    assertEquals(cp.code, 0, cp.stderr);
    await run("chmod", ["-R", "u+w", copy]);
    const obj = join(copy, "elfloader/elf/obj/src/common.c.obj");
    await Deno.writeTextFile(obj, "not an object file\n");
    await expectRefusal(
      dir,
      ["--sel4-build", copy, "--rootserver", await helloRootTask()],
      /Cannot complete the aarch64-linux-gnu-gcc step \(exit 1\); check that the seL4 export[^]*common\.c\.obj/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix image refuses an --out that is a file or inside the seL4 export", async (t) => {
  const dir = await tempDir(t);
  try {
    await Deno.writeTextFile(join(dir, "file"), "x");
    const a = await cohesixImage(await helloRootTask(), join(dir, "file"));
    assertEquals(a.code, 1);
    assertMatch(a.stderr, /exists and is not a directory/);
    assertEquals(await Deno.readTextFile(join(dir, "file")), "x");
    const b = await cohesixImage(await helloRootTask(), join(SEL4, "out"));
    assertEquals(b.code, 1);
    assertMatch(b.stderr, /inside the seL4 export/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DEFAULT_LIMIT_BYTES is the manifest schema's image limit", () => {
  assertEquals(DEFAULT_LIMIT_BYTES, LIMITS.imageBytesMax);
});

Deno.test("chooseSel4Export takes --sel4-build, else $COHESIX_SEL4, else the Cohesix kernel from the SDK sources, else the prebuilt export, else names them all", () => {
  const none = () => undefined;
  const noSources = "/no/such/sel4";
  assertEquals(chooseSel4Export("/flag", () => "/env", SEL4), { dir: "/flag", from: "--sel4-build" });
  assertEquals(chooseSel4Export(undefined, (n) => (n === "COHESIX_SEL4" ? "/env" : undefined), SEL4), {
    dir: "/env",
    from: "$COHESIX_SEL4",
  });
  assertEquals(chooseSel4Export(undefined, none, SEL4, SHARED_SEL4), {
    dir: sel4ExportDir(SHARED_SEL4),
    from: "cohesix kernel from ../shared/sel4",
    build: true,
  });
  assertEquals(chooseSel4Export(undefined, none, SEL4, noSources), { dir: SEL4, from: "../shared/sel4/prebuilt" });
  const err = assertThrows(
    () => chooseSel4Export(undefined, none, "/no/such/prebuilt", noSources),
    /no seL4 build export/,
  );
  assert(err instanceof UsageError, "a usage error (exit 2)");
  for (const named of ["--sel4-build DIR", "$COHESIX_SEL4", "/no/such/prebuilt", noSources]) {
    assertStringIncludes(err.message, named);
  }
});

Deno.test("cohesix image with neither --manifest nor --no-manifest attests configs/root_task.toml; --no-manifest attests none", async (t) => {
  const dir = await tempDir(t);
  try {
    const rt = await helloRootTask();
    const a = await cohesix(["image", "--rootserver", rt, "--out", join(dir, "a")]);
    assertEquals(a.code, 0, a.stderr);
    const att = JSON.parse(await Deno.readTextFile(join(dir, "a", "attestation.json")));
    assertEquals([att.manifest.fingerprint, att.manifest.limit_from], [MANIFEST_FINGERPRINT, "manifest"]);
    assertStringIncludes(a.stderr, "(cohesix kernel from ../shared/sel4)");
    const b = await cohesix(["image", "--rootserver", rt, "--no-manifest", "--out", join(dir, "b")]);
    assertEquals(b.code, 0, b.stderr);
    const none = JSON.parse(await Deno.readTextFile(join(dir, "b", "attestation.json")));
    assertEquals([none.manifest.fingerprint, none.manifest.limit_from], [null, "default"]);
    const both = await cohesix([
      "image",
      "--rootserver",
      rt,
      "--no-manifest",
      "--manifest",
      "x.toml",
      "--out",
      join(dir, "c"),
    ]);
    assertEquals(both.code, 2);
    assertStringIncludes(both.stderr, "exclude each other");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix status --offline verifies an output dir and its ESP, and flags a rootserver changed on the ESP", async (t) => {
  const dir = await tempDir(t);
  try {
    const out = join(dir, "out");
    const b = await cohesixImage(await helloRootTask(), out, ["--uefi"]);
    assertEquals(b.code, 0, b.stderr);
    const good = await cohesix(["status", "--offline", out, "--json"]);
    assertEquals(good.code, 0, good.stdout + good.stderr);
    const doc = JSON.parse(good.stdout);
    assertEquals([doc.version, doc.kind, doc.ok], [1, "dir", true]);
    assert(doc.checks.length >= 20, `checks: ${doc.checks.length}`);
    // Change one byte of the rootserver inside the EFI app on the ESP (the payload is stored uncompressed).
    const esp = await Deno.readFile(join(out, "esp.img"));
    const rootserver = readCpio(await Deno.readFile(join(out, "payload.cpio")))[2].data;
    const at = indexOf(esp, rootserver.subarray(0, 64));
    assert(at > 0, "rootserver found on the ESP");
    esp[at + 100] ^= 0xff;
    await Deno.writeFile(join(dir, "tampered.img"), esp);
    const bad = await cohesix(["status", "--offline", join(dir, "tampered.img")]);
    assertEquals(bad.code, 1, bad.stdout);
    assertMatch(bad.stdout, /FAIL rootserver \(payload in tampered.img:BOOTAA64.EFI\)/);
    assertMatch(bad.stdout, /FAIL BOOTAA64.EFI \(tampered.img\)/);
    assertMatch(bad.stdout, /ok {3}kernel.elf \(payload in tampered.img:BOOTAA64.EFI\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (
    let i = hay.indexOf(needle[0]);
    i >= 0 && i + needle.length <= hay.length;
    i = hay.indexOf(needle[0], i + 1)
  ) {
    for (let k = 1; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("cohesix status --offline refuses an image without its attestation and a file that is no image", async (t) => {
  const dir = await tempDir(t);
  try {
    const out = join(dir, "out");
    const b = await cohesixImage(await helloRootTask(), out);
    assertEquals(b.code, 0, b.stderr);
    const ok = await cohesix(["status", "--offline", join(out, "sel4-image.elf")]);
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
    assertMatch(ok.stdout, /seL4 {7}16\.0\.0-dev \(kernel 1326364bc9135d9445d936ebc01e38a402c1f4c6/);
    await Deno.copyFile(join(out, "sel4-image.elf"), join(dir, "lonely.elf"));
    const lonely = await cohesix(["status", "--offline", join(dir, "lonely.elf")]);
    assertEquals(lonely.code, 1);
    assertMatch(lonely.stderr, /no attestation.json beside it/);
    const text = await cohesix(["status", "--offline", join(out, "attestation.json")]);
    assertEquals(text.code, 1);
    assertMatch(text.stderr, /not an image directory, ESP, ELF image or EFI application/);
    const usage = await cohesix(["status", join(out)]);
    assertEquals(usage.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
