/**
 * Interop with an implementation nobody here wrote (Debian `diod`): its diodls/diodcat clients
 * against our server, and our client against a real diod server exporting a temp dir.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { NineServer } from "../../src/secure9p/server.ts";
import { StaticNamespace } from "../../src/secure9p/static_namespace.ts";
import { serveTcp } from "../../src/secure9p/host/tcp.ts";
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { O_RDONLY, O_RDWR } from "../../src/secure9p/namespace.ts";
import { ENOENT } from "../../src/secure9p/errors.ts";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";

const DIOD = "/usr/sbin/diod";
const enc = new TextEncoder();

async function tool(cmd: string, args: string[]) {
  const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return { code: o.code, out: o.stdout, err: new TextDecoder().decode(o.stderr) };
}

function makeNamespace() {
  const ns = new StaticNamespace();
  const etc = ns.addDir(0, "etc");
  ns.addFile(etc, "motd", enc.encode("welcome to cohesix\n"), true);
  const big = new Uint8Array(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 131 + (i >> 8)) % 256;
  ns.addFile(0, "big.bin", big, true);
  ns.addFile(0, "empty", new Uint8Array(0), true);
  return { ns, big };
}

Deno.test("NineServer serves diodls and diodcat byte-exact over TCP", async () => {
  const { ns, big } = makeNamespace();
  const server = new NineServer(ns, {
    msize: 8192,
    maxWalk: 8,
    maxSessions: 8,
    maxFidsPerSession: 32,
    maxTagsPerSession: 16,
  });
  const h = serveTcp(server, { port: 0 });
  const addr = `127.0.0.1:${h.port}`;
  try {
    const ls = await tool("/usr/sbin/diodls", ["-s", addr, "-a", "/"]);
    assertEquals([ls.code, new TextDecoder().decode(ls.out)], [0, "etc\nbig.bin\nempty\n"]);
    const lsEtc = await tool("/usr/sbin/diodls", ["-s", addr, "-a", "/", "etc"]);
    assertEquals(new TextDecoder().decode(lsEtc.out), "motd\n");
    const motd = await tool("/usr/sbin/diodcat", ["-s", addr, "-a", "/", "etc/motd"]);
    assertEquals([motd.code, new TextDecoder().decode(motd.out)], [0, "welcome to cohesix\n"]);
    // diodcat asks for msize 65536; the server grants 8192 and the 300 kB file arrives intact.
    const cat = await tool("/usr/sbin/diodcat", ["-s", addr, "-a", "/", "big.bin"]);
    assertEquals(cat.code, 0);
    assertEquals(bytesToHex(sha256(cat.out)), bytesToHex(sha256(big)));
    const empty = await tool("/usr/sbin/diodcat", ["-s", addr, "-a", "/", "empty"]);
    assertEquals([empty.code, empty.out.length], [0, 0]);
    const missing = await tool("/usr/sbin/diodcat", ["-s", addr, "-a", "/", "nope"]);
    assert(missing.code !== 0);
    assertStringIncludes(missing.err, "No such file");
    // diodls -l reuses clunked fid numbers: Secure9P refuses that ...
    const strict = await tool("/usr/sbin/diodls", ["-s", addr, "-a", "/", "-l"]);
    assertStringIncludes(strict.err, "Invalid argument");
  } finally {
    await h.close();
  }
  assertEquals([ns.sessions, ns.refs], [0, 0]);
});

Deno.test("NineServer with allowFidReuse serves diodls -l to a fid-pooling client", async () => {
  const { ns } = makeNamespace();
  const server = new NineServer(ns, {
    msize: 8192,
    maxWalk: 8,
    maxSessions: 4,
    maxFidsPerSession: 32,
    maxTagsPerSession: 16,
    allowFidReuse: true,
  });
  const h = serveTcp(server, { port: 0 });
  try {
    const ls = await tool("/usr/sbin/diodls", ["-s", `127.0.0.1:${h.port}`, "-a", "/", "-l"]);
    assertEquals(ls.code, 0, ls.err);
    const lines = new TextDecoder().decode(ls.out).trim().split("\n");
    assertEquals(lines.length, 3);
    assertEquals(lines.map((l) => l.split(/\s+/).at(-1)), ["etc", "big.bin", "empty"]);
    assert(lines[0].startsWith("drwxr-xr-x"), lines[0]);
    assert(lines[1].startsWith("-r--r--r--") && lines[1].includes(" 300000 "), lines[1]);
  } finally {
    await h.close();
  }
});

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function startDiod(dir: string) {
  const port = freePort();
  const child = new Deno.Command(DIOD, {
    args: ["-f", "-n", "-e", dir, "-l", `127.0.0.1:${port}`, "-L", "stderr"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { child, port };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(`Cannot start diod on port ${port}`);
}

async function stopDiod(child: Deno.ChildProcess) {
  child.kill("SIGTERM");
  await child.stderr.cancel();
  await child.status;
}

Deno.test("NineClient walks, creates, writes 1 MiB, reads back, lists, stats and removes on a real diod", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s9-diod-" });
  const { child, port } = await startDiod(dir);
  try {
    const c = await NineClient.dial("127.0.0.1", port, { msize: 8192 });
    assertEquals(c.msize, 8192);
    const root = c.newFid();
    const rq = await c.attach(root, "root", dir, 0);
    assertEquals(rq.type, 0x80);
    const f = c.newFid();
    assertEquals(await c.walk(root, f, []), []);
    await c.create(f, "blob", O_RDWR, 0o644);
    const data = new Uint8Array(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) % 251;
    const writes: Promise<number>[] = [];
    for (let off = 0; off < data.length; off += c.ioChunk) {
      writes.push(c.write(f, off, data.subarray(off, off + c.ioChunk)));
    }
    const counts = await Promise.all(writes);
    assertEquals(counts.reduce((a, b) => a + b, 0), data.length);
    assert(counts.every((n) => n <= 8192 - 24));
    await c.fsync(f);
    await c.clunk(f);

    const r = c.newFid();
    await c.walk(root, r, ["blob"]);
    await c.open(r, O_RDONLY);
    const back = await c.readAll(r, 4);
    assertEquals(bytesToHex(sha256(back)), bytesToHex(sha256(data)));
    assertEquals(bytesToHex(sha256(await Deno.readFile(`${dir}/blob`))), bytesToHex(sha256(data)));
    const attr = await c.getattr(r);
    assertEquals([attr.size, attr.mode & 0o170000], [1 << 20, 0o100000]);
    await c.clunk(r);

    const d = c.newFid();
    await c.walk(root, d, []);
    await c.open(d, O_RDONLY);
    const names = (await c.readdirAll(d)).map((e) => e.name).filter((n) => n !== "." && n !== "..");
    assertEquals(names, ["blob"]);
    await c.clunk(d);

    const x = c.newFid();
    await c.walk(root, x, ["blob"]);
    await c.remove(x);
    const gone = await c.walk(root, c.newFid(), ["blob"]).catch((e) => e);
    assert(gone instanceof NineError && gone.errno === ENOENT, String(gone));
    assertEquals(await Array.fromAsync(Deno.readDir(dir)), []);
    await c.clunk(root);
    c.close();
    await c.closed();
  } finally {
    await stopDiod(child);
    await Deno.remove(dir, { recursive: true });
  }
});
