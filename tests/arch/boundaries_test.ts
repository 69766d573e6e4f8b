/** Architecture boundaries from DEVELOPERS.md, checked on every import in src/. */
import { assertEquals } from "../support/assert.ts";

const SRC = new URL("../../src/", import.meta.url);

async function* walk(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* walk(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
}

function area(path: string): string {
  const rel = path.slice(SRC.pathname.length);
  if (rel.startsWith("secure9p/host/")) return "secure9p-host";
  return rel.split("/")[0];
}

const FORBIDDEN: Record<string, string[]> = {
  guest: ["host", "codegen", "secure9p-host", "main.ts"],
  secure9p: ["guest", "host", "codegen", "secure9p-host", "main.ts"],
  "secure9p-host": ["guest", "host", "codegen", "main.ts"],
  codegen: ["host", "main.ts"],
};

Deno.test("src imports respect the guest/secure9p/host/codegen boundaries", async () => {
  const violations: string[] = [];
  for await (const file of walk(SRC)) {
    const from = area(file.pathname);
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(/^\s*(?:import|export)[^;]*?from\s+["']([^"']+)["']/gms)) {
      if (!m[1].startsWith(".")) {
        if ((from === "guest" || from === "secure9p") && !m[1].startsWith(".")) {
          violations.push(`${file.pathname}: guest code imports package '${m[1]}'`);
        }
        continue;
      }
      const to = area(new URL(m[1], file).pathname);
      if (FORBIDDEN[from]?.includes(to)) violations.push(`${file.pathname}: ${from} imports ${to} (${m[1]})`);
    }
  }
  assertEquals(violations, []);
});
