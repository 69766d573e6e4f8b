import { assertEquals } from "../support/assert.ts";
import { REPO_ROOT } from "../../src/host/guest_build/tools.ts";

async function cohesix(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}/src/main.ts`, ...args],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
}

Deno.test("cohesix guest refuses a missing or unknown verb and bad build flags with exit 2", async () => {
  const none = await cohesix("guest");
  assertEquals([none.code, none.err.trim()], [2, "cohesix: guest: missing verb (run 'cohesix guest --help' for the verbs)"]);
  const bad = await cohesix("guest", "bulid");
  assertEquals(bad.code, 2);
  const arena = await cohesix("guest", "build", "--arena-mib", "3");
  assertEquals([arena.code, arena.err.trim()], [2, "cohesix: guest build: --arena-mib must be an even integer 2..512, got '3'"]);
  const corpus = await cohesix("guest", "build", "--replay", "no/such.replay", "--out", "/tmp/never-written");
  assertEquals([corpus.code, corpus.err.trim()], [2, "cohesix: guest build: cannot read corpus 'no/such.replay'"]);
});

Deno.test("cohesix guest check exits 0 on the guest tree and 2 on a path that does not exist", async () => {
  const ok = await cohesix("guest", "check");
  assertEquals(ok.code, 0, ok.out);
  const missing = await cohesix("guest", "check", "src/guest/nowhere");
  assertEquals([missing.code, missing.err.trim()], [2, "cohesix: guest check: no such file or directory 'src/guest/nowhere'"]);
});

Deno.test("cohesix guest serial needs one existing image and a positive --timeout (exit 2, QEMU not started)", async () => {
  const none = await cohesix("guest", "serial");
  assertEquals([none.code, none.err.trim()], [2, "cohesix: guest serial: needs exactly one IMAGE (an elfloader ELF)"]);
  const missing = await cohesix("guest", "serial", "no/such-image.elf");
  assertEquals([missing.code, missing.err.trim()], [2, "cohesix: guest serial: no image at no/such-image.elf"]);
  const timeout = await cohesix("guest", "serial", "README.md", "--timeout", "0");
  assertEquals([timeout.code, timeout.err.trim()], [2, "cohesix: guest serial: --timeout must be a positive number of seconds, got '0'"]);
});
