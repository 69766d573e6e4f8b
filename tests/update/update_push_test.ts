/**
 * `cohesix update push|status` against a `cohesix dev --manifest configs/full.toml` process (the
 * development update key trusted): a 1 MiB update packed, pushed and `ready`; the same push SIGKILLed
 * halfway and re-run sends exactly the chunks the hive still lacks (bytes on the wire counted by a
 * proxy); a push whose connection is cut twice reconnects and ends ready with no chunk sent twice;
 * a tampered chunk, an untrusted key and a hive without [cas] end non-zero with the reason.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { withDevPorts } from "../support/dev.ts";
import { FlakyProxy } from "../support/flaky_proxy.ts";
import { HiveLink } from "../../src/host/cli/hive_link.ts";
import { parseStatus } from "../../src/host/update/push.ts";
import { join } from "node:path";
import { payload } from "../support/payload.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const FULL = ["--manifest", new URL("../../configs/full.toml", import.meta.url).pathname];
const work = Deno.makeTempDirSync({ prefix: "cohesix-push-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));

async function cohesix(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(COHESIX, { args, stdout: "piped", stderr: "piped", env: { NO_COLOR: "1" } }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

let packs = 0;
/** Packs `bytes` as `epoch` with the key (default: the development update key); returns the DIR. */
async function pack(epoch: number, bytes: Uint8Array, keygen: string[] = ["--dev"]): Promise<string> {
  const n = ++packs;
  const key = join(work, `key-${n}.json`);
  const file = join(work, `app-${n}.bin`);
  await Deno.writeFile(file, bytes);
  assertEquals((await cohesix(["update", "keygen", ...keygen, "--out", key])).code, 0);
  const out = join(work, `update-${n}`);
  const r = await cohesix(["update", "pack", "--key", key, "--epoch", String(epoch), "--out", out, file]);
  assertEquals(r.code, 0, r.stderr);
  return out;
}

async function status(port: number, epoch: number) {
  const link = await HiveLink.open({ host: "127.0.0.1", port });
  try {
    return parseStatus(await link.read(`/updates/${epoch}/status`));
  } finally {
    link.close();
  }
}

Deno.test("update push: a 1 MiB update is packed, pushed and ready; a second push sends nothing; status reports it", async () => {
  const dir = await pack(1, payload(1 << 20, 1));
  await withDevPorts(async ({ ninepPort }) => {
    const hive = `127.0.0.1:${ninepPort}`;
    const first = await cohesix(["update", "push", dir, "--hive", hive, "--json"]);
    assertEquals(first.code, 0, first.stderr);
    const r = JSON.parse(first.stdout);
    assertEquals([r.ok, r.state, r.chunks, r.sentChunks, r.skippedChunks, r.sentChunkBytes], [true, "ready", 256, 256, 0, 1 << 20]);
    assertStringIncludes(first.stderr, "256/256 chunks", "progress lines on stderr");
    const again = JSON.parse((await cohesix(["update", "push", dir, "--hive", hive, "--json"])).stdout);
    assertEquals([again.state, again.sentChunks, again.sentManifestBytes, again.skippedChunks], ["ready", 0, 0, 256]);
    const st = await cohesix(["update", "status", "--hive", hive, "--epoch", "1", "--json"]);
    assertEquals(JSON.parse(st.stdout), { epoch: 1, state: "ready", manifest: true, chunks: 256, have: 256, missing: 0, reason: "", missingNames: [] });
    const all = await cohesix(["update", "status", "--hive", hive]);
    assertEquals(all.stdout, "chunk_bytes=4096 slots=512 free=256 epochs=1/4\nepoch=1 state=ready chunks=256 have=256 missing=0\n");
    assertEquals((await cohesix(["update", "drop", "--epoch", "1", "--hive", hive])).stdout, "dropped epoch=1\n");
    assertEquals((await cohesix(["update", "status", "--hive", hive])).stdout, "chunk_bytes=4096 slots=512 free=512 epochs=0/4\n");
    const gone = await cohesix(["update", "drop", "--epoch", "1", "--hive", hive]);
    assertEquals([gone.code, gone.stderr], [1, "update drop: the hive has no epoch 1 (or serves no /updates)\n"]);
  }, FULL);
});

Deno.test("update push: killed halfway, the re-run sends exactly the chunks the hive lacks (bytes on the wire counted)", async () => {
  const dir = await pack(2, payload(1 << 20, 2));
  await withDevPorts(async ({ ninepPort }) => {
    const proxy = new FlakyProxy(ninepPort, { cutAfterBytes: Infinity, cuts: 0 });
    try {
      const hive = `127.0.0.1:${proxy.port}`;
      const child = new Deno.Command(COHESIX, { args: ["update", "push", dir, "--hive", hive, "--window", "4"], stdout: "null", stderr: "piped" }).spawn();
      // Wait for the event: the hive holds at least half of the chunks (polled through its status file).
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!/ (12[89]|1[3-9]\d|2\d\d)\/256 chunks/.test(seen)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`push ended before half the chunks: ${seen}`);
        seen += value;
      }
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
      const wireFirst = proxy.bytesUp;
      const before = await status(ninepPort, 2);
      assert(before.state === "receiving" && before.have >= 128 && before.have < 256, JSON.stringify(before));
      proxy.bytesUp = 0;
      const rerun = await cohesix(["update", "push", dir, "--hive", hive, "--json"]);
      assertEquals(rerun.code, 0, rerun.stderr);
      const r = JSON.parse(rerun.stdout);
      assertEquals([r.state, r.sentChunks, r.skippedChunks, r.sentManifestBytes], ["ready", 256 - before.have, before.have, 0]);
      const wireRerun = proxy.bytesUp;
      // The re-run's Twrite payloads are its chunks; framing and the status reads are the rest.
      assert(wireRerun < (256 - before.have) * 4096 + 64 * 1024, `re-run wire bytes ${wireRerun}`);
      console.log(
        `kill-halfway: first run ${wireFirst} B on the wire (killed at have=${before.have}/256), ` +
          `re-run ${wireRerun} B for ${r.sentChunks} chunks (${r.sentChunkBytes} B payload)`,
      );
    } finally {
      await proxy.close();
    }
  }, FULL);
});

Deno.test("update push: a connection cut twice mid-push reconnects and ends ready; no chunk is written twice", async () => {
  const dir = await pack(3, payload(512 * 1024, 3));
  await withDevPorts(async ({ ninepPort }) => {
    const proxy = new FlakyProxy(ninepPort, { cutAfterBytes: 200_000, cuts: 2 });
    try {
      const r = await cohesix(["update", "push", dir, "--hive", `127.0.0.1:${proxy.port}`, "--json"]);
      assertEquals(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assertEquals([doc.state, doc.reconnects, proxy.cutsDone], ["ready", 2, 2]);
      // A chunk whose Rwrite was lost in a cut may have been stored; it is then not listed again.
      assert(doc.sentChunks <= 128, `sent ${doc.sentChunks} of 128`);
      assertStringIncludes(r.stderr, "connection lost");
    } finally {
      await proxy.close();
    }
  }, FULL);
});

Deno.test("update push: a tampered chunk and an untrusted key end non-zero with the reason; nothing is ready", async () => {
  const tampered = await pack(4, payload(3 * 4096, 4));
  const [chunk] = [...Deno.readDirSync(join(tampered, "chunks"))].map((e) => e.name).sort();
  const bytes = Deno.readFileSync(join(tampered, "chunks", chunk));
  bytes[9] ^= 1;
  Deno.writeFileSync(join(tampered, "chunks", chunk), bytes);
  const stranger = await pack(5, payload(8192, 5), ["--seed", "09".repeat(32)]);
  await withDevPorts(async ({ ninepPort }) => {
    const hive = `127.0.0.1:${ninepPort}`;
    const t = await cohesix(["update", "push", tampered, "--hive", hive]);
    assertEquals(t.code, 1);
    assertStringIncludes(t.stderr, `the hive refused chunk ${chunk}: write failed: EINVAL`);
    const ts = await status(ninepPort, 4);
    assertEquals([ts.state, ts.missingNames.includes(chunk)], ["receiving", true]);
    const u = await cohesix(["update", "push", stranger, "--hive", hive, "--json"]);
    assertEquals(u.code, 1);
    const doc = JSON.parse(u.stdout);
    assertEquals([doc.ok, doc.state, doc.reason, doc.sentChunks], [false, "invalid", "untrusted-key", 0]);
    assertEquals(doc.sentManifestBytes, Deno.statSync(join(stranger, "manifest.cbor")).size, "the refused manifest went on the wire");
    assertStringIncludes(doc.error, "reason=untrusted-key");
  }, FULL);
});

Deno.test("update push and status against a hive whose manifest leaves [cas] off: non-zero, saying so", async () => {
  const dir = await pack(6, payload(4096, 6));
  await withDevPorts(async ({ ninepPort }) => {
    const p = await cohesix(["update", "push", dir, "--hive", `127.0.0.1:${ninepPort}`]);
    assertEquals(p.code, 1);
    assertStringIncludes(p.stderr, "the hive serves no /updates: its manifest leaves [cas] off");
    const s = await cohesix(["update", "status", "--hive", `127.0.0.1:${ninepPort}`]);
    assertEquals(s.code, 1);
    assertStringIncludes(s.stderr, "serves no /updates");
  });
});

Deno.test("update push refuses a DIR without a manifest, with what to do next", async () => {
  const r = await cohesix(["update", "push", work]);
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "manifest.cbor does not exist (pack the update first");
});

Deno.test("update status with no hive listening: one line naming the address, exit 1, no stack trace", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const r = await cohesix(["update", "status", "--hive", `127.0.0.1:${port}`]);
  assertEquals(r.code, 1);
  assertEquals(r.stderr, `cohesix update: Cannot connect to 127.0.0.1:${port}: Connection refused (os error 111)\n`);
});
