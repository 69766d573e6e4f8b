/**
 * The manifest's [secure9p] limits reach the hive's 9P server: msize, walk depth and tags per
 * session are compiled into BootConfig and the Hive serves with them (no hard-coded values).
 */
import { assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { NsClient } from "../ninedoor/ns_client.ts";
import { bootConfigFromManifest } from "../../src/codegen/mod.ts";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";
import { Hive } from "../../src/guest/hive.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { EINVAL, ENOENT } from "../../src/secure9p/errors.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/**
 * configs/root_task.toml with its [secure9p] msize / walk_depth / tags_per_session replaced (and
 * queen.max_ctl_bytes lowered so one control write still fits the smaller msize, a red line).
 */
async function manifestWith(msize: number, walkDepth: number, tags: number): Promise<string> {
  let text = await Deno.readTextFile(`${REPO}configs/root_task.toml`);
  const edits: [RegExp, string][] = [
    [/^msize = 8192$/m, `msize = ${msize}`],
    [/^walk_depth = 8$/m, `walk_depth = ${walkDepth}`],
    [/^tags_per_session = 16$/m, `tags_per_session = ${tags}`],
    [/^max_ctl_bytes = 4096$/m, "max_ctl_bytes = 2048"],
  ];
  // Sharded worker paths are 5 deep: a shallower walk depth needs the flat /worker layout.
  if (walkDepth < 5) {
    edits.push([/^enabled = true\nshard_bits/m, "enabled = false\nshard_bits"]);
    edits.push([/^.*\/shard.*\n/gm, ""]);
  }
  for (const [re, line] of edits) {
    if (!re.test(text)) throw new Error(`configs/root_task.toml has no line ${re} for this test to edit`);
    re.lastIndex = 0;
    text = text.replace(re, line);
  }
  const dir = await Deno.makeTempDir({ prefix: "rtc-secure9p-" });
  const path = `${dir}/small.toml`;
  await Deno.writeTextFile(path, text);
  return path;
}

/** Sends one raw Tversion asking for `want` to a sans-IO hive and returns the Rversion's msize. */
function grantedMsize(hive: Hive, want: number): number {
  const ver = new TextEncoder().encode("9P2000.L");
  const size = 4 + 1 + 2 + 4 + 2 + ver.length;
  const f = new Uint8Array(size);
  const dv = new DataView(f.buffer);
  dv.setUint32(0, size, true);
  f[4] = 100; // Tversion
  dv.setUint16(5, 0xffff, true); // NOTAG
  dv.setUint32(7, want, true);
  dv.setUint16(11, ver.length, true);
  f.set(ver, 13);
  const id = hive.openNinep();
  assertEquals(hive.input(id, f, 0, f.length), f.length);
  const out = new Uint8Array(256);
  const n = hive.output(id, out, 0, out.length);
  const rv = new DataView(out.buffer, 0, n);
  assertEquals(out[4], 101, "Rversion");
  return rv.getUint32(7, true);
}

Deno.test("bootConfigFromManifest carries [secure9p] msize, walk depth and tags into BootConfig.limits", async () => {
  const path = await manifestWith(4096, 4, 2);
  try {
    const boot = await bootConfigFromManifest(path);
    assertEquals(
      [boot.limits.msize, boot.limits.maxWalk, boot.limits.maxTagsPerSession],
      [4096, 4, 2],
    );
    // The committed tables carry the reference manifest's values.
    assertEquals(
      [BOOT_CONFIG.limits.msize, BOOT_CONFIG.limits.maxWalk, BOOT_CONFIG.limits.maxTagsPerSession],
      [8192, 8, 16],
    );
  } finally {
    await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  }
});

Deno.test("Hive booted from a manifest with msize 4096 grants 4096 to a client asking for 8192", async () => {
  const path = await manifestWith(4096, 8, 16);
  try {
    const small = new Hive(await bootConfigFromManifest(path));
    small.advance(0);
    assertEquals(grantedMsize(small, 8192), 4096);
    assertEquals(grantedMsize(small, 2048), 2048);
    const boot = new NsClient(small.nineDoor!, small.nineDoor!.attach("queen", "")).read("/proc/boot") as string;
    assertStringIncludes(boot, "\nsecure9p msize=4096 walk_depth=8 tags_per_session=16\n");
    const reference = new Hive(BOOT_CONFIG);
    reference.advance(0);
    assertEquals(grantedMsize(reference, 8192), 8192);
  } finally {
    await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  }
});

Deno.test("HostedHive from a manifest with walk_depth 4 refuses a 5-name walk with EINVAL over TCP", async () => {
  const path = await manifestWith(4096, 4, 16);
  const hive = HostedHive.start({
    boot: await bootConfigFromManifest(path),
    ninepPort: 0,
    noConsole: true,
    clock: () => 0,
  });
  try {
    const c = await NineClient.dial("127.0.0.1", hive.ninepPort);
    try {
      assertEquals(c.msize, 4096);
      const root = c.newFid();
      await c.attach(root, "queen");
      const deep = ["a", "b", "c", "d", "e"];
      const err = await assertRejects(() => c.walk(root, c.newFid(), deep));
      assertEquals(err instanceof NineError ? err.errno : err.message, EINVAL);
      // Four names is within the limit: the walk is answered (the path does not exist: ENOENT).
      const four = await assertRejects(() => c.walk(root, c.newFid(), deep.slice(0, 4)));
      assertEquals(four instanceof NineError ? four.errno : four.message, ENOENT);
    } finally {
      c.close();
    }
  } finally {
    await hive.stop();
    await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  }
});
