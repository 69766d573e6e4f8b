/**
 * The view's 9P reads against a real hosted hive: streams are read at their cursors (a worker's
 * telemetry once per new batch of heartbeats, never again), status files once per refresh, and the
 * parsers turn the hive's own text into the view model.
 */
import { assertEquals } from "../support/assert.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { openSession } from "../../src/host/cohsh/connect.ts";
import type { CohshSession } from "../../src/host/cohsh/shell.ts";
import { HiveWatcher, shardLabel, telemetryPath } from "../../src/host/ui/watcher.ts";
import {
  parseBoot,
  parseGpuInfo,
  parsePressure,
  parseSessions,
  parseWorkers,
} from "../../src/host/ui/parse.ts";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";
import { StaticNamespace } from "../../src/secure9p/static_namespace.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/**
 * A hive on a clock the test moves (`advance`), a queen console session (`shell`) and a watcher
 * attached as observer (`w`), all stopped afterwards.
 */
async function withWatchedHive(
  fn: (h: { shell: CohshSession; w: HiveWatcher; advance: (ms: number) => void }) => Promise<void>,
): Promise<void> {
  let now = 1_000_000;
  const hive = HostedHive.start({ ninepPort: 0, consolePort: 0, authToken: "t", clock: () => now });
  const shell = await openSession({
    transport: "tcp",
    hostname: "127.0.0.1",
    port: hive.consolePort,
    authToken: "t",
    timeoutMs: 5000,
  });
  const w = await HiveWatcher.attach("127.0.0.1", hive.ninepPort, "observer", "");
  try {
    await fn({ shell, w, advance: (ms) => (now += ms) });
  } finally {
    w.close();
    shell.close();
    await hive.stop();
  }
}

Deno.test(
  "HiveWatcher reads each worker's telemetry at its cursor: new heartbeats once, nothing when there are none",
  opts,
  async () => {
    await withWatchedHive(async ({ shell, w, advance }) => {
      assertEquals(w.boot.manifest, BOOT_CONFIG.manifestFingerprint);
      assertEquals((await shell.execute("attach queen"))?.ackLine, "OK ATTACH role=queen");
      assertEquals((await shell.execute("spawn heartbeat ticks=100"))?.ack?.ok, true);
      const path = "/worker/worker-1/telemetry";
      let s = await w.refresh();
      assertEquals(s.workers.map((x) => x.id), ["worker-1"]);
      assertEquals(s.workers[0].lastHeartbeat, "");
      assertEquals(w.reads.get(path) ?? 0, 0, "no telemetry yet: no read");
      // Three hive ticks: three heartbeat lines, read in one go at the cursor.
      advance(3000);
      const waitTicks = async () => {
        for (;;) {
          const ws = (await w.refresh()).workers;
          if (ws[0]?.lastHeartbeat === "heartbeat 3") return;
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await waitTicks();
      s = await w.refresh();
      assertEquals(s.workers[0].cursor, "heartbeat 1\nheartbeat 2\nheartbeat 3\n".length);
      const readsAfter = w.reads.get(path)!;
      // Quiet hive: refreshes re-read /proc/workers but never the telemetry again.
      const workersReads = w.reads.get("/proc/workers")!;
      await w.refresh();
      await w.refresh();
      assertEquals(w.reads.get(path), readsAfter);
      assertEquals(w.reads.get("/proc/workers"), workersReads + 2);
      // The queen log is followed at its cursor: the spawn line arrives once.
      assertEquals(s.log.filter((l) => l.startsWith("spawn worker=worker-1")).length, 1);
      // A killed worker leaves the view.
      // A killed worker stays in the view as exited while the hive retains its files.
      assertEquals((await shell.execute("kill worker-1"))?.ack?.ok, true);
      s = await w.refresh();
      assertEquals(s.workers.map((x) => [x.id, x.exited]), [["worker-1", "killed"]]);
      assertEquals(s.workers[0].lastHeartbeat, "heartbeat 3");
    });
  },
);

Deno.test(
  "HiveWatcher follows 40 workers within the observer's 32-fid quota (batched reads, telemetry fids recycled)",
  opts,
  async () => {
    await withWatchedHive(async ({ shell, w, advance }) => {
      await shell.execute("attach queen");
      for (let i = 0; i < 40; i++) {
        assertEquals(
          (await shell.execute("spawn heartbeat ticks=100"))?.ack?.ok,
          true,
        );
      }
      advance(2000);
      for (;;) {
        const s = await w.refresh();
        assertEquals(s.refusals, []);
        if (s.workers.length === 40 && s.workers.every((x) => x.lastHeartbeat === "heartbeat 2")) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // Each worker's two heartbeats were read once: cursors at 24 bytes, one read per worker.
      const s = await w.refresh();
      assertEquals(s.workers.every((x) => x.cursor === 24), true);
      assertEquals(
        [...w.reads.entries()].filter(([p]) => p.endsWith("/telemetry")).every(([, n]) => n === 1),
        true,
      );
    });
  },
);

Deno.test("view parsers: /proc/boot, /proc/workers, /proc/sessions, /proc/pressure and /gpu/<id>/info as the hive writes them", () => {
  const boot = parseBoot(
    "Cohesix boot: root-task online\nversion=0.1.0\nmanifest=3193cc5d\nlimits sessions=16 workers=64 tick_ms=1000 telemetry_ring_bytes=1024\n" +
      "secure9p msize=8192 walk_depth=8 tags_per_session=16\nroles=queen,observer\ngpus=GPU-0,GPU-1\n",
  );
  assertEquals(boot, {
    version: "0.1.0",
    manifest: "3193cc5d",
    maxWorkers: 64,
    maxSessions: 16,
    tickMs: 1000,
    gpus: ["GPU-0", "GPU-1"],
  });
  const ws = parseWorkers(
    "workers active=2 max=64 spawned=2\n" +
      "worker-1 kind=heartbeat tick=1 ticks=50 ops=0/10000 ttl_ms_left=298484 telemetry_start=0 telemetry_end=12 dropped=0\n" +
      "worker-3 kind=heartbeat state=exited reason=ttl tick=9 ops=4 telemetry_end=108 retain_ms_left=59000\n" +
      "worker-2 kind=gpu tick=0 ticks=0 ops=3/16 ttl_ms_left=58484 telemetry_start=0 telemetry_end=0 dropped=0 gpu=GPU-0\n",
  );
  assertEquals(ws.active, 2);
  assertEquals([
    ws.workers[1].exited,
    ws.workers[1].retainMsLeft,
    ws.workers[1].cursor,
    ws.workers[1].opsUsed,
  ], ["ttl", 59000, 108, 4]);
  assertEquals(ws.workers[0].exited, undefined);
  assertEquals(ws.workers[2], {
    id: "worker-2",
    kind: "gpu",
    tick: 0,
    ticks: 0,
    opsUsed: 3,
    opsBudget: 16,
    ttlMsLeft: 58484,
    lastHeartbeat: "",
    cursor: 0,
    dropped: 0,
    gpu: "GPU-0",
  });
  assertEquals(ws.workers[0].cursor, 12);
  assertEquals(
    parseSessions(
      "sessions active=1 max=16\nsession id=0 role=queen subject=- state=active ops=37 bytes=1673 open=1 mounts=0\n",
    ),
    [
      { id: 0, role: "queen", subject: "-", state: "active", ops: 37, bytes: 1673, open: 1 },
    ],
  );
  assertEquals(parsePressure("denied=2 quota=1 busy=0\n"), { denied: 2, quota: 1, busy: 0 });
  const gpu = parseGpuInfo(
    "GPU-0",
    '{"id":"GPU-0","model":"sim-a100","mem_mb":4096,"streams":4,"lease":{"worker":"worker-2","mem_mb":1024,"streams":2},"queued":1,"done":5}',
  );
  assertEquals([gpu.lease, gpu.leaseMemMb, gpu.memMb, gpu.queued, gpu.done], ["worker-2", 1024, 4096, 1, 5]);
  assertEquals(parseGpuInfo("GPU-1", "not json").lease, "");
});

Deno.test("telemetryPath: the legacy /worker path, or /shard/<label>/worker/<id> with the reference's labels", () => {
  assertEquals(telemetryPath({ id: "worker-1" }), "/worker/worker-1/telemetry");
  // namespace.md: worker-1 → 13, worker-2 → 1c (first byte of sha256(id)).
  assertEquals(shardLabel("worker-1"), "13");
  assertEquals(shardLabel("worker-2"), "1c");
  assertEquals(
    telemetryPath({ id: "worker-1", shard: shardLabel("worker-1") }),
    "/shard/13/worker/worker-1/telemetry",
  );
});

Deno.test(
  "HiveWatcher renders the reference layout: /proc/lifecycle/*, /proc/pressure/* files, sharded telemetry only",
  opts,
  async () => {
    // The reference namespace (namespace.md §1, §4, §7) as a static tree: what a sharding hive serves.
    const ns = new StaticNamespace();
    const enc = (t: string) => new TextEncoder().encode(t);
    const dir = (at: number, name: string) => ns.addDir(at, name);
    const file = (at: number, name: string, text: string) => ns.addFile(at, name, enc(text), true);
    const root = 0;
    const proc = dir(root, "proc");
    file(
      proc,
      "boot",
      "Cohesix boot: root-task online\nversion=9.9.9\nmanifest=abc123\nlimits sessions=4 workers=8 tick_ms=1000\ngpus=\n",
    );
    file(
      proc,
      "workers",
      "workers active=1 max=8 spawned=1\nworker-1 kind=heartbeat tick=2 ticks=10 ops=1/100 ttl_ms_left=5000 telemetry_start=0 telemetry_end=24 dropped=0\n",
    );
    file(
      proc,
      "sessions",
      "sessions active=1 max=4\nsession id=0 role=observer subject=- state=active ops=3 bytes=9 open=1 mounts=0\n",
    );
    const lc = dir(proc, "lifecycle");
    file(lc, "state", "state=DRAINING\n");
    file(lc, "reason", "reason=cordon\n");
    file(lc, "since", "since_ms=1234\n");
    const pr = dir(proc, "pressure");
    file(pr, "busy", "busy=2\n");
    file(pr, "quota", "quota=1\n");
    file(pr, "cut", "cut=0\n");
    file(pr, "policy", "policy=3\n");
    file(dir(root, "log"), "queen.log", "lifecycle transition old=ONLINE new=DRAINING reason=cordon\n");
    const shardWorker = dir(dir(dir(dir(root, "shard"), "13"), "worker"), "worker-1");
    file(shardWorker, "telemetry", "heartbeat 1\nheartbeat 2\n");
    const hive = HostedHive.start({ ninepPort: 0, noConsole: true, namespace: ns, clock: () => 0 });
    const w = await HiveWatcher.attach("127.0.0.1", hive.ninepPort, "observer", "");
    try {
      assertEquals(w.boot.version, "9.9.9");
      const s = await w.refresh();
      assertEquals(s.lifecycle, { state: "DRAINING", reason: "cordon", sinceMs: 1234 });
      assertEquals(s.pressure, { busy: 2, cut: 0, policy: 3, quota: 1 });
      assertEquals(s.workers[0].shard, "13");
      assertEquals(s.workers[0].lastHeartbeat, "heartbeat 2");
      assertEquals(s.workers[0].cursor, 24);
      assertEquals(s.log, ["lifecycle transition old=ONLINE new=DRAINING reason=cordon"]);
      assertEquals(s.refusals, []);
    } finally {
      w.close();
      await hive.stop();
    }
  },
);
