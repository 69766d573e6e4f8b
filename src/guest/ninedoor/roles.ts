/**
 * `RoleTable`: the boot role table compiled into segment lists, and the one access check every
 * namespace operation goes through. A rule matches a node by comparing the node's ancestry names
 * with the rule's segments in place (no path strings are built per request).
 */
import { allocI32 } from "./alloc.ts";
import type { RoleSpec } from "../boot.ts";
import type { NodeTree } from "./tree.ts";

/** Wanted access. */
export const Want = { Read: 1, Write: 2, Walk: 4 } as const;

const MATCH_NONE = 0;
const MATCH_COVERS = 1;
const MATCH_ANCESTOR = 2;

/** Longest path the access check follows; deeper nodes are refused. */
export const MAX_DEPTH = 16;

/** Splits an absolute path into its components (allocates: boot and attach time only). */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < path.length; i++) {
    const c = path.charAt(i);
    if (c === "/") {
      if (cur.length > 0) out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Mode string (`r`, `w`, `rw`) to read/write bits; -1 when malformed. */
export function parseMode(mode: string): number {
  if (mode === "r") return Want.Read;
  if (mode === "w") return Want.Write;
  if (mode === "rw") return Want.Read + Want.Write;
  return -1;
}

/** A list of compiled rules (role rules or ticket scopes). */
export class RuleList {
  segs: string[][] = [];
  modes: number[] = [];

  add(path: string, mode: number): void {
    this.segs.push(splitPath(path));
    this.modes.push(mode);
  }
}

/** Scratch ancestry of the node being checked. */
export class PathScratch {
  slots: Int32Array = allocI32(MAX_DEPTH);
  depth = 0;

  /** Fills the ancestry of `slot` (root excluded). Returns false when deeper than MAX_DEPTH. */
  load(tree: NodeTree, slot: number): boolean {
    const d = tree.depth(slot);
    if (d > MAX_DEPTH) return false;
    const slots = this.slots;
    let s = slot;
    for (let i = d - 1; i >= 0; i--) {
      slots[i] = s;
      s = tree.parent[s];
    }
    this.depth = d;
    return true;
  }
}

function segMatches(seg: string, name: string, self: string, gpu: string, shard: string): boolean {
  if (seg === "*") return true;
  if (seg === "$self") return self.length > 0 && name === self;
  if (seg === "$shard") return shard.length > 0 && name === shard;
  if (seg === "$gpu") return gpu.length > 0 && name === gpu;
  return seg === name;
}

function matchRule(
  segs: string[],
  tree: NodeTree,
  path: PathScratch,
  self: string,
  gpu: string,
  shard: string,
): number {
  const n = path.depth;
  const names = tree.names;
  const slots = path.slots;
  for (let i = 0; i < n; i++) {
    if (i === segs.length) return MATCH_NONE;
    const seg = segs[i];
    if (seg === "**") return MATCH_COVERS;
    if (!segMatches(seg, names.get(slots[i]), self, gpu, shard)) return MATCH_NONE;
  }
  if (n === segs.length) return MATCH_COVERS;
  if (segs[n] === "**") return MATCH_COVERS;
  return MATCH_ANCESTOR;
}

/** True when `rules` grant `want` on the node loaded in `path`. */
export function rulesAllow(
  rules: RuleList,
  tree: NodeTree,
  path: PathScratch,
  want: number,
  self: string,
  gpu: string,
  shard: string,
): boolean {
  const segs = rules.segs;
  const modes = rules.modes;
  for (let r = 0; r < segs.length; r++) {
    const m = matchRule(segs[r], tree, path, self, gpu, shard);
    if (m === MATCH_NONE) continue;
    if (want === Want.Walk) return true;
    if (m !== MATCH_COVERS) continue;
    const mode = modes[r];
    if (want === Want.Read && (mode === Want.Read || mode === Want.Read + Want.Write)) return true;
    if (want === Want.Write && (mode === Want.Write || mode === Want.Read + Want.Write)) return true;
  }
  return false;
}

export class RoleTable {
  names: string[] = [];
  ticket: string[] = [];
  workerSubject: boolean[] = [];
  rules: RuleList[] = [];
  quotaOps: number[] = [];
  quotaBytes: number[] = [];
  quotaFids: number[] = [];

  /** Compiles the boot roles. Returns "" or a message naming the first malformed rule. */
  load(roles: RoleSpec[]): string {
    for (let r = 0; r < roles.length; r++) {
      const spec = roles[r];
      const list = new RuleList();
      for (let k = 0; k < spec.rules.length; k++) {
        const rule = spec.rules[k];
        const mode = parseMode(rule.mode);
        if (mode < 0 || rule.path.charAt(0) !== "/") {
          return "Cannot load role " + spec.name + ": bad rule " + rule.path;
        }
        list.add(rule.path, mode);
      }
      this.names.push(spec.name);
      this.ticket.push(spec.ticket);
      this.workerSubject.push(spec.workerSubject);
      this.rules.push(list);
      this.quotaOps.push(spec.quota.ops);
      this.quotaBytes.push(spec.quota.bytes);
      this.quotaFids.push(spec.quota.fids);
    }
    return "";
  }

  indexOf(name: string): number {
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return i;
    return -1;
  }
}
