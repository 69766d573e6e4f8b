/** `cohesix cohsh` and `cohesix demo` as a user runs them (child processes, real sockets). */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const dec = new TextDecoder();

async function run(args: string[], stdin?: string): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(COHESIX, { args, stdin: stdin === undefined ? "null" : "piped", stdout: "piped", stderr: "piped", env: { COHSH_HISTORY: "" } }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const r = await child.output();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

async function withScript<T>(text: string, fn: (path: string) => Promise<T>): Promise<T> {
  const path = await Deno.makeTempFile({ suffix: ".coh" });
  try {
    await Deno.writeTextFile(path, text);
    return await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("cohesix demo prints the expected acknowledgements and the appended line", async () => {
  const r = await run(["demo"]);
  assertEquals(r.code, 0, r.err);
  const lines = r.out.split("\n");
  for (const want of ["OK ATTACH role=queen", "OK ECHO path=/log/queen.log bytes=27", "OK TAIL path=/log/queen.log", "OK QUIT"]) {
    assert(lines.includes(want), `transcript has '${want}'`);
  }
  assert(lines.some((l) => l.startsWith("OK CAT path=/proc/boot data=")));
  const tail = lines.indexOf("OK TAIL path=/log/queen.log");
  const end = lines.indexOf("END", tail);
  assertEquals(lines[end - 1], "hello from the cohesix demo", "tail shows the line just appended");
  assertEquals(r.err, "");
});

Deno.test("cohesix demo transcripts are byte-identical across runs", async () => {
  const a = await run(["demo"]);
  const b = await run(["demo"]);
  assertEquals(a.code, 0);
  assertEquals(b.out, a.out);
});

Deno.test("cohesix cohsh --script exits 1 at the first unexpected ERR and names the line", async () => {
  const hive = HostedHive.start({ noNinep: true, consolePort: 0 });
  try {
    const port = String(hive.consolePort);
    const r = await withScript("attach queen\ncat /missing\nping\n", (p) => run(["cohsh", "--port", port, "--script", p]));
    assertEquals(r.code, 1);
    assertEquals(r.out, "coh> attach queen\nOK ATTACH role=queen\ncoh> cat /missing\nERR CAT reason=policy detail=invalid-path path=/missing error=ENOENT\n");
    assertStringIncludes(r.err, ":2: 'cat /missing': unexpected ERR (reply: ERR CAT reason=policy");
    const ok = await withScript("attach queen\ncat /missing\nEXPECT ERR\nping\nEXPECT OK\n", (p) => run(["cohsh", "--port", port, "--script", p]));
    assertEquals(ok.code, 0, ok.err);
  } finally {
    await hive.stop();
  }
});

Deno.test("cohesix cohsh --role attaches before running the interactive shell", async () => {
  const hive = HostedHive.start({ noNinep: true, consolePort: 0 });
  try {
    const r = await run(["cohsh", "--port", String(hive.consolePort), "--role", "queen"], "cat /proc/boot\nquit\n");
    assertEquals(r.code, 0, r.err);
    assertStringIncludes(r.out, "OK ATTACH role=queen");
    assertStringIncludes(r.out, "Cohesix boot: root-task online");
    assertStringIncludes(r.out, "OK QUIT");
  } finally {
    await hive.stop();
  }
});

Deno.test("cohesix cohsh reports an unreachable hive and a wrong token with what to do next", async () => {
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (free.addr as Deno.NetAddr).port;
  free.close();
  const r = await run(["cohsh", "--port", String(port), "--script", "demo/demo.coh"]);
  assertEquals(r.code, 1);
  assertStringIncludes(r.err, `Cannot reach the hive console at 127.0.0.1:${port} (connection refused); start one with 'cohesix dev'`);
  const hive = HostedHive.start({ noNinep: true, consolePort: 0 });
  try {
    const bad = await run(["cohsh", "--port", String(hive.consolePort), "--auth-token", "nope!!!!", "--script", "demo/demo.coh"]);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.err, "refused the console token (reason=invalid-token); pass the right --auth-token");
  } finally {
    await hive.stop();
  }
});

Deno.test("cohesix cohsh refuses a missing script file with exit 2", async () => {
  const r = await run(["cohsh", "--script", "/no/such.coh"]);
  assertEquals(r.code, 2);
  assertStringIncludes(r.err, "cannot read script '/no/such.coh': no such file");
});

Deno.test("cohesix cohsh --script --json prints one transcript document with the failure", async () => {
  const hive = HostedHive.start({ noNinep: true, consolePort: 0 });
  try {
    const port = String(hive.consolePort);
    const ok = await run(["cohsh", "--port", port, "--script", "demo/demo.coh", "--json"]);
    assertEquals(ok.code, 0, ok.err);
    const doc = JSON.parse(ok.out);
    assertEquals([doc.version, doc.ok, doc.transport, doc.failure], [1, true, "tcp", null]);
    assertEquals(doc.steps.map((s: { command: string }) => s.command), [
      "attach queen", "cat /proc/boot", "echo hello from the cohesix demo > /log/queen.log", "tail /log/queen.log", "ls /", "quit",
    ]);
    const bad = await withScript("attach queen\ncat /missing\n", (p) => run(["cohsh", "--port", port, "--script", p, "--json"]));
    assertEquals(bad.code, 1);
    const fail = JSON.parse(bad.out);
    assertEquals([fail.ok, fail.failure.line, fail.failure.reason], [false, 2, "unexpected ERR"]);
    assertEquals(fail.steps.at(-1).ok, false);
  } finally {
    await hive.stop();
  }
});

Deno.test("cohesix cohsh --transport serial drives cohesix dev --serial through its stdin and stdout", async () => {
  const r = await run(["cohsh", "--transport", "serial", "--serial-cmd", `${COHESIX} dev --serial --ninep-port 0`, "--script", "demo/demo.coh"]);
  assertEquals(r.code, 0, r.err);
  const demo = await run(["demo"]);
  // Same transcript as the demo over tcp (the demo adds a header and a footer line).
  assertEquals(r.out, demo.out.split("\n").slice(1, -2).join("\n") + "\n");
  const bad = await run(["cohsh", "--transport", "serial", "--script", "demo/demo.coh"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.err, "--transport serial needs exactly one of --serial-cmd or --serial-path");
});
