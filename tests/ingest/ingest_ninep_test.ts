/**
 * Telemetry ingest over real Secure9P (the `cohesix dev` runtime): `/queen/telemetry/<device>/ctl`
 * makes segments the hive names, `latest` names the newest, and every `[telemetry_ingest]` bound is
 * enforced with its errno, its log line and no partial state; evicted segments answer ENOENT.
 * `cohesix cohsh telemetry push` stores a file as cohsh-telemetry-push/v1 records and refuses a
 * file over max_bytes_per_segment naming it, with nothing stored.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { type BootConfig, defaultBootConfig } from "../../src/guest/boot.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { EBADF, EEXIST, EFBIG, EMSGSIZE, ENOENT, ENOSPC, EPERM, EROFS } from "../../src/secure9p/errors.ts";
import { O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";
import { Eviction, type IngestLimits } from "../../src/guest/ingest/segments.ts";
import { PUSH_SCHEMA } from "../../src/host/cohsh/telemetry_push.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const COHESIX = new URL("../../cohesix", import.meta.url).pathname;

const REFERENCE_LIMITS: IngestLimits = {
  maxDevices: 8,
  maxSegments: 4,
  maxSegmentBytes: 32768,
  maxDeviceBytes: 131072,
  eviction: Eviction.EvictOldest,
  maxRecordBytes: 4096,
};

class Queen {
  private constructor(readonly hive: HostedHive, readonly c: NineClient, readonly root: number) {}

  static async start(limits: Partial<IngestLimits> = {}): Promise<Queen> {
    const boot: BootConfig = defaultBootConfig();
    // The reference hive's bounds (configs/root_task.toml), then the test's changes.
    boot.telemetryIngest = { ...REFERENCE_LIMITS, ...limits };
    const hive = HostedHive.start({ ninepPort: 0, noConsole: true, boot, clock: () => 1000, tickMs: 5 });
    const c = await NineClient.dial("127.0.0.1", hive.ninepPort);
    const root = c.newFid();
    await c.attach(root, "queen", "");
    return new Queen(hive, c, root);
  }

  async errno(p: Promise<unknown>): Promise<number> {
    try {
      await p;
      return 0;
    } catch (e) {
      if (e instanceof NineError) return e.errno;
      throw e;
    }
  }

  async open(path: string, mode: number): Promise<number> {
    const fid = this.c.newFid();
    await this.c.walk(this.root, fid, path.split("/").filter((p) => p));
    await this.c.open(fid, mode);
    return fid;
  }

  async write(path: string, text: string): Promise<number> {
    const fid = await this.open(path, O_WRONLY);
    try {
      return await this.c.write(fid, 0, enc.encode(text));
    } finally {
      await this.c.clunk(fid);
    }
  }

  async read(path: string): Promise<string> {
    const fid = await this.open(path, O_RDONLY);
    try {
      return dec.decode(await this.c.readAll(fid));
    } finally {
      await this.c.clunk(fid);
    }
  }

  async ls(path: string): Promise<string[]> {
    const fid = await this.open(path, O_RDONLY);
    try {
      return (await this.c.readdirAll(fid)).map((e) => e.name).filter((n) => n !== "." && n !== "..");
    } finally {
      await this.c.clunk(fid);
    }
  }

  device(name: string): Promise<number> {
    return this.write("/queen/telemetry/ctl", JSON.stringify({ new: "device", device: name }) + "\n");
  }

  async segment(dev: string): Promise<string> {
    await this.write(`/queen/telemetry/${dev}/ctl`, '{"new":"segment","mime":"text/plain"}\n');
    return (await this.read(`/queen/telemetry/${dev}/latest`)).trim();
  }

  async stop(): Promise<void> {
    this.c.close();
    await this.hive.stop();
  }
}

Deno.test("telemetry ingest: the hive names segments seg-000001…, latest follows, records append and read back", async () => {
  const q = await Queen.start();
  try {
    assertStringIncludes(
      await q.read("/queen/telemetry/limits"),
      "max_segments_per_device=4 max_bytes_per_segment=32768",
    );
    assertEquals(await q.device("sensor-1"), 37);
    assertEquals(await q.errno(q.device("sensor-1")), EEXIST);
    assertEquals(await q.ls("/queen/telemetry/sensor-1"), ["ctl", "latest", "seg"]);
    assertEquals(await q.read("/queen/telemetry/sensor-1/latest"), "");
    assertEquals([await q.segment("sensor-1"), await q.segment("sensor-1")], ["seg-000001", "seg-000002"]);
    assertEquals(await q.ls("/queen/telemetry/sensor-1/seg"), ["seg-000001", "seg-000002"]);
    await q.write("/queen/telemetry/sensor-1/seg/seg-000001", "t=1\n");
    await q.write("/queen/telemetry/sensor-1/seg/seg-000001", "t=2\n");
    assertEquals(await q.read("/queen/telemetry/sensor-1/seg/seg-000001"), "t=1\nt=2\n");
    // No client-chosen names: no create by path, latest is read-only, unknown ctl keys refused.
    const dir = q.c.newFid();
    await q.c.walk(q.root, dir, ["queen", "telemetry", "sensor-1", "seg"]);
    const created = await q.errno(q.c.create(dir, "seg-000009", O_WRONLY, 0o644));
    assert(created === EPERM || created === 95, /* EOPNOTSUPP */ `create by path: errno ${created}`);
    assert((await q.errno(q.write("/queen/telemetry/sensor-1/latest", "seg-000009\n"))) !== 0);
    assertEquals(
      await q.errno(q.write("/queen/telemetry/sensor-1/ctl", '{"new":"segment","name":"x"}\n')),
      22,
    );
    assertEquals(
      await q.errno(q.write("/queen/telemetry/sensor-1/ctl", '{"new":"segment","mime":"image/png"}\n')),
      22,
    );
    assertEquals(await q.errno(q.device("../etc")), 22);
    const log = await q.read("/log/queen.log");
    assertStringIncludes(log, "telemetry device=sensor-1 segment=seg-000002 mime=text/plain");
    assertStringIncludes(log, "telemetry refuse device=sensor-1 reason=unknown-key error=EINVAL");
  } finally {
    await q.stop();
  }
});

Deno.test("telemetry ingest: max_segments_per_device — evict-oldest drops seg-000001 (ENOENT), refuse answers ENOSPC", async () => {
  const q = await Queen.start({ maxSegments: 2 });
  try {
    await q.device("d");
    await q.segment("d");
    await q.write("/queen/telemetry/d/seg/seg-000001", "old\n");
    const held = await q.open("/queen/telemetry/d/seg/seg-000001", O_RDONLY);
    await q.segment("d");
    assertEquals(await q.segment("d"), "seg-000003");
    assertEquals(await q.ls("/queen/telemetry/d/seg"), ["seg-000002", "seg-000003"]);
    assertEquals(await q.errno(q.read("/queen/telemetry/d/seg/seg-000001")), ENOENT);
    assertEquals(await q.errno(q.c.read(held, 0, 100)), EBADF);
    assertStringIncludes(await q.read("/log/queen.log"), "telemetry device=d evict segment=seg-000001");
  } finally {
    await q.stop();
  }
  const r = await Queen.start({ maxSegments: 2, eviction: Eviction.Refuse });
  try {
    await r.device("d");
    await r.segment("d");
    await r.segment("d");
    assertEquals(
      await r.errno(r.write("/queen/telemetry/d/ctl", '{"new":"segment","mime":"text/plain"}\n')),
      ENOSPC,
    );
    assertEquals(await r.ls("/queen/telemetry/d/seg"), ["seg-000001", "seg-000002"]);
    assertEquals((await r.read("/queen/telemetry/d/latest")).trim(), "seg-000002");
    assertStringIncludes(
      await r.read("/log/queen.log"),
      "telemetry refuse device=d reason=max_segments_per_device error=ENOSPC",
    );
  } finally {
    await r.stop();
  }
});

Deno.test("telemetry ingest: max_bytes_per_segment (EFBIG) and the 4096-byte record (EMSGSIZE) store nothing", async () => {
  const q = await Queen.start({ maxSegmentBytes: 100, maxDeviceBytes: 400 });
  try {
    await q.device("d");
    const seg = `/queen/telemetry/d/seg/${await q.segment("d")}`;
    await q.write(seg, "a".repeat(90));
    assertEquals(await q.errno(q.write(seg, "b".repeat(11))), EFBIG);
    assertEquals(await q.read(seg), "a".repeat(90));
    assertStringIncludes(await q.read("/log/queen.log"), "reason=max_bytes_per_segment error=EFBIG");
  } finally {
    await q.stop();
  }
  const big = await Queen.start();
  try {
    await big.device("d");
    const seg = `/queen/telemetry/d/seg/${await big.segment("d")}`;
    assertEquals(await big.errno(big.write(seg, "r".repeat(4097))), EMSGSIZE);
    assertEquals(await big.write(seg, "r".repeat(4096)), 4096);
    assertEquals((await big.read(seg)).length, 4096);
  } finally {
    await big.stop();
  }
});

Deno.test("telemetry ingest: max_total_bytes_per_device — evict-oldest frees old segments, refuse answers ENOSPC", async () => {
  const q = await Queen.start({ maxSegmentBytes: 100, maxDeviceBytes: 200 });
  try {
    await q.device("d");
    const s1 = `/queen/telemetry/d/seg/${await q.segment("d")}`;
    await q.write(s1, "1".repeat(100));
    const s2 = `/queen/telemetry/d/seg/${await q.segment("d")}`;
    await q.write(s2, "2".repeat(100));
    const s3 = `/queen/telemetry/d/seg/${await q.segment("d")}`;
    await q.write(s3, "3".repeat(10));
    assertEquals(await q.errno(q.read(s1)), ENOENT);
    assertEquals(await q.read(s2), "2".repeat(100));
    assertEquals(await q.ls("/queen/telemetry/d/seg"), ["seg-000002", "seg-000003"]);
  } finally {
    await q.stop();
  }
  const r = await Queen.start({ maxSegmentBytes: 100, maxDeviceBytes: 200, eviction: Eviction.Refuse });
  try {
    await r.device("d");
    const s1 = `/queen/telemetry/d/seg/${await r.segment("d")}`;
    await r.write(s1, "1".repeat(100));
    const s2 = `/queen/telemetry/d/seg/${await r.segment("d")}`;
    await r.write(s2, "2".repeat(100));
    const s3 = `/queen/telemetry/d/seg/${await r.segment("d")}`;
    assertEquals(await r.errno(r.write(s3, "3")), ENOSPC);
    assertEquals([await r.read(s1), await r.read(s3)], ["1".repeat(100), ""]);
    assertStringIncludes(await r.read("/log/queen.log"), "reason=max_total_bytes_per_device error=ENOSPC");
  } finally {
    await r.stop();
  }
});

Deno.test("telemetry ingest: the device table is bounded (ENOSPC) and an observer cannot write", async () => {
  const q = await Queen.start({ maxDevices: 1 });
  try {
    await q.device("one");
    assertEquals(await q.errno(q.device("two")), ENOSPC);
    const obs = await NineClient.dial("127.0.0.1", q.hive.ninepPort);
    try {
      const root = obs.newFid();
      await obs.attach(root, "observer", "");
      const fid = obs.newFid();
      await obs.walk(root, fid, ["queen", "telemetry", "one", "ctl"]);
      const e = await q.errno(obs.open(fid, O_WRONLY));
      assert(e === EPERM || e === EROFS, `observer write open: errno ${e}`);
    } finally {
      obs.close();
    }
  } finally {
    await q.stop();
  }
});

Deno.test("telemetry ingest: no /queen/telemetry when the manifest leaves [telemetry_ingest] at zero", async () => {
  const q = await Queen.start({ maxDevices: 0, maxSegments: 0, maxSegmentBytes: 0, maxDeviceBytes: 0 });
  try {
    assertEquals(await q.ls("/queen"), ["ctl", "lifecycle"]);
    assertEquals(await q.errno(q.read("/queen/telemetry/limits")), ENOENT);
  } finally {
    await q.stop();
  }
});

Deno.test({
  name:
    "cohsh telemetry push stores a file as v1 records; a file over max_bytes_per_segment is refused naming it, nothing stored",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const q = await Queen.start({ maxSegmentBytes: 8192, maxDeviceBytes: 16384 });
    const dir = await Deno.makeTempDir();
    const push = async (file: string, device: string) => {
      const r = await new Deno.Command(COHESIX, {
        args: [
          "cohsh",
          "--port",
          String(q.hive.ninepPort),
          "telemetry",
          "push",
          file,
          "--device",
          device,
          "--json",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
    };
    try {
      const text = Array.from({ length: 380 }, (_, i) => `t=${i},temp=${20 + (i % 7)}`).join("\n") + "\n";
      await Deno.writeTextFile(`${dir}/readings.csv`, text);
      const ok = await push(`${dir}/readings.csv`, "sensor-1");
      assertEquals(ok.code, 0, ok.err);
      const doc = JSON.parse(ok.out);
      assertEquals([doc.ok, doc.device, doc.segment], [true, "sensor-1", "seg-000001"]);
      const stored = await q.read("/queen/telemetry/sensor-1/seg/seg-000001");
      const records = stored.trimEnd().split("\n").map((l) => JSON.parse(l));
      assert(records.length === doc.records && records.length > 1, `records ${records.length}`);
      assert(records.every((r, i) => r.schema === PUSH_SCHEMA && r.seq === i + 1 && r.mime === "text/csv"));
      assertEquals(records.map((r) => r.payload).join(""), text);

      await Deno.writeTextFile(`${dir}/huge.log`, "x".repeat(9000));
      const refused = await push(`${dir}/huge.log`, "sensor-2");
      assertEquals(refused.code, 1);
      assertStringIncludes(refused.err, "max_bytes_per_segment 8192; nothing was sent");
      assertEquals(
        await q.errno(q.read("/queen/telemetry/sensor-2/latest")),
        ENOENT,
        "no device, no segment",
      );
      assertEquals((await q.read("/queen/telemetry/sensor-1/latest")).trim(), "seg-000001");

      await Deno.writeTextFile(`${dir}/pic.png`, "x");
      const png = await push(`${dir}/pic.png`, "sensor-1");
      assertEquals(png.code, 1);
      assertStringIncludes(png.err, "only .txt, .log");
    } finally {
      await q.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
