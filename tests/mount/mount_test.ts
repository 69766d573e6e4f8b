/**
 * `cohesix mount` through the real kernel FUSE (/dev/fuse), driven by the tools an operator uses:
 * ls, cat, grep, shell redirections, tail -f, stat. Every test unmounts and stops its hive even
 * when it fails.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { dirname } from "node:path";
import {
  cleanupMount,
  cohesix,
  HAS_FUSE,
  isMounted,
  manifestWith,
  sh,
  startHive,
  startMount,
  stop,
  withHiveMount,
} from "./support.ts";

const ignore = !HAS_FUSE;

Deno.test({
  name: "mount shows the namespace: ls, cat proc/boot, and stat sizes equal the bytes cat reads",
  ignore,
  fn: () =>
    withHiveMount(async (_hive, m) => {
      const ls = await sh("ls", m.dir);
      assertEquals(ls.out.trim().split("\n"), ["gpu", "log", "proc", "queen", "shard", "trace", "worker"]);
      const boot = await sh("cat proc/boot", m.dir);
      assertEquals(boot.code, 0, boot.err);
      assertMatch(boot.out, /^Cohesix boot: root-task online\nversion=/);
      // Sized files (boot, log) and files the hive generates on read (workers, fids) alike.
      // (/proc/sessions counts this very session's operations, so it changes between stat and cat.)
      for (const f of ["proc/boot", "proc/workers", "proc/fids", "log/queen.log"]) {
        const r = await sh(`stat -c %s ${f}; cat ${f} | wc -c`, m.dir);
        const [size, bytes] = r.out.trim().split("\n").map(Number);
        assert(bytes > 0, `${f} is empty`);
        assertEquals(size, bytes, `${f}: stat size ${size}, cat read ${bytes}`);
      }
    }),
});

Deno.test({
  name: "mount appends with >> and > to the queen log, grep finds the line, truncation and seeks are refused",
  ignore,
  fn: () =>
    withHiveMount(async (_hive, m) => {
      const w = await sh(
        "echo 'fuse-line-one' >> log/queen.log && echo 'fuse-line-two' > log/queen.log",
        m.dir,
      );
      assertEquals(w.code, 0, w.err);
      const g = await sh("grep -c '^fuse-line-' log/queen.log", m.dir);
      assertEquals(g.out.trim(), "2", "'>' appended instead of replacing the log");
      const t = await sh("truncate -s 0 log/queen.log", m.dir);
      assertEquals(t.code, 1);
      assertStringIncludes(t.err, "Operation not permitted");
      const f = await Deno.open(`${m.dir}/log/queen.log`, { append: true });
      try {
        let error = "";
        await f.seek(0, Deno.SeekMode.Start).catch((e) => (error = (e as Error).message));
        assertMatch(error, /Illegal seek/);
      } finally {
        f.close();
      }
      const ro = await sh("echo x > proc/boot", m.dir);
      assertEquals(ro.code, 2);
      assertStringIncludes(ro.err, "Read-only file system");
    }),
});

Deno.test({
  name:
    "mount spawns through queen/ctl; a killed worker stays listed read-only while retained, then vanishes",
  ignore,
  fn: () =>
    withHiveMount(async (_hive, m) => {
      assertEquals((await sh("ls worker", m.dir)).out, "");
      const s = await sh(`echo '{"spawn":"heartbeat","ticks":50}' > queen/ctl`, m.dir);
      assertEquals(s.code, 0, s.err);
      assertEquals((await sh("ls worker", m.dir)).out, "worker-1\n");
      assertEquals((await sh("ls worker/worker-1", m.dir)).out, "telemetry\n");
      assertStringIncludes((await sh("cat proc/workers", m.dir)).out, "worker-1 kind=heartbeat");
      const k = await sh(`echo '{"kill":"worker-1"}' >> queen/ctl`, m.dir);
      assertEquals(k.code, 0, k.err);
      // The reference manifest retains an exited worker's telemetry, read-only (workers.retain_s).
      assertEquals((await sh("ls worker", m.dir)).out, "worker-1\n");
      assertStringIncludes((await sh("cat proc/workers", m.dir)).out, "state=exited");
      let refused = "";
      await Deno.writeTextFile(`${m.dir}/worker/worker-1/telemetry`, "late\n", { append: true }).catch((
        e,
      ) => (refused = (e as Error).message));
      assertMatch(refused, /os error 30/); // EROFS
      // A refused control line is the hive's EINVAL, passed through.
      refused = "";
      await Deno.writeTextFile(`${m.dir}/queen/ctl`, '{"bogus":1}\n').catch((
        e,
      ) => (refused = (e as Error).message));
      assertMatch(refused, /os error 22/);
    }),
});

Deno.test({
  name: "mount listings are fresh: a killed worker vanishes from ls at once when the hive retains nothing",
  ignore,
  fn: async () => {
    const manifest = await manifestWith(/^retain_s = \d+$/m, "retain_s = 0");
    try {
      await withHiveMount(
        async (_hive, m) => {
          await sh(`echo '{"spawn":"heartbeat","ticks":50}' > queen/ctl`, m.dir);
          assertEquals(
            (await sh("ls worker && cat worker/worker-1/telemetry > /dev/null", m.dir)).out,
            "worker-1\n",
          );
          await sh(`echo '{"kill":"worker-1"}' >> queen/ctl`, m.dir);
          assertEquals((await sh("ls worker", m.dir)).out, "");
          const gone = await sh("cat worker/worker-1/telemetry", m.dir);
          assertStringIncludes(gone.err, "No such file or directory");
        },
        [],
        ["--manifest", manifest],
      );
    } finally {
      await Deno.remove(dirname(manifest), { recursive: true });
    }
  },
});

Deno.test({
  name: "mount lets tail -f follow a worker's telemetry and print heartbeats written after it started",
  ignore,
  fn: () =>
    withHiveMount(async (_hive, m) => {
      await sh(`echo '{"spawn":"heartbeat","ticks":60}' > queen/ctl`, m.dir);
      const file = `${m.dir}/worker/worker-1/telemetry`;
      const before = (await sh(`cat ${file}`)).out.trim().split("\n").filter((l) => l !== "");
      const lastBefore = before.length === 0 ? 0 : Number(before.at(-1)!.split(" ")[1]);
      const tail = new Deno.Command("tail", { args: ["-f", file], stdout: "piped", stderr: "null" }).spawn();
      const seen: string[] = [];
      try {
        const reader = tail.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        // Wait for the event: two heartbeats newer than anything in the file when tail started.
        while (seen.filter((l) => Number(l.split(" ")[1]) > lastBefore).length < 2) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`tail -f ended early after: ${seen.join(" | ")}`);
          buf += value;
          const lines = buf.split("\n");
          buf = lines.pop()!;
          seen.push(...lines);
        }
        await reader.cancel();
      } finally {
        tail.kill("SIGTERM");
        await tail.status;
      }
      for (const l of seen) assertMatch(l, /^heartbeat \d+$/);
    }),
});

Deno.test({
  name:
    "mount keeps cat, tail and stat working on a telemetry ring that wrapped (lost prefix reads as empty lines)",
  ignore,
  fn: () =>
    withHiveMount(async (_hive, m) => {
      await sh(`echo '{"spawn":"heartbeat","ticks":100}' > queen/ctl`, m.dir);
      // 20 lines of 100 bytes into a 1024-byte ring (telemetry.ring_bytes_per_worker).
      const fill = await sh(
        `for i in $(seq 10 29); do printf 'line-%s-%093d\\n' $i 0 >> worker/worker-1/telemetry; done`,
        m.dir,
      );
      assertEquals(fill.code, 0, fill.err);
      const before = Number((await sh("stat -c %s worker/worker-1/telemetry", m.dir)).out.trim());
      const cat = await sh("cat worker/worker-1/telemetry", m.dir);
      assertEquals(cat.code, 0, cat.err);
      const after = Number((await sh("stat -c %s worker/worker-1/telemetry", m.dir)).out.trim());
      const lines = cat.out.split("\n").filter((l) => l !== "");
      assert(!lines.some((l) => l.startsWith("line-10-")), "the overwritten first line is not invented");
      assert(lines.some((l) => l.startsWith("line-29-")), "the newest line is there");
      assert(cat.out.startsWith("\n"), "the lost prefix reads as empty lines");
      // The heartbeat keeps appending: the bytes cat read lie between the sizes stat gave around it.
      const read = new TextEncoder().encode(cat.out).length;
      assert(before <= read && read <= after, `stat ${before}..${after}, cat read ${read}`);
      const tail = await sh("tail -n 2 worker/worker-1/telemetry | cut -c1-8", m.dir);
      assertEquals(tail.code, 0, tail.err);
      assertMatch(tail.out, /line-2[89]-\n|heartbeat/);
    }),
});

Deno.test({
  name: "mount as observer refuses writes with EPERM and the hive logs the denial",
  ignore,
  fn: () =>
    withHiveMount(async (hive, queen) => {
      const obs = await startMount(hive.port, ["--role", "observer"]);
      try {
        assertStringIncludes((await sh("cat proc/boot", obs.dir)).out, "Cohesix boot");
        const w = await sh("echo sneaky >> log/queen.log", obs.dir);
        assertEquals(w.code, 2);
        assertStringIncludes(w.err, "Operation not permitted");
        const c = await sh(`echo '{"spawn":"heartbeat"}' > queen/ctl`, obs.dir);
        assertStringIncludes(c.err, "Operation not permitted");
        const log = (await sh("cat log/queen.log", queen.dir)).out;
        assertStringIncludes(log, "deny op=open role=observer subject=- path=/log/queen.log reason=role");
        assertStringIncludes(log, "deny op=open role=observer subject=- path=/queen/ctl reason=role");
        assert(!log.includes("sneaky"));
      } finally {
        await cleanupMount(obs);
      }
    }),
});

Deno.test({
  name:
    "umount unmounts an idle mount, refuses a busy one, detaches it with --lazy; the mount process exits 0",
  ignore,
  fn: async () => {
    const hive = await startHive();
    try {
      const idle = await startMount(hive.port);
      try {
        const u = await cohesix(["umount", idle.dir]);
        assertEquals(u.code, 0, u.err);
        assertEquals((await idle.child.status).code, 0);
        assert(!isMounted(idle.dir));
      } finally {
        await cleanupMount(idle);
      }
      const busy = await startMount(hive.port);
      try {
        const f = await Deno.open(`${busy.dir}/proc/boot`);
        try {
          const refused = await cohesix(["umount", busy.dir]);
          assertEquals(refused.code, 1);
          assertStringIncludes(refused.err, "is busy");
          assert(isMounted(busy.dir));
          const lazy = await cohesix(["umount", "--lazy", busy.dir]);
          assertEquals(lazy.code, 0, lazy.err);
          assert(!isMounted(busy.dir));
          // The open file still reads until it is closed.
          const buf = new Uint8Array(64);
          const n = await f.read(buf);
          assertStringIncludes(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "Cohesix boot");
        } finally {
          f.close();
        }
        assertEquals((await busy.child.status).code, 0);
      } finally {
        await cleanupMount(busy);
      }
      assertEquals((await cohesix(["umount", "/tmp"])).code, 1);
    } finally {
      await stop(hive);
    }
  },
});

Deno.test({
  name: "mount clears the stale mount a killed mount process left behind",
  ignore,
  fn: async () => {
    const hive = await startHive();
    try {
      const first = await startMount(hive.port);
      first.child.kill("SIGKILL");
      await first.child.status;
      const dead = await sh(`ls ${first.dir}`);
      assertStringIncludes(dead.err, "Transport endpoint is not connected");
      const second = await startMount(hive.port, [], first.dir);
      try {
        assertStringIncludes(second.stderr(), "cleared a stale mount");
        assertStringIncludes((await sh("cat proc/boot", second.dir)).out, "Cohesix boot");
        // A live mount is not mounted over.
        const again = await cohesix(["mount", "--port", String(hive.port), second.dir]);
        assertEquals(again.code, 1);
        assertStringIncludes(again.err, "already a mount");
      } finally {
        await cleanupMount(second);
      }
    } finally {
      await stop(hive);
    }
  },
});

Deno.test({
  name:
    "mount survives a hive restart: EIO while it is down, then the same role re-attaches and open files read again",
  ignore,
  fn: async () => {
    let hive = await startHive();
    const port = hive.port;
    const m = await startMount(port);
    try {
      await sh(`echo 'before-restart' >> log/queen.log`, m.dir);
      const f = await Deno.open(`${m.dir}/proc/boot`);
      try {
        await stop(hive);
        const down = await sh("cat proc/boot", m.dir);
        assertEquals(down.code, 1);
        assertStringIncludes(down.err, "Input/output error");
        hive = await startHive(port);
        const up = await sh("cat proc/boot && cat log/queen.log", m.dir);
        assertEquals(up.code, 0, up.err + m.stderr());
        assertStringIncludes(up.out, "Cohesix boot");
        assert(!up.out.includes("before-restart"), "the restarted hive starts a new log");
        const buf = new Uint8Array(64);
        const n = await f.read(buf);
        assertStringIncludes(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "Cohesix boot");
      } finally {
        f.close();
      }
      assertStringIncludes(m.stderr(), "re-attached");
    } finally {
      await cleanupMount(m);
      await stop(hive);
    }
  },
});

Deno.test({
  name: "mount refuses before mounting when the hive is unreachable or the attach is refused",
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "cohesix-mount-" });
    const hive = await startHive();
    try {
      const r = await cohesix([
        "mount",
        "--port",
        String(hive.port),
        "--role",
        "worker-heartbeat",
        "--ticket",
        "cht1.bad.bad",
        dir,
      ]);
      assertEquals(r.code, 1);
      assertStringIncludes(r.err, "refused the attach");
      await stop(hive);
      const dead = await cohesix(["mount", "--port", String(hive.port), dir]);
      assertEquals(dead.code, 1);
      assertStringIncludes(dead.err, "start a hive");
      assert(!isMounted(dir));
      const usage = await cohesix(["mount"]);
      assertEquals(usage.code, 2);
    } finally {
      await stop(hive);
      await Deno.remove(dir).catch(() => {});
    }
  },
});
