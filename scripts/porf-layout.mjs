#!/usr/bin/env node
// Compiles a bundled guest script with Porffor (without running it) and prints, as one JSON line,
// the static data segments that overlap another one: {"pages":N,"segments":N,"overlaps":[…]}.
// An overlap means one literal or table is written over another at instantiation (see
// scripts/patch-porffor.mjs for the bug that caused them). Usage: node scripts/porf-layout.mjs FILE.js
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
globalThis.version = JSON.parse(readFileSync(join(root, "node_modules/porffor/package.json"), "utf8")).version;
const { createImport } = await import(join(root, "node_modules/porffor/compiler/builtins.js"));
const { default: compile } = await import(join(root, "node_modules/porffor/compiler/index.js"));
// The imports wrap.js declares before compiling (the guest prints; it is never run here).
createImport("print", 1, 0, () => {});
createImport("printChar", 1, 0, () => {});
createImport("time", 0, 1, () => 0);
createImport("timeOrigin", 0, 1, () => 0);

let info = null;
globalThis.compileCallback = (x) => {
  info = x;
};
compile(readFileSync(process.argv[2], "utf8"), false);
const { pages, data } = info;
const pageSize = globalThis.pageSize;
const segs = [];
for (const d of data) {
  if (d.page == null) continue;
  let off = pages.allocs?.get(d.page) ?? pages.get(d.page) * pageSize;
  if (off === 0) off = 16;
  segs.push({ off, end: off + d.bytes.length, name: String(d.page).slice(0, 60) });
}
segs.sort((a, b) => a.off - b.off);
const overlaps = [];
let last = null;
for (const s of segs) {
  if (last !== null && s.off < last.end) overlaps.push({ first: last, second: s });
  if (last === null || s.end > last.end) last = s;
}
console.log(JSON.stringify({ pages: pages.size, segments: segs.length, overlaps }));
