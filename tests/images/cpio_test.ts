import fc from "fast-check";
import { join } from "node:path";
import {
  CpioError,
  type CpioRecord,
  dirRecord,
  fileRecord,
  makeReproducible,
  readCpio,
  writeCpio,
} from "../../images/cpio.ts";
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { run, tempDir } from "./support.ts";

const enc = new TextEncoder();

function sample(): CpioRecord[] {
  return [
    fileRecord("kernel.elf", enc.encode("\x7fELF kernel bytes of odd length"), 0o755),
    fileRecord("kernel.dtb", new Uint8Array(7549).map((_, i) => (i * 31) % 251), 0o644),
    fileRecord("rootserver", new Uint8Array(1001).fill(0xaa), 0o755),
  ];
}

Deno.test("writeCpio matches GNU cpio --reproducible member-by-member append byte for byte", async (t) => {
  const dir = await tempDir(t);
  try {
    const records = sample();
    for (const r of records) {
      await Deno.writeFile(join(dir, r.name), r.data);
      await Deno.chmod(join(dir, r.name), r.perm);
      await run("touch", ["-d", "1970-01-01T00:00:00Z", join(dir, r.name)]);
    }
    // seL4's recipe: create an empty archive, then one --append per member.
    assertEquals(
      (await run("cpio", ["--reproducible", "--quiet", "--create", "-H", "newc", "--file=gnu.cpio"], {
        cwd: dir,
      })).code,
      0,
    );
    for (const r of records) {
      const res = await run("cpio", [
        "--append",
        "--reproducible",
        "--owner=+0:+0",
        "--quiet",
        "-o",
        "-H",
        "newc",
        "--file=gnu.cpio",
      ], {
        cwd: dir,
        stdin: enc.encode(r.name + "\n"),
      });
      assertEquals(res.code, 0, res.stderr);
    }
    const gnu = await Deno.readFile(join(dir, "gnu.cpio"));
    assertEquals(writeCpio(records, { inodes: "zero" }), gnu);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeCpio of a makeReproducible tree matches one GNU cpio --reproducible run over the sorted tree", async (t) => {
  const dir = await tempDir(t);
  try {
    const files = [
      fileRecord("proc/tests/boot_v0.coh", enc.encode("attach queen\n")),
      fileRecord("proc/tests/z.coh", new Uint8Array(513).fill(7)),
      fileRecord("etc/cohesix/manifest.json", enc.encode("{}\n")),
      fileRecord("top", new Uint8Array(0)),
    ];
    const records = makeReproducible(files);
    const tree = join(dir, "tree");
    for (const r of records) {
      const path = join(tree, r.name);
      if (r.kind === "dir") await Deno.mkdir(path, { recursive: true });
      else await Deno.writeFile(path, r.data);
      await Deno.chmod(path, r.perm);
    }
    for (const r of [...records].reverse()) {
      await run("touch", ["-d", "1970-01-01T00:00:00Z", join(tree, r.name)]);
    }
    const res = await run("cpio", [
      "-o",
      "--reproducible",
      "--owner=+0:+0",
      "--quiet",
      "-H",
      "newc",
      "--file",
      join(dir, "gnu.cpio"),
    ], {
      cwd: tree,
      stdin: enc.encode(records.map((r) => r.name).join("\n") + "\n"),
    });
    assertEquals(res.code, 0, res.stderr);
    assertEquals(writeCpio(records), await Deno.readFile(join(dir, "gnu.cpio")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeCpio archives are listed exactly by GNU cpio -t and bsdtar -tv and extract byte-exact", async (t) => {
  const dir = await tempDir(t);
  try {
    const records = makeReproducible([
      fileRecord("proc/tests/boot_v0.coh", enc.encode("attach queen\nlog\n")),
      fileRecord("etc/cohesix/manifest.json", enc.encode('{"format":1}\n'), 0o444),
      fileRecord("empty", new Uint8Array(0)),
    ]);
    await Deno.writeFile(join(dir, "a.cpio"), writeCpio(records));
    const names = records.map((r) => r.name);
    const gnu = await run("cpio", ["-t", "--quiet", "-F", "a.cpio"], { cwd: dir });
    assertEquals(gnu.code, 0, gnu.stderr);
    assertEquals(gnu.stdout.trim().split("\n"), names);
    const bsd = await run("bsdtar", ["-tvf", "a.cpio"], { cwd: dir });
    assertEquals(bsd.code, 0, bsd.stderr);
    const rows = bsd.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/));
    // bsdtar -tv: mode links uid gid size month day year name
    assertEquals(rows.map((r) => r[r.length - 1]), names);
    assertEquals(
      rows.map((r) => r[0]),
      records.map((r) => (r.kind === "dir" ? "drwxr-xr-x" : r.perm === 0o444 ? "-r--r--r--" : "-rw-r--r--")),
    );
    assertEquals(rows.map((r) => Number(r[4])), records.map((r) => r.data.length));
    assert(rows.every((r) => r[2] === "0" && r[3] === "0"), "uid/gid 0");
    assert(rows.every((r) => r[7] === "1970"), "mtime 0");
    const x = join(dir, "x");
    await Deno.mkdir(x);
    const ex = await run("cpio", ["-i", "-d", "--quiet", "-F", join(dir, "a.cpio")], { cwd: x });
    assertEquals(ex.code, 0, ex.stderr);
    for (const r of records.filter((r) => r.kind === "file")) {
      assertEquals(await Deno.readFile(join(x, r.name)), r.data);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readCpio returns exactly the records writeCpio was given, for any names and contents", () => {
  const name = fc.stringMatching(/^[a-z0-9_.-]{1,12}(\/[a-z0-9_-]{1,12}){0,2}$/).filter((n) =>
    !n.split("/").some((p) => p === "." || p === "..")
  );
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.record({ name, data: fc.uint8Array({ maxLength: 300 }) }), {
        selector: (r) => r.name,
        maxLength: 8,
      }),
      (items) => {
        const records = items.map((i) => fileRecord(i.name, i.data));
        const bytes = writeCpio(records);
        assertEquals(bytes.length % 512, 0);
        const back = readCpio(bytes);
        assertEquals(
          back.map((e) => e.name),
          records.map((r) => r.name),
        );
        assertEquals(back.map((e) => [...e.data]), records.map((r) => [...r.data]));
        assertEquals(back.map((e) => e.mode), records.map(() => 0o100644));
      },
    ),
  );
});

Deno.test("readCpio rejects a truncated archive naming the offset", () => {
  const bytes = writeCpio(sample());
  assertThrows(() => readCpio(bytes.subarray(0, 200)), /runs past the end|truncated/);
  const bad = bytes.slice();
  bad[0] = 0x31;
  assertThrows(() => readCpio(bad), /no newc magic at offset 0/);
});

Deno.test("makeReproducible sorts by name and adds each parent directory once", () => {
  const out = makeReproducible([
    fileRecord("b/x", enc.encode("1")),
    fileRecord("a", enc.encode("2")),
    fileRecord("b/c/y", enc.encode("3")),
  ]);
  assertEquals(out.map((r) => `${r.kind}:${r.name}`), [
    "file:a",
    "dir:b",
    "dir:b/c",
    "file:b/c/y",
    "file:b/x",
  ]);
  assertEquals(
    writeCpio(out),
    writeCpio(makeReproducible([...out].reverse().filter((r) => r.kind === "file"))),
  );
});

Deno.test("writeCpio refuses unsafe names and duplicates", () => {
  assertThrows(() => writeCpio([fileRecord("/etc/passwd", new Uint8Array(1))]), /relative paths/);
  assertThrows(() => writeCpio([fileRecord("a/../b", new Uint8Array(1))]), /relative paths/);
  assertThrows(() => writeCpio([fileRecord("TRAILER!!!", new Uint8Array(1))]), /end of an archive/);
  assertThrows(
    () => makeReproducible([fileRecord("a", new Uint8Array(1)), fileRecord("a", new Uint8Array(2))]),
    /appears twice/,
  );
  assertThrows(
    () => makeReproducible([fileRecord("a", new Uint8Array(1)), fileRecord("a/b", new Uint8Array(2))]),
    /parent 'a' is a file/,
  );
  assertThrows(() => writeCpio([{ ...dirRecord("d"), data: new Uint8Array(1) }]), /with content/);
});

Deno.test("readCpio on mutated or truncated archives returns entries or throws CpioError, never anything else", () => {
  const base = writeCpio(makeReproducible([
    fileRecord("proc/tests/a.coh", enc.encode("attach queen\n")),
    fileRecord("etc/cohesix/manifest.json", new Uint8Array(700).fill(0x7b)),
  ]));
  fc.assert(
    fc.property(
      fc.array(fc.record({ at: fc.nat(base.length - 1), value: fc.integer({ min: 0, max: 255 }) }), {
        maxLength: 16,
      }),
      fc.nat(base.length),
      (edits, cut) => {
        const bytes = base.slice(0, Math.max(cut, 1));
        for (const e of edits) if (e.at < bytes.length) bytes[e.at] = e.value;
        try {
          const entries = readCpio(bytes);
          for (const e of entries) {
            assert(
              e.offset + 110 + e.data.length <= bytes.length,
              "entry within the input",
            );
          }
        } catch (err) {
          assert(err instanceof CpioError, `unexpected ${(err as Error).name}: ${(err as Error).message}`);
        }
      },
    ),
    { numRuns: 500 },
  );
});
