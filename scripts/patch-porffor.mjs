#!/usr/bin/env node
// Fixes a Porffor 0.61.13 memory-layout bug in node_modules (run by `npm ci` as postinstall).
//
// The bug: string literals are packed into 16 KiB "bins". The bin on page 0 starts at byte 16
// (pagePtr(0) = 16 keeps 0 free as null) but may still hold a full page of bytes, so its last
// string can end up to 16 bytes into page 1, whose data segment (the function table) is written
// after it: the string's tail reads as NULs (or, the other way round, the table is damaged). Which
// string is hit depends on every literal in the bundle, hence "layout-dependent corruption": the
// known-divergent `help` text, and guest edits that broke porf parity tests far from the edit.
// The fix: a page-0 bin counts its 16 reserved bytes as used, and a bin's pointer is page*pageSize+used.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = join(root, "node_modules/porffor/compiler/codegen.js");
const check = process.argv.includes("--check");
if (!existsSync(file)) {
  // An install without dev dependencies has no Porffor to patch (and builds no guest).
  console.error(`patch-porffor: ${file} not found${check ? "" : "; nothing to patch"}`);
  process.exit(check ? 1 : 0);
}
const pkg = JSON.parse(readFileSync(join(root, "node_modules/porffor/package.json"), "utf8"));

const EDITS = [
  ["      bin = {\n        used: 0,\n        page\n      };", "      bin = {\n        used: page === 0 ? 16 : 0, // cohesix: page 0 starts at 16\n        page\n      };"],
  ["    if (!startingPtr) startingPtr = pagePtr(bin.page) + bin.used;", "    if (!startingPtr) startingPtr = bin.page * pageSize + bin.used; // cohesix: see used"],
];

let text = readFileSync(file, "utf8");
const patched = EDITS.every(([, to]) => text.includes(to));
if (patched) {
  if (!check) console.log("patch-porffor: already applied");
  process.exit(0);
}
if (check) {
  console.error(`patch-porffor: ${file} is not patched; run 'node scripts/patch-porffor.mjs' (or npm ci)`);
  process.exit(1);
}
if (pkg.version !== "0.61.13") {
  console.error(`patch-porffor: written for porffor 0.61.13, found ${pkg.version}; check whether the page-0 bin bug is fixed and update or drop this script`);
  process.exit(1);
}
for (const [from, to] of EDITS) {
  if (text.split(from).length !== 2) {
    console.error(`patch-porffor: cannot find the expected code in ${file}:\n${from}`);
    process.exit(1);
  }
  text = text.replace(from, to);
}
writeFileSync(file, text);
console.log("patch-porffor: page-0 string bin no longer overlaps page 1");
