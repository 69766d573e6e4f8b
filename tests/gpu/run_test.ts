/**
 * `cohesix run` and the lease loop on a hosted hive (`cohesix dev --manifest configs/full.toml`):
 * lease -> run `sh -c 'echo ok'` -> START/EXIT breadcrumbs in /gpu/GPU-0/status and the output in the
 * worker's telemetry -> released; the same loop by hand through cohsh; exit codes and a crashed
 * command; Ctrl-C releases; an unknown GPU is refused without side effects; an expired lease refuses
 * job writes; two runs waiting for one GPU are served by priority.
 */
import { NineError } from "../../src/secure9p/host/client.ts";
import { EINVAL } from "../../src/secure9p/errors.ts";
import { HiveLink } from "../../src/host/cli/hive_link.ts";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { withDevPorts } from "../support/dev.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const FULL = ["--manifest", new URL("../../configs/full.toml", import.meta.url).pathname];
const dec = new TextDecoder();

async function cohesix(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(COHESIX, { args, stdout: "piped", stderr: "piped" }).output();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

function hive(port: number) {
  return HiveLink.open({ host: "127.0.0.1", port });
}

function crumbs(status: string): Record<string, unknown>[] {
  return status.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

async function leaseLines(link: HiveLink, gpu: string): Promise<Record<string, unknown>[]> {
  return (await link.read(`/gpu/${gpu}/lease`)).trim().split("\n").map((l) => JSON.parse(l));
}

/** Waits (reading the lease file as it changes) until `pred` holds. */
async function waitLease(link: HiveLink, gpu: string, pred: (l: Record<string, unknown>[]) => boolean) {
  for (;;) {
    const l = await leaseLines(link, gpu);
    if (pred(l)) return l;
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** A running `cohesix run`, with its stdout read line by line. */
function spawnRun(args: string[]) {
  const p = new Deno.Command(COHESIX, { args: ["run", ...args], stdout: "piped", stderr: "piped" }).spawn();
  const lines = p.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const err = new Response(p.stderr).text();
  return {
    p,
    err,
    async line(): Promise<string> {
      while (!buf.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`run exited early: ${await err}`);
        buf += value;
      }
      const i = buf.indexOf("\n");
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      return l;
    },
    async done(): Promise<number> {
      const st = await p.status;
      await lines.cancel().catch(() => {});
      return st.code;
    },
  };
}

Deno.test("cohesix run: lease -> sh -c 'echo ok' -> START/EXIT in /gpu/GPU-0/status, output in telemetry -> released", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const r = await cohesix(["run", "--gpu", "GPU-0", "--hive", `127.0.0.1:${ninepPort}`, "--ttl-s", "60", "--json", "--", "sh", "-c", "echo ok"]);
    assertEquals(r.code, 0, r.err);
    const [okLine, report] = r.out.trim().split("\n");
    assertEquals(okLine, "ok");
    const rep = JSON.parse(report);
    assertEquals([rep.exit_code, rep.lease, rep.telemetry_lines, rep.gpu], [0, "released", 1, "GPU-0"]);
    const link = await hive(ninepPort);
    try {
      const c = crumbs(await link.read("/gpu/GPU-0/status"));
      assertEquals(c.map((b) => [b.schema, b.event, b.status, b.exit_code]), [
        ["gpu-breadcrumb/v1", "START", "RUNNING", null],
        ["gpu-breadcrumb/v1", "EXIT", "OK", 0],
      ]);
      assertEquals([c[0].command, c[1].worker_id], ["sh -c echo ok", rep.worker]);
      assert(typeof c[1].duration_ms === "number");
      const tel = await link.read(`/worker/${rep.worker}/telemetry`);
      assertEquals(JSON.parse(tel.trim()), { run: rep.request, stream: "stdout", line: "ok" });
      const [l] = await leaseLines(link, "GPU-0");
      assertEquals([l.state, l.request, l.worker_id], ["RELEASED", rep.request, rep.worker]);
      // The lease's worker ends with it on the hive's next clock move (every 20 ms under cohesix dev).
      while (!(await link.read("/log/queen.log")).includes(`revoke worker=${rep.worker} reason=killed`)) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      link.close();
    }
  }, FULL);
});

Deno.test("cohsh: lease -> job -> breadcrumb -> observe -> release by hand on the hosted hive", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const script = await Deno.makeTempFile({ suffix: ".coh" });
    const crumb = '{"schema":"gpu-breadcrumb/v1","event":"START","command":"train","status":"RUNNING","exit_code":null}';
    await Deno.writeTextFile(script, [
      "echo LEASE req=cohsh-1 mem_mb=64 streams=1 ttl_s=60 priority=3 > /gpu/GPU-1/ctl",
      "cat /gpu/GPU-1/lease",
      'echo {"id":"j1","ms":10} > /gpu/GPU-1/job',
      `echo ${crumb} > /gpu/GPU-1/status`,
      "cat /gpu/GPU-1/status",
      "echo RELEASE > /gpu/GPU-1/ctl",
      "",
    ].join("\n"));
    const r = await cohesix(["cohsh", "--transport", "9p", "--port", String(ninepPort), "--role", "queen", "--script", script]);
    await Deno.remove(script);
    assertEquals(r.code, 0, r.out + r.err);
    assertStringIncludes(r.out, '"state":"ACTIVE","gpu_id":"GPU-1","worker_id":"worker-1","mem_mb":64');
    assertStringIncludes(r.out, '"request":"cohsh-1"');
    assertStringIncludes(r.out, "job=j1 state=RUNNING");
    assertStringIncludes(r.out, crumb);
    const link = await hive(ninepPort);
    try {
      const [l] = await waitLease(link, "GPU-1", (ls) => ls[0].state !== "ACTIVE");
      assertEquals([l.state, l.request], ["RELEASED", "cohsh-1"]);
    } finally {
      link.close();
    }
  }, FULL);
});

Deno.test("cohesix run: exit codes pass through, a crashed command is EXIT ERR 137, an unknown GPU is refused with no side effects", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const at = ["--hive", `127.0.0.1:${ninepPort}`];
    const three = await cohesix(["run", "--gpu", "GPU-0", ...at, "--", "sh", "-c", "echo e >&2; exit 3"]);
    assertEquals(three.code, 3);
    assertStringIncludes(three.err, "e\n");
    const crash = await cohesix(["run", "--gpu", "GPU-0", ...at, "--", "sh", "-c", "kill -9 $$"]);
    assertEquals(crash.code, 137);
    const link = await hive(ninepPort);
    try {
      const before = await link.read("/gpu/GPU-0/status");
      const c = crumbs(before).filter((b) => b.event === "EXIT").map((b) => [b.status, b.exit_code]);
      assertEquals(c, [["ERR", 3], ["ERR", 137]]);
      assertEquals((await leaseLines(link, "GPU-0"))[0].state, "RELEASED");
      const none = await cohesix(["run", "--gpu", "GPU-9", ...at, "--", "sh", "-c", "echo never"]);
      assertEquals(none.code, 1);
      assertStringIncludes(none.err, "the hive has no GPU 'GPU-9'");
      assertEquals(none.out, "");
      const noCmd = await cohesix(["run", "--gpu", "GPU-0", ...at]);
      assertEquals(noCmd.code, 2);
      const missing = await cohesix(["run", "--gpu", "GPU-0", ...at, "--", "/nonexistent/tool"]);
      assertEquals(missing.code, 127);
      assertEquals(crumbs(await link.read("/gpu/GPU-0/status")).at(-1)?.exit_code, 127);
      assertEquals((await leaseLines(link, "GPU-0"))[0].state, "RELEASED");
    } finally {
      link.close();
    }
  }, FULL);
});

Deno.test("cohesix run: Ctrl-C stops the command (SIGTERM), writes EXIT and releases the lease", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const run = spawnRun(["--gpu", "GPU-1", "--hive", `127.0.0.1:${ninepPort}`, "--", "sh", "-c", "echo started; exec sleep 60"]);
    assertEquals(await run.line(), "started");
    run.p.kill("SIGINT");
    assertEquals(await run.done(), 143);
    await run.err;
    const link = await hive(ninepPort);
    try {
      const c = crumbs(await link.read("/gpu/GPU-1/status"));
      assertEquals(c.map((b) => [b.event, b.status, b.exit_code]), [["START", "RUNNING", null], ["EXIT", "ERR", 143]]);
      assertEquals((await leaseLines(link, "GPU-1"))[0].state, "RELEASED");
    } finally {
      link.close();
    }
  }, FULL);
});

Deno.test("an expired lease refuses job writes on the hosted hive (ttl on the hive's clock)", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const link = await hive(ninepPort);
    try {
      await link.writeLines("/gpu/GPU-0/ctl", ["LEASE req=brief mem_mb=64 streams=1 ttl_s=1 priority=0"]);
      await link.writeLines("/gpu/GPU-0/job", ['{"id":"j1","ms":5}']);
      const [l] = await waitLease(link, "GPU-0", (ls) => ls[0].state !== "ACTIVE");
      assertEquals([l.state, l.request], ["EXPIRED", "brief"]);
      let errno = 0;
      try {
        await link.writeLines("/gpu/GPU-0/job", ['{"id":"j2","ms":5}']);
      } catch (e) {
        errno = e instanceof NineError ? e.errno : -1;
      }
      assertEquals(errno, EINVAL);
      assertStringIncludes(await link.read("/gpu/GPU-0/status"), "lease state=RELEASED reason=ttl");
    } finally {
      link.close();
    }
  }, FULL);
});

Deno.test("two runs waiting for one GPU are served by priority (9 before 1), each after the holder releases", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const dir = await Deno.makeTempDir();
    const flag = `${dir}/go`;
    const at = ["--hive", `127.0.0.1:${ninepPort}`];
    const link = await hive(ninepPort);
    try {
      const holder = spawnRun(["--gpu", "GPU-0", ...at, "--", "sh", "-c", `echo A; while [ ! -e ${flag} ]; do sleep 0.05; done`]);
      assertEquals(await holder.line(), "A");
      const low = spawnRun(["--gpu", "GPU-0", "--priority", "1", ...at, "--", "sh", "-c", "echo B"]);
      await waitLease(link, "GPU-0", (ls) => ls.filter((l) => l.state === "QUEUED").length === 1);
      const high = spawnRun(["--gpu", "GPU-0", "--priority", "9", ...at, "--", "sh", "-c", "echo C"]);
      const queued = await waitLease(link, "GPU-0", (ls) => ls.filter((l) => l.state === "QUEUED").length === 2);
      assertEquals(queued.slice(1).map((l) => [l.priority, l.position]), [[9, 1], [1, 2]]);
      await Deno.writeTextFile(flag, "");
      assertEquals(await holder.done(), 0);
      assertEquals(await high.done(), 0);
      assertEquals(await low.done(), 0);
      await Promise.all([holder.err, high.err, low.err]);
      const starts = crumbs(await link.read("/gpu/GPU-0/status")).filter((b) => b.event === "START").map((b) => b.command);
      assertEquals(starts, [`sh -c echo A; while [ ! -e ${flag} ]; do sleep 0.05; done`, "sh -c echo C", "sh -c echo B"]);
    } finally {
      link.close();
      await Deno.remove(dir, { recursive: true });
    }
  }, FULL);
});

Deno.test("cohesix run: Ctrl-C while queued withdraws the request (CANCEL); the GPU is not granted to it later", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const dir = await Deno.makeTempDir();
    const flag = `${dir}/go`;
    const at = ["--hive", `127.0.0.1:${ninepPort}`];
    const link = await hive(ninepPort);
    try {
      const holder = spawnRun(["--gpu", "GPU-1", ...at, "--", "sh", "-c", `echo A; while [ ! -e ${flag} ]; do sleep 0.05; done`]);
      assertEquals(await holder.line(), "A");
      const waiter = spawnRun(["--gpu", "GPU-1", ...at, "--", "sh", "-c", "echo never"]);
      await waitLease(link, "GPU-1", (ls) => ls.some((l) => l.state === "QUEUED"));
      waiter.p.kill("SIGINT");
      assertEquals(await waiter.done(), 1);
      assertStringIncludes(await waiter.err, "cancelled while queued");
      assertEquals((await leaseLines(link, "GPU-1")).filter((l) => l.state === "QUEUED"), []);
      await Deno.writeTextFile(flag, "");
      assertEquals(await holder.done(), 0);
      await holder.err;
      const [l] = await waitLease(link, "GPU-1", (ls) => ls[0].state !== "ACTIVE");
      assertEquals(l.state, "RELEASED");
      assertStringIncludes(await link.read("/log/queen.log"), "gpu-lease cancelled gpu=GPU-1");
      const starts = crumbs(await link.read("/gpu/GPU-1/status")).filter((b) => b.event === "START");
      assertEquals(starts.length, 1);
    } finally {
      link.close();
      await Deno.remove(dir, { recursive: true });
    }
  }, FULL);
});
