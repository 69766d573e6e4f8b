/**
 * Tests start hives on free ports only. `cohesix dev` binds 9P on 5640 and the console on 31337 by
 * default, even with --serial (9P is still served); a test that leaves a default in place collides
 * with any other hive on the machine, and fails only when one happens to run (a parallel suite, a
 * developer's hive). Every `dev` invocation in tests/ must name --ninep-port (and, unless it serves
 * the console on --serial, --console-port).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals } from "../support/assert.ts";

const TESTS = fileURLToPath(new URL("../", import.meta.url));

async function* testFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* testFiles(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

/** `dev` invocations: argv arrays starting with "dev" and command strings running `… dev …`. */
export function devInvocations(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\[\s*"dev"\s*,[^\]]*\]/g)) found.push(m[0]);
  // Shell commands (--serial-cmd) are template strings that start with the binary: `${COHESIX} dev …`.
  for (const m of text.matchAll(/`\$\{[^}]+\}(?: run -A src\/main\.ts)? dev\s[^`]*`/g)) found.push(m[0]);
  return found;
}

Deno.test("devInvocations finds argv arrays and command strings that start a hive", () => {
  assertEquals(devInvocations('args: ["dev", "--serial"]\n`${COHESIX} dev --serial --ninep-port 0`'), [
    '["dev", "--serial"]',
    "`${COHESIX} dev --serial --ninep-port 0`",
  ]);
});

Deno.test("every hive a test starts names its ports (no default 5640/31337 that another hive may hold)", async () => {
  const bad: string[] = [];
  for await (const file of testFiles(TESTS)) {
    if (file === fileURLToPath(import.meta.url)) continue;
    const text = await Deno.readTextFile(file);
    for (const inv of devInvocations(text)) {
      const console = inv.includes("--serial") || inv.includes("--console-port");
      if (!inv.includes("--ninep-port") || !console) bad.push(`${file.slice(TESTS.length)}: ${inv}`);
    }
  }
  assertEquals(bad, []);
});
