/**
 * Role isolation matrix, generated: every role of the boot role table × every node of the live tree ×
 * read/write. The expectation comes from evaluating the table's globs here, independently of the
 * namespace's matcher; a denial must be -EPERM plus exactly one audit line in /log/queen.log.
 */
import { assertEquals } from "../support/assert.ts";
import { defaultBootConfig, type RoleSpec } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EPERM, EROFS } from "../../src/secure9p/errors.ts";
import { type NodeStat, O_RDONLY, O_WRONLY } from "../../src/secure9p/namespace.ts";
import { HostTicketVerifier, keyPair } from "../../src/host/ticket/codec.ts";
import { testTicket } from "../support/tickets.ts";
import { NsClient } from "./ns_client.ts";
import { shardLabel } from "../../src/guest/ninedoor/shard.ts";

const KEY = keyPair(new Uint8Array(32).fill(5));

function ticket(role: string, subject: string): string {
  return testTicket(role, subject, "00000000000000aa", KEY.secretKey);
}

/** Glob of a rule → regex over absolute paths, for the session's subject and leased GPU. */
function ruleRegex(path: string, self: string, gpu: string): { exact: RegExp; ancestor: RegExp } {
  const shard = self === "" ? "" : shardLabel(self, 8);
  const segs = path.split("/").filter(Boolean).map((s) =>
    s === "**"
      ? "**"
      : s === "*"
      ? "[^/]+"
      : s === "$self"
      ? self
      : s === "$gpu"
      ? gpu
      : s === "$shard"
      ? shard
      : s.replace(/[.]/g, "\\.")
  );
  const tail = segs[segs.length - 1] === "**";
  const body = (tail ? segs.slice(0, -1) : segs).map((s) => "/" + s).join("");
  const exact = new RegExp("^" + body + (tail ? "(/.*)?" : "") + "$");
  // Ancestors of the rule path may be walked through.
  const prefixes = segs.filter((s) => s !== "**").map((_, i) => "/" + segs.slice(0, i).join("/"));
  const ancestor = new RegExp(
    "^(" + prefixes.map((p) => (p === "/" ? "" : p.replace(/[.]/g, "\\."))).join("|") + ")$",
  );
  return { exact, ancestor };
}

function roleAllows(
  role: RoleSpec,
  path: string,
  want: "r" | "w" | "walk",
  self: string,
  gpu: string,
): boolean {
  return role.rules.some((r) => {
    const { exact, ancestor } = ruleRegex(r.path, self, gpu);
    if (want === "walk") return exact.test(path) || ancestor.test(path) || (path === "/");
    return exact.test(path) && r.mode.includes(want);
  });
}

function allPaths(c: NsClient, dir = "/"): { path: string; isDir: boolean }[] {
  const out: { path: string; isDir: boolean }[] = [];
  for (const name of c.list(dir) as string[]) {
    const path = (dir === "/" ? "" : dir) + "/" + name;
    const isDir = ((c.stat(path) as NodeStat).mode & 0o170000) === 0o040000;
    out.push({ path, isDir });
    if (isDir) out.push(...allPaths(c, path));
  }
  return out;
}

Deno.test("NineDoor role table yields allowed or Permission plus one audit line for every role × path × read/write", () => {
  const boot = defaultBootConfig();
  boot.ticketKeys = [KEY];
  const nd = new NineDoor(boot, new HostTicketVerifier(boot.ticketKeys));
  nd.advance(0);
  const queen = new NsClient(nd, nd.attach("queen", ""));
  queen.write(
    "/queen/ctl",
    '{"spawn":"heartbeat","ticks":100}\n{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":512,"streams":1,"ttl_s":60},"budget":{"ops":100000}}\n',
  );
  const subjects: Record<string, [string, string]> = {
    "worker-heartbeat": ["worker-1", ""],
    "worker-gpu": ["worker-2", "GPU-0"],
  };
  const paths = allPaths(queen);
  let rows = 0;
  for (const role of boot.roles) {
    const [self, gpu] = subjects[role.name] ?? ["", ""];
    const session = nd.attach(role.name, role.ticket === "required" ? ticket(role.name, self) : "");
    assertEquals(session >= 0, true, role.name);
    const c = new NsClient(nd, session);
    for (const { path, isDir } of paths) {
      for (const want of ["r", "w"] as const) {
        if (isDir && want === "w") continue;
        const readOnly = ((queen.stat(path) as NodeStat).mode & 0o222) === 0;
        // The first component the role may not walk into is where the denial happens.
        const parts = path.split("/").filter(Boolean);
        const walkable = parts.every((_, i) =>
          roleAllows(role, "/" + parts.slice(0, i + 1).join("/"), "walk", self, gpu)
        );
        let expected: number;
        if (!walkable) expected = -EPERM;
        else if (want === "w" && readOnly) expected = -EROFS;
        else expected = roleAllows(role, path, want, self, gpu) ? 0 : -EPERM;
        const before = nd.logEnd();
        const node = c.open(path, want === "r" ? O_RDONLY : O_WRONLY);
        const got = node >= 0 ? 0 : node;
        assertEquals(got, expected, `${role.name} ${want} ${path}`);
        const added = new TextDecoder().decode(
          (() => {
            const b = new Uint8Array(nd.logEnd() - before);
            nd.readLog(before, b, 0, b.length);
            return b;
          })(),
        );
        const lines = added.split("\n").filter(Boolean);
        assertEquals(lines.length, expected === -EPERM ? 1 : 0, `${role.name} ${want} ${path}: ${added}`);
        if (expected === -EPERM) {
          assertEquals(lines[0].startsWith(`deny op=`) && lines[0].includes(`role=${role.name}`), true);
        }
        if (node >= 0) nd.clunk(session, node);
        rows++;
      }
    }
    nd.detach(session);
  }
  // Every role saw every node: files twice (read, write), directories once.
  const files = paths.filter((p) => !p.isDir).length;
  assertEquals(rows, boot.roles.length * (files * 2 + (paths.length - files)));
});
