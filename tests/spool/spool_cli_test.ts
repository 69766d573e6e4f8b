/** `cohesix spool` on a hosted directory store, and its usage errors (exit 2, nothing written). */
import { join } from "node:path";
import { assertEquals, assertMatch } from "../support/assert.ts";
import { cohesix } from "../images/support.ts";
import { listDir } from "../images/support.ts";

Deno.test("cohesix spool --dir: init, append, list, drop on a host directory store", async () => {
  const dir = join(await Deno.makeTempDir(), "telemetry");
  try {
    const init = await cohesix([
      "spool",
      "init",
      "--dir",
      dir,
      "--kind",
      "telemetry",
      "--max-records",
      "3",
      "--json",
    ]);
    assertEquals(init.code, 0, init.stderr);
    assertEquals(JSON.parse(init.stdout).limits, { maxRecords: 3, maxBytes: 262144, maxRecordBytes: 16384 });
    for (const t of ["a", "bb", "ccc"]) {
      assertEquals((await cohesix(["spool", "append", "--dir", dir, "--text", t])).code, 0);
    }
    const full = await cohesix(["spool", "append", "--dir", dir, "--text", "dddd"]);
    assertEquals(full.code, 1);
    assertMatch(full.stderr, /full \(3\/3 records, 6\/262144 bytes\): drain it before writing more/);
    const list = await cohesix(["spool", "list", "--dir", dir, "--kind", "telemetry"]);
    assertEquals(list.stdout.split("\n").slice(1, 4).map((l) => l.trim().split(/\s+/)[0]), ["1", "2", "3"]);
    const drop = await cohesix(["spool", "drop", "--dir", dir, "--through", "2", "--json"]);
    assertEquals(JSON.parse(drop.stdout).dropped, 2);
    assertEquals(await listDir(dir), ["0000000003.rec", "spool.json"]);
    const again = await cohesix(["spool", "append", "--dir", dir, "--text", "dddd", "--json"]);
    assertEquals(JSON.parse(again.stdout).seq, 4);
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("cohesix spool refuses bad usage with exit 2 and the reason, writing nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string[], RegExp][] = [
      [["spool"], /name a subcommand: init, append, list or drop/],
      [["spool", "push", "--dir", dir], /unknown subcommand 'push'/],
      [["spool", "list", "--dir", dir, "--esp", "x.img"], /exactly one of --esp IMG\[:\/path\] or --dir DIR/],
      [["spool", "append", "--dir", dir, "--through", "3"], /--through does not apply to 'append'/],
      [["spool", "append", "--dir", dir, "--text", "x", "--bytes", "1"], /--text or --bytes, not both/],
      [["spool", "init", "--dir", dir, "--kind", "logs"], /--kind must be settings or telemetry/],
      [
        ["spool", "init", "--dir", dir, "--kind", "settings", "--max-bytes", "1.5"],
        /--max-bytes must be a whole number/,
      ],
      [["spool", "drop", "--dir", dir], /drop needs --through SEQ/],
    ];
    for (const [args, reason] of cases) {
      const r = await cohesix(args);
      assertEquals(r.code, 2, args.join(" "));
      assertMatch(r.stderr, reason);
    }
    assertEquals(await listDir(dir), []);
    const help = await cohesix(["spool", "--help"]);
    assertEquals(help.code, 0);
    assertMatch(help.stdout, /^cohesix spool: the bounded, crash-safe record stores/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
