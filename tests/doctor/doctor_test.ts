/**
 * `cohesix doctor`: all ok on a machine set up by scripts/install-deps.sh + npm ci; a missing
 * firmware, a port taken by something that is not a hive, a bad manifest and a missing seL4
 * export each fail their own check, name the fix and exit 1; a running hive is recognised.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { join } from "node:path";
import { withDevPorts } from "../support/dev.ts";
import { COHESIX_VERSION } from "../../src/guest/version.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix: string;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function doctor(...args: string[]): Promise<{ code: number; checks: Check[]; stdout: string }> {
  return doctorWith({}, ...args);
}

async function doctorWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; checks: Check[]; stdout: string }> {
  const out = await new Deno.Command(COHESIX, {
    args: ["doctor", "--json", ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const doc = JSON.parse(stdout);
  assertEquals(doc.version, 1);
  for (const c of doc.checks) assertEquals(Object.keys(c), ["name", "ok", "detail", "fix"]);
  return { code: out.code, checks: doc.checks, stdout };
}

/** Free ports for the port checks, so a hive another test runs on 31337/5640 changes nothing here. */
function ports(): string[] {
  return ["--console-port", String(freePort()), "--ninep-port", String(freePort())];
}

const byName = (checks: Check[], name: string): Check => checks.find((c) => c.name === name)!;

Deno.test("cohesix doctor passes every check on this machine and exits 0", async () => {
  const r = await doctor(...ports());
  const failed = r.checks.filter((c) => !c.ok);
  assertEquals(failed, [], JSON.stringify(failed));
  assertEquals(r.code, 0);
  assertEquals(r.checks.map((c) => c.name).slice(0, 11), [
    "deno",
    "npm dependencies",
    "qemu-system-aarch64",
    "qemu firmware",
    "qemu-aarch64 (user)",
    "cross toolchain",
    "image tools python",
    "seL4 export",
    "fuse",
    "python client",
    "manifest",
  ]);
  assert(r.checks.every((c) => c.fix === ""));
  const text = await new Deno.Command(COHESIX, { args: ["doctor", ...ports()], stdout: "piped" }).output();
  assertMatch(new TextDecoder().decode(text.stdout), /cohesix doctor: 14 checks, all ok\n$/);
});

Deno.test("cohesix doctor fails the firmware check for a missing firmware file and names the fix", async () => {
  const r = await doctor("--firmware", "/nonexistent/QEMU_EFI.fd", ...ports());
  assertEquals(r.code, 1);
  const fw = byName(r.checks, "qemu firmware");
  assertEquals(fw.ok, false);
  assertMatch(fw.detail, /\/nonexistent\/QEMU_EFI\.fd is missing/);
  assertEquals(fw.fix, "cohesix doctor --firmware /usr/share/qemu-efi-aarch64/QEMU_EFI.fd");
  assertEquals(r.checks.filter((c) => !c.ok).map((c) => c.name), ["qemu firmware"]);
});

Deno.test("cohesix doctor fails a port taken by something that is not a hive, and names the fix", async () => {
  // A listener that never answers: the console probe waits for an AUTH reply that does not come.
  const squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (squatter.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of squatter) held.push(c);
  })();
  try {
    const r = await doctor("--console-port", String(port), "--ninep-port", String(freePort()));
    assertEquals(r.code, 1);
    const p = byName(r.checks, `port ${port} (console)`);
    assertEquals(p.ok, false);
    assertMatch(p.detail, /taken on 127\.0\.0\.1, and not by a hive/);
    assertMatch(p.fix, new RegExp(`^ss -ltnp 'sport = :${port}'.*cohesix dev --console-port 0`));
    assertEquals(r.checks.filter((c) => !c.ok).map((c) => c.name), [`port ${port} (console)`]);
  } finally {
    squatter.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});

Deno.test("cohesix doctor recognises a running hive on its ports and reads its /proc/boot", async () => {
  await withDevPorts(async ({ consolePort, ninepPort }) => {
    const r = await doctor("--console-port", String(consolePort), "--ninep-port", String(ninepPort));
    assertEquals(r.code, 0, r.stdout);
    assertMatch(
      byName(r.checks, `port ${consolePort} (console)`).detail,
      /^a hive console answers \(OK AUTH\)$/,
    );
    assertMatch(
      byName(r.checks, `port ${ninepPort} (9P)`).detail,
      /^a 9P2000\.L server answers \(msize 8192\)$/,
    );
    // The hive runs the default manifest: its fingerprint is the generated one.
    const sha = new URL("../../configs/generated/root_task_resolved.json.sha256", import.meta.url);
    const fingerprint = (await Deno.readTextFile(sha)).trim().split(/\s+/)[0];
    assertEquals(
      byName(r.checks, "hive /proc/boot").detail,
      `127.0.0.1:${ninepPort}: version ${COHESIX_VERSION}, manifest ${fingerprint.slice(0, 16)}…`,
    );
  });
});

Deno.test("cohesix doctor fails a manifest that does not compile and a missing seL4 export", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cohesix-doctor-" });
  try {
    await Deno.writeTextFile(`${dir}/bad.toml`, "[secure9p]\nmsize = 65536\n");
    const r = await doctor("--manifest", `${dir}/bad.toml`, "--sel4-build", `${dir}/no-sel4`, ...ports());
    assertEquals(r.code, 1);
    assertEquals(r.checks.filter((c) => !c.ok).map((c) => c.name), ["seL4 export", "manifest"]);
    assertEquals(byName(r.checks, "manifest").fix, `cohesix rtc ${dir}/bad.toml --out out/rtc-check`);
    assertMatch(byName(r.checks, "seL4 export").detail, /no such directory/);
    // The Cohesix export not built yet is fine: 'cohesix image' builds it on first use.
    const fresh = await doctorWith({ COHESIX_SEL4_CACHE: join(dir, "empty-cache") }, ...ports());
    const sel4 = byName(fresh.checks, "seL4 export");
    assertEquals(sel4.ok, true);
    assertMatch(
      sel4.detail,
      /^not built yet: 'cohesix image' builds it from \.\.\/shared\/sel4 on first use/,
    );
    assertMatch(byName(r.checks, "seL4 export").fix, /^export COHESIX_SEL4=/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
