/**
 * The mount benchmark's 9P server: the Secure9P server core (the one the hive runs) over TCP with a
 * static namespace holding the benchmark files. Prints "PORT <n>"; SIGTERM stops it.
 * Usage: deno run -A bench/mount/serve.ts
 */
import { HostNineServer } from "../../src/secure9p/host/fast_server.ts";
import { serveTcp } from "../../src/secure9p/host/tcp.ts";
import { StaticNamespace } from "../../src/secure9p/static_namespace.ts";
import { BENCH_FILES } from "./files.ts";

const ns = new StaticNamespace();
for (const [name, bytes] of BENCH_FILES()) ns.addFile(0, name, bytes, true);
const server = new HostNineServer(ns, {
  msize: 8192,
  maxWalk: 8,
  maxSessions: 64,
  maxFidsPerSession: 64,
  maxTagsPerSession: 16,
});
const h = serveTcp(server, { port: 0 });
console.log(`PORT ${h.port}`);
Deno.addSignalListener("SIGTERM", () => {
  h.close().then(() => Deno.exit(0));
});
