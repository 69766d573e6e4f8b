#!/bin/sh
# Regenerates deno.lock from package.json. With "nodeModulesDir": "manual", Deno runs from the
# node_modules that `npm ci` builds and never writes a lock itself, so the lock is produced by
# `deno install` in a scratch copy and committed; tests/arch/lockfile_test.ts keeps it in step.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$root/package.json" "$root/package-lock.json" "$root/deno.json" "$tmp/"
(cd "$tmp" && "$root/node_modules/.bin/deno" install --quiet --allow-scripts=npm:deno >/dev/null 2>&1 || "$root/node_modules/.bin/deno" install --quiet >/dev/null)
cp "$tmp/deno.lock" "$root/deno.lock"
echo "update-deno-lock: wrote $root/deno.lock"
