/** Unit behaviour of the compiler's helpers: key→line index, Markdown splicing, drift diff, path rules. */
import { lineDiff } from "../../src/codegen/diff.ts";
import { indexKeyLines } from "../../src/codegen/locate.ts";
import { checkAbsolutePath } from "../../src/codegen/paths.ts";
import { splice, SpliceError } from "../../src/codegen/splice.ts";
import { tsLiteral } from "../../src/codegen/emit/ts_literal.ts";
import { assert, assertEquals, assertThrows } from "../support/assert.ts";

const TOML = `# comment
top = 1
[a]
x = 1
"quoted.key" = 2
[[arr]]
v = 1
[[arr]]
v = 2
[arr.sub]
w = 3
[b]
list = [
  { p = 1 },   # first
  { p = 2 },
]
inline = [1, 2, 3]
dotted.key = "s"
`;

Deno.test("indexKeyLines maps keys, array-of-table elements and multi-line array elements to lines", () => {
  const idx = indexKeyLines(TOML);
  assertEquals(idx.lineOf(["top"]), 2);
  assertEquals(idx.lineOf(["a"]), 3);
  assertEquals(idx.lineOf(["a", "x"]), 4);
  assertEquals(idx.lineOf(["a", "quoted.key"]), 5);
  assertEquals(idx.lineOf(["arr", 0, "v"]), 7);
  assertEquals(idx.lineOf(["arr", 1]), 8);
  assertEquals(idx.lineOf(["arr", 1, "v"]), 9);
  assertEquals(idx.lineOf(["arr", 1, "sub", "w"]), 11);
  assertEquals(idx.lineOf(["b", "list", 0, "p"]), 14);
  assertEquals(idx.lineOf(["b", "list", 1]), 15);
  assertEquals(idx.lineOf(["b", "inline", 2]), 17);
  assertEquals(idx.lineOf(["b", "dotted", "key"]), 18);
});

Deno.test("indexKeyLines falls back to the nearest known ancestor, then to line 1", () => {
  const idx = indexKeyLines(TOML);
  assertEquals(idx.lineOf(["a", "missing"]), 3);
  assertEquals(idx.lineOf(["nowhere", "at", "all"]), 1);
});

const SNIPPETS = new Map([["s_limits", "| a | b |\n"]]);

Deno.test("splice replaces only the lines between matching markers", () => {
  const doc = "intro\n<!-- coh-rtc:s_limits:start -->\nold\nlines\n<!-- coh-rtc:s_limits:end -->\noutro\n";
  assertEquals(
    splice(doc, "doc.md", SNIPPETS),
    "intro\n<!-- coh-rtc:s_limits:start -->\n| a | b |\n<!-- coh-rtc:s_limits:end -->\noutro\n",
  );
});

Deno.test("splice refuses an unknown snippet name and an unclosed marker, naming file and line", () => {
  const unknown = assertThrows(() => splice("x\n<!-- coh-rtc:nope:start -->\n<!-- coh-rtc:nope:end -->\n", "d.md", SNIPPETS));
  assertEquals(unknown instanceof SpliceError, true);
  assertEquals(unknown.message, "d.md:2: unknown coh-rtc snippet 'nope' (known: s_limits)");
  const open = assertThrows(() => splice("<!-- coh-rtc:s_limits:start -->\ntext\n", "d.md", SNIPPETS));
  assertEquals(open.message, "d.md:1: coh-rtc:s_limits:start has no matching '<!-- coh-rtc:s_limits:end -->'");
});

Deno.test("lineDiff shows removed then added lines with context and is empty for equal texts", () => {
  assertEquals(lineDiff("a\nb\nc\n", "a\nb\nc\n"), "");
  assertEquals(
    lineDiff("1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\nFIVE\n6\n7\n8\n"),
    "@@ committed line 2, generated line 2 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n",
  );
});

Deno.test("checkAbsolutePath reports the first broken rule", () => {
  const rule = { label: "m", walkDepth: 2, notRoot: true };
  assertEquals(checkAbsolutePath("/a/b", rule), undefined);
  assertEquals(checkAbsolutePath("a", rule), "m 'a' must be an absolute path");
  assertEquals(checkAbsolutePath("/", rule), "m must not be root");
  assertEquals(checkAbsolutePath("/a/./b", rule), "m contains disallowed '.'");
  assertEquals(checkAbsolutePath("/a/b/c", rule), "m exceeds walk depth 2");
});

Deno.test("tsLiteral writes plain data with stable layout and refuses floats", () => {
  assertEquals(tsLiteral({ a: [1, 2], "b-c": { d: "x" }, e: [] }), '{\n  a: [1, 2],\n  "b-c": {\n    d: "x",\n  },\n  e: [],\n}');
  assertEquals(assertThrows(() => tsLiteral({ f: 0.5 })).message, "Cannot write a TypeScript literal: $.f is 0.5 (number)");
});

Deno.test("schemaSnippet documents every key of a resolved manifest", async () => {
  const { schemaSnippet } = await import("../../src/codegen/emit/schema_doc.ts");
  const { loadManifest } = await import("../../src/codegen/mod.ts");
  const documented = new Set([...schemaSnippet().matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
  const keys = new Set<string>();
  const visit = (v: unknown, key: string) => {
    if (Array.isArray(v)) {
      if (v.length > 0 && typeof v[0] === "object") v.forEach((x) => visit(x, `${key}[]`));
      else keys.add(key);
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) visit(x, key ? `${key}.${k}` : k);
    } else keys.add(key);
  };
  for (const name of ["root_task", "gpu_queen", "field_node"]) {
    const m = await loadManifest(new URL(`../../configs/${name}.toml`, import.meta.url).pathname);
    visit(JSON.parse(m.resolvedJson).manifest, "");
  }
  assertEquals([...keys].filter((k) => !documented.has(k)), []);
  assert(documented.size >= keys.size);
});
