import { assertEquals, assertMatch, assertStringIncludes, assertThrows } from "../support/assert.ts";
import { parseTrace, RecordingSession, replayTrace, TraceError } from "../../src/host/cohsh/record.ts";
import { runEmbeddedSession } from "../../src/host/demo/embedded.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const COMMANDS = ["attach queen", "cat /proc/boot", "echo recorded line > /log/queen.log", "tail /log/queen.log", "cat /nope", "ls /"];

async function record(file: string): Promise<string> {
  await runEmbeddedSession("tcp", async (s) => {
    const r = new RecordingSession(s, "tcp", file);
    for (const c of COMMANDS) await r.execute(c);
    r.close();
  }, defaultBootConfig());
  return await Deno.readTextFile(file);
}

/** Rewrites a trace's end record to match edited contents (a well-formed trace of another run). */
function reseal(text: string): string {
  const lines = text.trimEnd().split("\n").slice(0, -1);
  const hash = bytesToHex(sha256(new TextEncoder().encode(lines.map((l) => l + "\n").join(""))));
  return [...lines, JSON.stringify({ end: { records: lines.length, sha256: hash } })].join("\n") + "\n";
}

Deno.test("RecordingSession traces replay identically over tcp, 9p and serial", async () => {
  const file = await Deno.makeTempFile({ suffix: ".trace" });
  try {
    const trace = parseTrace(await record(file), file);
    assertEquals(trace.steps.map((s) => s.cmd), COMMANDS);
    assertEquals(trace.steps[4].out, ["ERR CAT reason=policy detail=invalid-path path=/nope error=ENOENT"]);
    for (const t of ["tcp", "9p", "serial"] as const) {
      const m = await runEmbeddedSession(t, (s) => replayTrace(trace, s, () => {}), defaultBootConfig());
      assertEquals(m, null, `replay over ${t}`);
    }
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("parseTrace refuses truncated, altered and foreign files", async () => {
  const file = await Deno.makeTempFile({ suffix: ".trace" });
  try {
    const text = await record(file);
    assertThrows(() => parseTrace(text.slice(0, 200), "t"), /truncated \(line \d+ is cut off\)/);
    assertThrows(() => parseTrace(text.split("\n").slice(0, 5).join("\n") + "\n", "t"), /truncated \(no end record\)/);
    assertThrows(() => parseTrace(text.replace("recorded line", "recorded lime"), "t"), /does not match the contents; the trace was altered/);
    const dropped = text.split("\n").filter((_, i) => i !== 3).join("\n");
    assertThrows(() => parseTrace(dropped, "t"), /altered/);
    assertThrows(() => parseTrace('{"schema":"other"}\n', "t"), /not a cohsh-trace\/v1 header/);
    const e = assertThrows(() => parseTrace("", "t"));
    assertEquals(e instanceof TraceError, true);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("replayTrace reports the first reply line that differs", async () => {
  const file = await Deno.makeTempFile({ suffix: ".trace" });
  try {
    const edited = reseal((await record(file)).replace('{"out":"recorded line"}', '{"out":"another line"}'));
    const m = await runEmbeddedSession("9p", (s) => replayTrace(parseTrace(edited, "t"), s, () => {}), defaultBootConfig());
    assertEquals(m?.step, 4);
    assertEquals(m?.cmd, "tail /log/queen.log");
    assertEquals([m?.expected, m?.actual], ["another line", "recorded line"]);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("cohesix trace replay exits 0 on a match, 1 on a difference and 2 on a tampered file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = async (args: string[]) => {
      const r = await new Deno.Command(COHESIX, { args, stdout: "piped", stderr: "piped" }).output();
      return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
    };
    const hiveRun = await runEmbeddedSession("tcp", async (s) => {
      const r = new RecordingSession(s, "tcp", `${dir}/a.trace`);
      for (const c of ["attach queen", "cat /proc/boot", "ls /proc"]) await r.execute(c);
      r.close();
      return 0;
    });
    assertEquals(hiveRun, 0);
    const ok = await run(["trace", "replay", `${dir}/a.trace`, "--embedded", "--quiet"]);
    assertEquals(ok.code, 0, ok.err);
    assertMatch(ok.out, /^replay ok: 3 commands, \d+ reply lines identical\n$/);
    const text = await Deno.readTextFile(`${dir}/a.trace`);
    await Deno.writeTextFile(`${dir}/b.trace`, reseal(text.replace('{"out":"boot"}', '{"out":"boots"}')));
    const diff = await run(["trace", "replay", `${dir}/b.trace`, "--embedded", "--quiet"]);
    assertEquals(diff.code, 1);
    assertStringIncludes(diff.err, `replay differs at command 3 ('ls /proc'), reply line 3: recorded "boots", got "boot"`);
    await Deno.writeTextFile(`${dir}/c.trace`, text.replace('{"out":"boot"}', '{"out":"boots"}'));
    const bad = await run(["trace", "replay", `${dir}/c.trace`, "--embedded"]);
    assertEquals([bad.code, bad.out], [2, ""]);
    assertStringIncludes(bad.err, "the trace was altered, record it again");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
