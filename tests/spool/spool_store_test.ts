/** Spool store (25b): crash-safe bounded records; a SIGKILL mid-write loses only the torn record. */
import { assert, assertEquals, assertMatch, assertRejects } from "../support/assert.ts";
import { createSpool, encodeRecord, inspectSpool, SpoolError, SpoolStore } from "../../src/host/spool/store.ts";
import { statusCommand } from "../../src/host/status/command.ts";

const LIMITS = { maxRecords: 16, maxBytes: 64 * 1024, maxRecordBytes: 4096 };
const dec = new TextDecoder();

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

async function statusOut(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { code: await statusCommand.run(argv), out: lines.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("spool: a writer SIGKILLed mid-record — every completed record reads back, the torn one is dropped and counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await createSpool(dir, "telemetry", LIMITS);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../support/spool_writer.ts", import.meta.url).pathname, dir, "5"],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const seen: string[] = [];
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    while (!seen.includes("mid-write")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`writer exited before mid-write; saw ${seen.join(",")}`);
      buf += value;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      seen.push(...parts);
    }
    child.kill("SIGKILL");
    const status = await child.status;
    await lines.cancel();
    await child.stdin.close().catch(() => {});
    assertEquals(status.signal, "SIGKILL");
    assertEquals(seen, ["appended 1", "appended 2", "appended 3", "appended 4", "appended 5", "mid-write"]);
    assert((await names(dir)).includes("0000000006.rec.new"), "the torn record is on disk before the reopen");

    // status --offline reads without repairing: it reports the torn record.
    const st = await statusOut(["--offline", "--spool", dir]);
    assertEquals(st.code, 0);
    assertMatch(st.out, /^spool {6}telemetry at .*: 5\/16 records, 9000\/65536 bytes \(seq 1\.\.5\), torn 1 \(dropped/);

    const { store, scan } = await SpoolStore.open(dir);
    assertEquals(scan.torn, 1);
    assertEquals(scan.records.map((r) => r.seq), [1, 2, 3, 4, 5]);
    for (const r of scan.records) assertEquals(dec.decode(r.payload), `record ${r.seq} `.repeat(200));
    assert(!(await names(dir)).includes("0000000006.rec.new"), "open drops the torn record");
    assertEquals(await store.append(new TextEncoder().encode("after reboot")), 6);
    const again = await inspectSpool(dir);
    assertEquals([again.records.length, again.torn], [6, 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool: a record torn inside its file (FAT without atomic rename) fails its checksum and is dropped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await createSpool(dir, "settings", LIMITS);
    const { store } = await SpoolStore.open(dir);
    for (const v of ["a=1", "b=2", "c=3"]) await store.append(new TextEncoder().encode(v));
    const path = `${dir}/0000000002.rec`;
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 7)); // short write
    const flipped = await Deno.readFile(`${dir}/0000000003.rec`);
    flipped[13] ^= 0x20; // one payload bit
    await Deno.writeFile(`${dir}/0000000003.rec`, flipped);
    await Deno.writeFile(`${dir}/0000000004.rec`, encodeRecord(9, new TextEncoder().encode("wrong seq")));
    const { scan } = await SpoolStore.open(dir);
    assertEquals(scan.records.map((r) => dec.decode(r.payload)), ["a=1"]);
    assertEquals(scan.torn, 3);
    assertEquals(await names(dir), ["0000000001.rec", "spool.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool: bounds refuse a write before anything is stored, with the reason", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await createSpool(dir, "tiny", { maxRecords: 2, maxBytes: 10, maxRecordBytes: 8 });
    const { store } = await SpoolStore.open(dir);
    const big = await assertRejects(() => store.append(new Uint8Array(9)));
    assert(big instanceof SpoolError && big.message.includes("exceeds maxRecordBytes 8"), big.message);
    await store.append(new Uint8Array(6));
    const bytes = await assertRejects(() => store.append(new Uint8Array(5)));
    assert(bytes instanceof SpoolError && bytes.message.includes("full (1/2 records, 6/10 bytes)"), bytes.message);
    await store.append(new Uint8Array(4));
    const count = await assertRejects(() => store.append(new Uint8Array(0)));
    assert(count instanceof SpoolError && count.message.includes("full (2/2 records"), count.message);
    assertEquals(await names(dir), ["0000000001.rec", "0000000002.rec", "spool.json"]);
    const bad = await assertRejects(() => createSpool(`${dir}/x`, "x", { maxRecords: 0, maxBytes: 1, maxRecordBytes: 1 }));
    assert(bad instanceof SpoolError && bad.message.includes("maxRecords must be an integer >= 1"), bad.message);
    const again = await assertRejects(() => createSpool(dir, "tiny", LIMITS));
    assert(again instanceof SpoolError && again.message.includes("already holds a spool store"), again.message);
    const st = await statusOut(["--offline", "--spool", `${dir}/none`]);
    assertEquals(st.code, 1);
    assertMatch(st.out, /^cohesix status: .*\/none is not a spool store/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
