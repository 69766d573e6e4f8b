/** `cohesix dev` as a user runs it: a child process, real sockets, signals. */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { ConsoleClient } from "../../src/host/cohsh/client.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const dec = new TextDecoder();

async function firstLine(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<[string, string]> {
  let text = "";
  while (!text.includes("\n")) {
    const r = await reader.read();
    if (r.done) break;
    text += dec.decode(r.value);
  }
  const i = text.indexOf("\n");
  return [text.slice(0, i), text.slice(i + 1)];
}

async function rest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = "";
  for (;;) {
    const r = await reader.read();
    if (r.done) return text;
    text += dec.decode(r.value);
  }
}

Deno.test("cohesix dev serves on the ports it reports and stops cleanly on SIGINT", async () => {
  const child = new Deno.Command(COHESIX, {
    args: ["dev", "--ninep-port", "0", "--console-port", "0", "--auth-token", "t0ken", "--json"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = child.stdout.getReader();
  const [line, more] = await firstLine(out);
  const info = JSON.parse(line);
  assertEquals(info.version, 1);
  const c = await ConsoleClient.connectTcp("127.0.0.1", info.console.port, "t0ken");
  assertEquals((await c.request("PING")).ackLine, "OK PING reply=pong");
  child.kill("SIGINT");
  const status = await child.status;
  const tail = more + (await rest(out));
  const err = await new Response(child.stderr).text();
  assertEquals(status.code, 0, err);
  assertStringIncludes(tail, "cohesix dev: stopped (SIGINT)");
  assert((await c.readReply()).closed, "the console connection was closed by the shutdown");
  c.close();
});

Deno.test("cohesix dev exits 1 with a clear message when the console port is in use", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const r = await new Deno.Command(COHESIX, {
      args: ["dev", "--ninep-port", "0", "--console-port", String(port)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 1);
    assertEquals(
      dec.decode(r.stderr).trim(),
      `cohesix dev: Cannot listen for console on 127.0.0.1:${port}: the port is in use; stop the other process or pass --console-port <port> (0 picks a free one)`,
    );
    assertEquals(dec.decode(r.stdout), "");
  } finally {
    taken.close();
  }
});

Deno.test("cohesix dev refuses a bad port flag with exit 2", async () => {
  const r = await new Deno.Command(COHESIX, {
    args: ["dev", "--ninep-port", "0", "--console-port", "99999"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(r.code, 2);
  assertStringIncludes(dec.decode(r.stderr), "--console-port must be a port number 0..65535, got '99999'");
});

Deno.test("cohesix dev --serial serves the console on stdin and stdout", async () => {
  const child = new Deno.Command(COHESIX, {
    args: ["dev", "--serial", "--ninep-port", "0"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(
    new TextEncoder().encode("attach queen\necho /log/queen.log via serial\ntail /log/queen.log\n"),
  );
  await w.close();
  const r = await child.output();
  assertEquals(r.code, 0);
  const lines = dec.decode(r.stdout).split("\n");
  assertEquals(lines[0], "OK ATTACH role=queen");
  assertEquals(lines[1], "OK ECHO path=/log/queen.log bytes=10");
  assertEquals(lines.slice(-3), ["via serial", "END", ""]);
  assertStringIncludes(dec.decode(r.stderr), "stopped (end of input)");
});

Deno.test("cohesix dev --manifest boots from that manifest: /proc/boot shows its fingerprint and tables", async () => {
  const manifest = new URL("../../configs/gpu_queen.toml", import.meta.url).pathname;
  const { loadManifest } = await import("../../src/codegen/mod.ts");
  const { MANIFEST_FINGERPRINT } = await import("../../src/guest/generated/bootstrap.ts");
  const m = await loadManifest(manifest);
  assert(m.fingerprint !== MANIFEST_FINGERPRINT, "the profile differs from the default tables");
  const child = new Deno.Command(COHESIX, {
    args: ["dev", "--manifest", manifest, "--serial", "--ninep-port", "0"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode("attach queen\ncat /proc/boot\nls /gpu\n"));
  await w.close();
  const r = await child.output();
  assertEquals(r.code, 0, dec.decode(r.stderr));
  const out = dec.decode(r.stdout);
  assertStringIncludes(out, `\nmanifest=${m.fingerprint}\n`);
  assertStringIncludes(out, `OK LS path=/gpu entries=${m.gpu.devices.length}\n`);
});

Deno.test("cohesix dev --manifest refuses a bad manifest with its file:line and starts nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dev-manifest-" });
  try {
    const bad = `${dir}/bad.toml`;
    await Deno.writeTextFile(bad, '[root_task]\nschema = "2.0"\n');
    const r = await new Deno.Command(COHESIX, {
      args: ["dev", "--manifest", bad, "--console-port", "0", "--ninep-port", "0", "--json"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 1);
    assertEquals(dec.decode(r.stdout), "", "no ports were printed: no listener was opened");
    const err = dec.decode(r.stderr);
    assertStringIncludes(err, `cohesix dev: ${bad}:2: unsupported root_task.schema 2.0 (expected 1.0)`);
    assertStringIncludes(err, "cohesix dev: the hive was not started;");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
