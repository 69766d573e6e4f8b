/**
 * "Read back on boot", hosted: a spool writer SIGKILLed mid-record, then `cohesix dev --spool DIR`
 * boots: it drops and counts the torn record and prints the boot line; the next boot finds none.
 * (The native guest has no block driver: it boots from the elfloader, not from the ESP.)
 */
import { join } from "node:path";
import { assertEquals, assertMatch } from "../support/assert.ts";
import { createSpool } from "../../src/host/spool/store.ts";
import { run } from "../images/support.ts";

const REPO = new URL("../../", import.meta.url).pathname;

async function killedMidWrite(dir: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO, "tests/support/spool_writer.ts"), dir, "5"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("mid-write\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`writer exited before mid-write; saw ${seen}`);
    seen += value;
  }
  child.kill("SIGKILL");
  assertEquals((await child.status).signal, "SIGKILL");
  await lines.cancel();
  await child.stdin.close().catch(() => {});
}

function boot(dir: string, extra: string[] = []) {
  // --serial with no input: the hive boots, prints its lines on stderr and stops at end of input.
  return run(join(REPO, "cohesix"), ["dev", "--serial", "--ninep-port", "0", "--spool", dir, ...extra]);
}

Deno.test("cohesix dev --spool: a boot after a SIGKILL mid-write reads back every completed record, drops and counts the torn one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await createSpool(dir, "telemetry", { maxRecords: 16, maxBytes: 64 * 1024, maxRecordBytes: 4096 });
    await killedMidWrite(dir);
    const first = await boot(dir);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(
      first.stderr,
      new RegExp(`\\nspool: records=5 bytes=9000 torn=1 \\(telemetry at ${dir}\\)\\n`),
    );
    const second = await boot(dir, ["--json"]);
    assertEquals(second.code, 0, second.stderr);
    const doc = JSON.parse(second.stderr.split("\n")[0]);
    assertEquals(doc.spools, [{ dir, name: "telemetry", records: 5, bytes: 9000, torn: 0 }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix dev --spool refuses a directory that holds no spool store, before the hive starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await boot(dir);
    assertEquals(r.code, 1);
    assertMatch(
      r.stderr,
      /^cohesix dev: .* is not a spool store .*\ncohesix dev: the hive was not started; fix --spool\n$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
