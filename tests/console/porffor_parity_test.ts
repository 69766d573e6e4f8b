/**
 * The guest console must behave byte-identically under Deno and under Porffor's engine (`porf`).
 * A scripted session over TCP and serial consoles (success and error paths) runs against the real
 * Hive + NineDoor in both; every output byte is printed (non-printables as `.`) and compared.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bundleEsm, runOk, runPorf } from "../support/porf.ts";

const ROOT = new URL("../../", import.meta.url);

const ENTRY = `
import { defaultBootConfig } from "${new URL("src/guest/boot.ts", ROOT).pathname}";
import { Hive } from "${new URL("src/guest/hive.ts", ROOT).pathname}";
const h = new Hive(defaultBootConfig());
h.advance(0);
const out = new Uint8Array(2048);
function show(id: number): void {
  let m = h.output(id, out, 0, 2048);
  while (m > 0) {
    let s = "";
    for (let i = 0; i < m; i++) {
      const b = out[i];
      s += b >= 32 && b < 127 ? String.fromCharCode(b) : ".";
    }
    console.log(s);
    m = h.output(id, out, 0, 2048);
  }
}
function feed(id: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    off += h.input(id, bytes, off, bytes.length - off);
    show(id);
  }
}
function tcp(id: number, line: string): void {
  const b = new Uint8Array(line.length + 4);
  const total = line.length + 4;
  b[0] = total % 256;
  b[1] = Math.floor(total / 256) % 256;
  for (let i = 0; i < line.length; i++) b[i + 4] = line.charCodeAt(i);
  feed(id, b);
}
function serial(id: number, line: string): void {
  const b = new Uint8Array(line.length + 1);
  for (let i = 0; i < line.length; i++) b[i] = line.charCodeAt(i);
  b[line.length] = 10;
  feed(id, b);
}
const a = h.openConsole("tcp");
tcp(a, "AUTH changeme");
tcp(a, "help");
tcp(a, "cat /proc/boot");
tcp(a, "attach queen");
tcp(a, "cat /proc/boot");
tcp(a, "echo /log/queen.log parity line");
tcp(a, "tail /log/queen.log");
tcp(a, "ls /");
tcp(a, "ls /proc");
tcp(a, "echo /proc/boot nope");
tcp(a, "cat /missing/file");
tcp(a, "frobnicate");
tcp(a, "cat /" + "x".repeat(300));
tcp(a, "spawn {\\"spawn\\":\\"heartbeat\\",\\"ticks\\":10}");
h.advance(3000);
tcp(a, "tail /worker/worker-1/telemetry");
tcp(a, "tail -f /log/queen.log");
const b = h.openConsole("tcp");
tcp(b, "AUTH changeme");
tcp(b, "attach queen");
tcp(b, "echo /log/queen.log appended while a follows");
show(a);
tcp(a, "");
tcp(b, "quit");
h.close(b);
const b2 = h.openConsole("tcp");
tcp(b2, "AUTH changeme");
tcp(b2, "attach worker-heartbeat bogus-ticket");
tcp(b2, "attach queen");
h.advance(3100);
tcp(b2, "attach nobody");
tcp(b2, "attach queen");
h.advance(4000);
tcp(b2, "attach observer");
tcp(b2, "kill worker-1");
tcp(a, "log");
const s = h.openConsole("serial");
serial(s, "attach observer");
serial(s, "log");
serial(s, "cat /proc/bootX" + String.fromCharCode(8));
serial(s, "ping" + String.fromCharCode(7));
const c = h.openConsole("tcp");
tcp(c, "AUTH wrong!!");
console.log(h.closed(c) ? "closed" : "open");
h.close(c);
tcp(a, "quit");
console.log(h.closed(a) ? "closed" : "open");
`;

Deno.test("Hive console transcript is byte-identical under Deno and Porffor", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/entry.ts`, ENTRY);
    await bundleEsm(`${dir}/entry.ts`, `${dir}/entry.js`);
    const deno = await runOk(Deno.execPath(), ["run", "--quiet", `${dir}/entry.js`]);
    const porf = await runPorf(`${dir}/entry.js`);
    assertStringIncludes(deno, "OK LS path=/ entries=");
    assertStringIncludes(deno, "OK ECHO path=/log/queen.log bytes=11");
    assertEquals(porf, deno);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
