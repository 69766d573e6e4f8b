/**
 * `cohesix bundle`: from a live `cohesix dev`, an archive with /proc, the queen log, the trace
 * events, the manifest, doctor's report and a cohsh trace, in which no ticket survives (one was
 * pasted into the queen log, one sits in the recorded attach); a hive that does not answer is a
 * clear error.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { withDevPorts } from "../support/dev.ts";
import { testTicket } from "../support/tickets.ts";
import { cohesix, REPO, run, tempDir } from "../images/support.ts";
import { NineClient } from "../../src/secure9p/host/client.ts";
import { O_APPEND, O_WRONLY } from "../../src/secure9p/namespace.ts";
import { redact } from "../../src/host/bundle/redact.ts";

async function devSeed(role: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`cohesix-dev-ticket-key:${role}`));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function appendOver9p(port: number, path: string[], text: string): Promise<void> {
  const c = await NineClient.dial("127.0.0.1", port);
  try {
    const root = c.newFid();
    await c.attach(root, "queen", "");
    const fid = c.newFid();
    await c.walk(root, fid, path);
    await c.open(fid, O_WRONLY + O_APPEND);
    const attr = await c.getattr(fid);
    await c.write(fid, attr.size, new TextEncoder().encode(text));
  } finally {
    c.close();
  }
}

async function filesUnder(dir: string, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory) { for (const [k, v] of await filesUnder(dir, rel)) out.set(k, v); }
    else out.set(rel, await Deno.readTextFile(join(dir, rel)));
  }
  return out;
}

Deno.test("cohesix bundle collects /proc, the log, traces, manifest and doctor, and no ticket survives", async (t) => {
  const dir = await tempDir(t);
  try {
    await withDevPorts(async ({ consolePort, ninepPort }) => {
      const ticket = testTicket(
        "worker-heartbeat",
        "worker-1",
        "b0d1e5b0d1e5b0d1",
        await devSeed("worker-heartbeat"),
      );
      const [claims, seal] = ticket.split(".").slice(1);
      await Deno.writeTextFile(join(dir, "queen.coh"), "attach queen\nspawn heartbeat ticks=1000\n");
      const q = await cohesix(["cohsh", "--port", String(consolePort), "--script", join(dir, "queen.coh")]);
      assertEquals(q.code, 0, q.stderr);
      // The worker's session, recorded: the trace holds the attach line with the ticket.
      await Deno.writeTextFile(join(dir, "worker.coh"), "cat /proc/boot\n");
      const trace = join(dir, "worker.trace");
      const w = await cohesix([
        "cohsh",
        "--port",
        String(consolePort),
        "--role",
        "worker-heartbeat",
        "--ticket",
        ticket,
        "--record",
        trace,
        "--script",
        join(dir, "worker.coh"),
      ]);
      assertEquals(w.code, 0, w.stderr);
      assertStringIncludes(await Deno.readTextFile(trace), ticket);
      await appendOver9p(ninepPort, ["log", "queen.log"], `operator pasted ${ticket} here\n`);

      const out = join(dir, "support.tar.gz");
      const b = await cohesix([
        "bundle",
        "--hive",
        `127.0.0.1:${ninepPort}`,
        "--console-port",
        String(consolePort),
        "--out",
        out,
        "--trace",
        trace,
        "--json",
      ]);
      assertEquals(b.code, 0, b.stderr);
      const result = JSON.parse(b.stdout);
      assertMatch(result.sha256, /^[0-9a-f]{64}$/);

      const x = join(dir, "x");
      await Deno.mkdir(x);
      const untar = await run("tar", ["-xzf", out, "-C", x]);
      assertEquals(untar.code, 0, untar.stderr);
      const files = await filesUnder(join(x, "cohesix-bundle"));
      for (
        const need of [
          "bundle.json",
          "doctor.json",
          "doctor.txt",
          "hive/proc/boot",
          "hive/proc/sessions",
          "hive/proc/workers",
          "hive/proc/worker-1/trace",
          "hive/log/queen.log",
          "hive/trace/events",
          "manifest/root_task.toml",
          "manifest/resolved.json",
          "traces/worker.trace",
        ]
      ) assert(files.has(need), `${need} missing from ${[...files.keys()].join(", ")}`);

      for (const [name, text] of files) {
        for (const secret of [ticket, claims, seal]) {
          assert(!text.includes(secret), `${name} still holds the ticket`);
        }
      }
      assertStringIncludes(files.get("hive/log/queen.log")!, "operator pasted cht1.<redacted> here");
      assertStringIncludes(files.get("traces/worker.trace")!, "attach worker-heartbeat cht1.<redacted>");

      const doc = JSON.parse(files.get("bundle.json")!);
      assertEquals([doc.schema, doc.role, doc.manifest.matches_hive], ["cohesix-bundle/1", "queen", true]);
      assert(doc.redactions >= 2, String(doc.redactions));
      assertEquals(
        doc.files.map((f: { path: string }) => f.path),
        [...files.keys()].filter((k) => k !== "bundle.json").sort(),
      );
      assertEquals(JSON.parse(files.get("doctor.json")!).version, 1);
      assertStringIncludes(files.get("hive/proc/workers")!, "worker-1 kind=heartbeat");

      // inspect reads the archive and the unpacked directory alike.
      for (const target of [out, join(x, "cohesix-bundle")]) {
        const i = await cohesix(["inspect", target, "--json"]);
        assertEquals(i.code, 0, i.stderr);
        const d = JSON.parse(i.stdout);
        assertEquals([d.what, d.facts.redactions, d.entries.length], [
          "a cohesix support bundle (cohesix-bundle/1)",
          String(doc.redactions),
          doc.files.length,
        ]);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cohesix bundle refuses a hive that does not answer and a missing --hive, writing nothing", async (t) => {
  const dir = await tempDir(t);
  try {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const out = join(dir, "b.tar.gz");
    const r = await cohesix(["bundle", "--hive", `127.0.0.1:${port}`, "--out", out]);
    assertEquals(r.code, 1);
    assertMatch(
      r.stderr,
      /cohesix bundle: Cannot reach the hive's 9P service at 127\.0\.0\.1:\d+ .*start one with 'cohesix dev'/,
    );
    assertEquals(await Deno.stat(out).then(() => true, () => false), false);
    assertEquals((await cohesix(["bundle", "--out", out])).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("redact replaces whole and cut tickets, AUTH tokens and key fields, and counts them", () => {
  const r = redact(
    'attach worker cht1.o2Fy.c2Vh\ncut at the line end: cht1.o2FyZ\nAUTH s3cret\n{"secret_key":"abcd","public_key":"ef01"}\n' +
      "the form cht1.<claims>.<seal> is documentation\n",
  );
  assertEquals(
    r.text,
    'attach worker cht1.<redacted>\ncut at the line end: cht1.<redacted>\nAUTH <redacted>\n{"secret_key":"<redacted>","public_key":"ef01"}\n' +
      "the form cht1.<claims>.<seal> is documentation\n",
  );
  assertEquals(r.count, 4);
});

/** `cohesix dev` with extra flags on free ports; resolves to its 9P port and a stop function. */
async function dev(...extra: string[]): Promise<{ ninepPort: number; stop: () => Promise<void> }> {
  const child = new Deno.Command(join(REPO, "cohesix"), {
    args: ["dev", "--console-port", "0", "--ninep-port", "0", "--json", ...extra],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`cohesix dev exited: ${first}`);
    first += value;
  }
  const stop = async () => {
    child.kill("SIGTERM");
    await reader.cancel();
    await child.status;
  };
  return { ninepPort: JSON.parse(first.slice(0, first.indexOf("\n"))).ninep.port, stop };
}

Deno.test("cohesix diff compares two bundles: the hives' manifests and /proc/boot facts", async (t) => {
  const dir = await tempDir(t);
  const a = await dev();
  const b = await dev("--manifest", join(REPO, "configs/gpu_queen.toml"));
  try {
    const bundles: string[] = [];
    for (const [name, h, manifest] of [["a", a, "root_task"], ["b", b, "gpu_queen"]] as const) {
      const out = join(dir, `${name}.tar.gz`);
      const r = await cohesix([
        "bundle",
        "--hive",
        `127.0.0.1:${h.ninepPort}`,
        "--out",
        out,
        "--manifest",
        join(REPO, `configs/${manifest}.toml`),
      ]);
      assertEquals(r.code, 0, r.stderr);
      bundles.push(out);
    }
    const same = await cohesix(["diff", bundles[0], bundles[0], "--json"]);
    assertEquals([same.code, JSON.parse(same.stdout).same], [0, true]);

    const r = await cohesix(["diff", bundles[0], bundles[1], "--json"]);
    assertEquals(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout);
    const keys = (cs: { key: string }[]) => cs.map((c) => c.key);
    assert(keys(doc.manifest).includes("secure9p.tags_per_session"), keys(doc.manifest).join(", "));
    assertEquals(doc.hive.find((c: { key: string }) => c.key === "secure9p.tags_per_session"), {
      key: "secure9p.tags_per_session",
      a: "16",
      b: "32",
    });
    assert(keys(doc.hive).includes("manifest"));
    // A bundle against the manifest its hive runs: no manifest key differs.
    const vs = await cohesix(["diff", bundles[1], join(REPO, "configs/gpu_queen.toml"), "--json"]);
    assertEquals([JSON.parse(vs.stdout).manifest, JSON.parse(vs.stdout).notes.length], [[], 1]);
  } finally {
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
