/**
 * Benchmark server process: the Secure9P server core over TCP, serving a static namespace with
 * the same files the diod run exports (f4k: 4 KiB, big: 64 MiB, same bytes). Prints "PORT <n>".
 * Usage: deno run -A bench/9p/serve.ts [maxSessions]
 */
import { HostNineServer } from "../../src/secure9p/host/fast_server.ts";
import { StaticNamespace } from "../../src/secure9p/static_namespace.ts";
import { serveTcp } from "../../src/secure9p/host/tcp.ts";
import { benchFile } from "./files.ts";

const maxSessions = Number(Deno.args[0] ?? "1100");
const ns = new StaticNamespace();
ns.addFile(0, "f4k", benchFile(4096), true);
ns.addFile(0, "big", benchFile(64 << 20), true);
const server = new HostNineServer(ns, {
  msize: 8192,
  maxWalk: 8,
  maxSessions,
  maxFidsPerSession: 16,
  maxTagsPerSession: 16,
});
const h = serveTcp(server, { port: 0 });
console.log(`PORT ${h.port}`);
Deno.addSignalListener("SIGTERM", () => {
  h.close().then(() => Deno.exit(0));
});
