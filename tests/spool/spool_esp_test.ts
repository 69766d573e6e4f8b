/**
 * Spool stores on a FAT ESP (25b): the empty stores `cohesix image --uefi` lays out, appends through the
 * real mtools, bounds refusals that leave the image byte-identical, a writer SIGKILLed mid-append, and
 * `cohesix status --offline ESP` listing the stores. fsck.vfat -n after every kind of write.
 */
import { join } from "node:path";
import { sha256Hex } from "../../images/attest.ts";
import { writeFat } from "../../images/fat.ts";
import { FatVolume } from "../../images/fat_read.ts";
import { spoolLayoutFiles, spoolReserveBytes } from "../../src/host/spool/layout.ts";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { cohesix, cohesixImage, HELLO_LINE, helloRootTask, run } from "../images/support.ts";

const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: "1" };
const TELEMETRY = "cohesix/SPOOL/TELEMTRY";

let built: Promise<string> | undefined;
let builtDir: string | undefined;
globalThis.addEventListener("unload", () => {
  if (builtDir) Deno.removeSync(builtDir, { recursive: true });
});

/** A fresh ESP from the real `cohesix image --uefi` path (built once per file), copied for each test. */
async function freshEsp(dir: string): Promise<string> {
  built ??= (async () => {
    builtDir = await Deno.makeTempDir({ prefix: "cohesix-spool-image-" });
    const r = await cohesixImage(await helloRootTask(), join(builtDir, "out"), ["--uefi"]);
    assertEquals(r.code, 0, r.stderr);
    return join(builtDir, "out", "esp.img");
  })();
  const img = join(dir, "esp.img");
  await Deno.copyFile(await built, img);
  return img;
}

async function fsckClean(img: string): Promise<void> {
  const r = await run("/usr/sbin/fsck.vfat", ["-n", img]);
  assertEquals(r.code, 0, r.stdout + r.stderr);
  assert(!/differ|invalid|bad|corrupt|lost|free cluster summary wrong/i.test(r.stdout), r.stdout);
}

async function hashOf(img: string): Promise<string> {
  return sha256Hex(await Deno.readFile(img));
}

function names(img: string, dir: string): string[] {
  return new FatVolume(Deno.readFileSync(img)).list(dir).map((e) => e.path.slice(dir.length + 1)).sort();
}

async function spool(args: string[], stdin?: Uint8Array) {
  return stdin
    ? await run(join(new URL("../../", import.meta.url).pathname, "cohesix"), ["spool", ...args], { stdin })
    : await cohesix(["spool", ...args]);
}

Deno.test("spool on the ESP: a fresh image carries empty stores; appends via mtools read back; 8.3 names; fsck clean; status lists them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = await freshEsp(dir);
    assertEquals(names(img, "cohesix/SPOOL"), ["SETTINGS", "TELEMTRY"]);
    assertEquals(names(img, TELEMETRY), ["SPOOL.CFG"]);
    const before = await cohesix(["status", "--offline", img]);
    assertEquals(before.code, 0, before.stderr);
    assertMatch(before.stdout, /result {5}7 checks, all ok/);
    assertMatch(
      before.stdout,
      /\nspool {6}telemetry at .*esp\.img:\/cohesix\/SPOOL\/TELEMTRY: 0\/256 records, 0\/262144 bytes \(empty\), torn 0/,
    );

    const a = await spool(["append", "--esp", img, "--kind", "telemetry", "--text", "cpu=41"]);
    assertEquals(a.code, 0, a.stderr);
    assertMatch(a.stdout, /^appended seq 1 to telemetry at .*: 1\/256 records, 6\/262144 bytes\n$/);
    const bin = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff); // binary, from stdin
    const b = await spool(["append", "--esp", img, "--kind", "telemetry"], bin);
    assertEquals(b.code, 0, b.stderr);
    const c = await spool([
      "append",
      "--esp",
      `${img}:/cohesix/SPOOL/SETTINGS`,
      "--kind",
      "settings",
      "--text",
      "hostname=edge-7",
    ]);
    assertEquals(c.code, 0, c.stderr);
    const wrong = await spool([
      "append",
      "--esp",
      `${img}:/cohesix/SPOOL/SETTINGS`,
      "--kind",
      "telemetry",
      "--text",
      "x",
    ]);
    assertEquals(wrong.code, 1);
    assertMatch(wrong.stderr, /holds the 'settings' store, not 'telemetry'/);

    // Short names only: no VFAT long-name entries, so a driver without LFN support reads the store.
    assertEquals(names(img, TELEMETRY), ["00000001.REC", "00000002.REC", "SPOOL.CFG"]);
    const raw = await run("mdir", ["-b", "-i", img, `::/${TELEMETRY}`], { env: MTOOLS_ENV });
    assertEquals(raw.stdout.trim().split("\n").map((l) => l.split("/").pop()).sort(), [
      "00000001.REC",
      "00000002.REC",
      "SPOOL.CFG",
    ]);
    await fsckClean(img);

    const list = await spool(["list", "--esp", img, "--kind", "telemetry", "--json"]);
    assertEquals(list.code, 0, list.stderr);
    const doc = JSON.parse(list.stdout);
    assertEquals(doc.records.map((r: { seq: number; bytes: number }) => [r.seq, r.bytes]), [[1, 6], [
      2,
      3000,
    ]]);
    assertEquals(atob(doc.records[0].payload), "cpu=41");
    assertEquals(Uint8Array.from(atob(doc.records[1].payload), (ch) => ch.charCodeAt(0)), bin);
    assertEquals(doc.torn, 0);

    // The attestation checks ignore the (mutable) spool: still all ok after appends.
    const after = await cohesix(["status", "--offline", img, "--json"]);
    assertEquals(after.code, 0, after.stderr);
    const st = JSON.parse(after.stdout);
    assertEquals(st.ok, true);
    assertEquals(
      st.spools.map((
        s: { name: string; records: number; bytes: number; torn: number },
      ) => [s.name, s.records, s.bytes, s.torn]),
      [["settings", 1, 15, 0], ["telemetry", 2, 3006, 0]],
    );

    const drop = await spool(["drop", "--esp", img, "--kind", "telemetry", "--through", "1"]);
    assertEquals(drop.code, 0, drop.stderr);
    assertMatch(drop.stdout, /^dropped 1 record\(s\), 6 bytes, through seq 1/);
    assertEquals(names(img, TELEMETRY), ["00000002.REC", "SPOOL.CFG"]);
    await fsckClean(img);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool on the ESP: every bounds refusal fails with the reason and leaves the image byte-identical", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = await freshEsp(dir);
    const init = await spool([
      "init",
      "--esp",
      `${img}:/cohesix/SPOOL/TINY`,
      "--kind",
      "settings",
      "--max-records",
      "2",
      "--max-bytes",
      "10",
      "--max-record-bytes",
      "8",
    ]);
    assertEquals(init.code, 0, init.stderr);
    const tiny = ["--esp", `${img}:/cohesix/SPOOL/TINY`];
    assertEquals((await spool(["append", ...tiny, "--text", "123456"])).code, 0);
    const hash = await hashOf(img);
    const refusals: [string[], Uint8Array | undefined, RegExp][] = [
      [["append", ...tiny, "--text", "123456789"], undefined, /record of 9 bytes exceeds maxRecordBytes 8/],
      [["append", ...tiny, "--text", "12345"], undefined, /full \(1\/2 records, 6\/10 bytes\)/],
      [["append", ...tiny], new Uint8Array(9), /exceeds maxRecordBytes 8; nothing stored/],
      [["append", ...tiny, "--bytes", "9"], new Uint8Array(9), /record of 9 bytes exceeds maxRecordBytes 8/],
      [
        ["append", "--esp", img, "--kind", "settings", "--text", "x".repeat(4097)],
        undefined,
        /exceeds maxRecordBytes 4096/,
      ],
      [["init", ...tiny, "--kind", "settings"], undefined, /already holds a spool store/],
    ];
    for (const [args, stdin, reason] of refusals) {
      const r = await spool(args, stdin);
      assertEquals(r.code, 1, args.join(" "));
      assertMatch(r.stderr, reason);
      assertEquals(await hashOf(img), hash, `${args.join(" ")} left the image unchanged`);
    }
    const usage = await spool(["append", "--esp", img, "--text", "x"]);
    assertEquals(usage.code, 2);
    assertMatch(usage.stderr, /--esp IMG needs --kind/);
    assertEquals(await hashOf(img), hash);

    // A streamed payload shorter than declared: the pending file was put down, then removed again.
    const short = await spool(["append", ...tiny, "--bytes", "4"], new Uint8Array(2));
    assertEquals(short.code, 1);
    assertMatch(short.stderr, /payload ended after 2 of 4 bytes; nothing stored/);
    assertEquals(names(img, "cohesix/SPOOL/TINY"), ["00000001.REC", "SPOOL.CFG"]);
    await fsckClean(img);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool on the ESP: a writer SIGKILLed mid-append — every completed record reads back, the torn one is dropped and counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = await freshEsp(dir);
    const payloads = [1, 2, 3, 4, 5].map((i) => `reading ${i} `.repeat(100 * i));
    for (const p of payloads) {
      assertEquals((await spool(["append", "--esp", img, "--kind", "telemetry", "--text", p])).code, 0);
    }

    const writer = new Deno.Command(join(new URL("../../", import.meta.url).pathname, "cohesix"), {
      args: ["spool", "append", "--esp", img, "--kind", "telemetry", "--bytes", "12000"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const input = writer.stdin.getWriter();
    await input.write(new Uint8Array(6000).fill(0x41)); // half the payload; the rest never comes
    // The event: the writer says its pending record is on the image (then it waits on our pipe).
    const err = writer.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    while (!said.includes("\n")) {
      const { value, done } = await err.read();
      if (done) throw new Error(`writer exited before its record was pending: ${said}`);
      said += value;
    }
    assertMatch(said, /^spool: record 6 pending as 00000006\.NEW; reading 12000 bytes from stdin\n/);
    assert(
      names(img, TELEMETRY).includes("00000006.NEW"),
      "the pending record is on the image before the kill",
    );
    writer.kill("SIGKILL");
    const status = await writer.status;
    assertEquals(status.signal, "SIGKILL");
    await err.cancel();
    await input.close().catch(() => {});
    await writer.stdout.cancel();
    await fsckClean(img); // the FAT stays consistent: the torn record is a whole (short) file

    // status --offline and list read without repairing: both report the torn record.
    const st = await cohesix(["status", "--offline", img]);
    assertEquals(st.code, 0, st.stderr);
    const total = payloads.reduce((n, p) => n + p.length, 0);
    assertMatch(
      st.stdout,
      new RegExp(
        `spool {6}telemetry at .*: 5/256 records, ${total}/262144 bytes \\(seq 1\\.\\.5\\), torn 1 \\(dropped at the next open\\)`,
      ),
    );
    const list = JSON.parse((await spool(["list", "--esp", img, "--kind", "telemetry", "--json"])).stdout);
    assertEquals(list.torn, 1);
    assertEquals(list.records.map((r: { payload: string }) => atob(r.payload)), payloads);

    // Reopen (as a boot does): the torn record is dropped and counted; the next append takes seq 6.
    const again = await spool(["append", "--esp", img, "--kind", "telemetry", "--text", "after reboot"]);
    assertEquals(again.code, 0, again.stderr);
    assertMatch(
      again.stdout,
      /^appended seq 6 .*: 6\/256 records, .*\(dropped 1 torn record a crash left\)\n$/,
    );
    assert(!names(img, TELEMETRY).includes("00000006.NEW"));
    const back = JSON.parse((await spool(["list", "--esp", img, "--kind", "telemetry", "--json"])).stdout);
    assertEquals(back.records.map((r: { payload: string }) => atob(r.payload)), [
      ...payloads,
      "after reboot",
    ]);
    assertEquals(back.torn, 0);
    await fsckClean(img);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool on the ESP: a fresh image leaves room for full default stores", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = await freshEsp(dir);
    const vol = new FatVolume(await Deno.readFile(img));
    const info = await run("mdir", ["-i", img, "::/"], { env: MTOOLS_ENV });
    const free = Number(/([\d ]+) bytes free/.exec(info.stdout)![1].replace(/ /g, ""));
    const reserve = spoolReserveBytes(vol.bytesPerSector * vol.sectorsPerCluster);
    assert(free >= reserve, `${free} bytes free on a fresh ESP, the full default stores need ${reserve}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const fat of [16, 32] as const) {
  Deno.test(`spool on a FAT${fat} ESP: a record torn inside its clusters fails its checksum, is counted by list and dropped on open`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const img = join(dir, "esp.img");
      await Deno.writeFile(img, writeFat(spoolLayoutFiles("cohesix/SPOOL"), { fat }));
      const at = ["--esp", img, "--kind", "settings"];
      for (const t of ["alpha=1", "bravo=2", "charlie=3"]) {
        assertEquals((await spool(["append", ...at, "--text", t])).code, 0);
      }
      // Flip one payload byte of record 2 in place, as a torn sector would.
      const bytes = await Deno.readFile(img);
      const hit = new TextDecoder("latin1").decode(bytes).indexOf("bravo=2");
      assert(hit > 0, "record 2's payload is on the image");
      bytes[hit] ^= 0x20;
      await Deno.writeFile(img, bytes);
      const listed = JSON.parse((await spool(["list", ...at, "--json"])).stdout);
      assertEquals([listed.records.map((r: { seq: number }) => r.seq), listed.torn], [[1, 3], 1]);
      const next = await spool(["append", ...at, "--text", "delta=4"]);
      assertMatch(next.stdout, /^appended seq 4 .*\(dropped 1 torn record a crash left\)\n$/);
      assertEquals(names(img, "cohesix/SPOOL/SETTINGS"), [
        "00000001.REC",
        "00000003.REC",
        "00000004.REC",
        "SPOOL.CFG",
      ]);
      await fsckClean(img);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("status --offline ESP lists a spool store with a damaged bounds file as DAMAGED and keeps the image report; init rewrites it, records kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = await freshEsp(dir);
    assertEquals((await spool(["append", "--esp", img, "--kind", "settings", "--text", "keep=me"])).code, 0);
    const bad = join(dir, "bad.cfg");
    await Deno.writeTextFile(bad, "{not json");
    const put = await run("mcopy", ["-i", img, "-o", bad, "::/cohesix/SPOOL/SETTINGS/SPOOL.CFG"], {
      env: MTOOLS_ENV,
    });
    assertEquals(put.code, 0, put.stderr);
    const st = await cohesix(["status", "--offline", img]);
    assertEquals(st.code, 0, st.stderr);
    assertMatch(st.stdout, /result {5}7 checks, all ok/);
    assertMatch(
      st.stdout,
      /\nspool {6}SETTINGS at .*:\/cohesix\/SPOOL\/SETTINGS: DAMAGED \(.*is not a spool store/,
    );
    assertMatch(st.stdout, /\nspool {6}telemetry at .*: 0\/256 records/);
    const del = await run("mdel", ["-i", img, "::/cohesix/SPOOL/SETTINGS/SPOOL.CFG"], { env: MTOOLS_ENV });
    assertEquals(del.code, 0, del.stderr);
    assertEquals((await spool(["init", "--esp", img, "--kind", "settings"])).code, 0);
    const list = JSON.parse((await spool(["list", "--esp", img, "--kind", "settings", "--json"])).stdout);
    assertEquals(list.records.map((r: { payload: string }) => atob(r.payload)), ["keep=me"]);
    await fsckClean(img);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an ESP carrying spool records written by mtools still boots under UEFI firmware to the root task", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = await freshEsp(dir);
    for (let i = 1; i <= 20; i++) {
      const r = await spool([
        "append",
        "--esp",
        img,
        "--kind",
        "telemetry",
        "--text",
        `boot probe ${i} `.repeat(40),
      ]);
      assertEquals(r.code, 0, r.stderr);
    }
    const r = await cohesix([
      "qemu",
      "--image",
      img,
      "--uefi",
      "--expect",
      HELLO_LINE,
      "--timeout",
      "90",
      "--json",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout).outcome, "expected");
    // snapshot=on: the boot did not change the spool.
    assertEquals(
      JSON.parse((await spool(["list", "--esp", img, "--kind", "telemetry", "--json"])).stdout).records
        .length,
      20,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
