import { assertEquals } from "../support/assert.ts";
import { checkSource, formatFinding } from "../../src/host/porf_check/rules.ts";
import { checkFiles, guestFiles } from "../../src/host/porf_check/files.ts";

function rulesAt(src: string): string[] {
  return checkSource(src, "x.ts").map((f) => `${f.line}:${f.rule}`);
}

Deno.test("checkSource flags an inner arrow that uses a local of its enclosing function", () => {
  const src = [
    "const K = 3;",
    "export function f(arr: number[], k: number) {",
    "  const local = 2;",
    "  arr.map((x) => x + K);",
    "  arr.map((x) => x + k);",
    "  return arr.map((x) => { const y = x; return y + local; });",
    "}",
  ].join("\n");
  assertEquals(rulesAt(src), ["5:closure", "6:closure"]);
});

Deno.test("checkSource allows class methods that use module constants and their own locals", () => {
  const src = "const N = 4;\nexport class A {\n  n = N;\n  m(v: number): number { const w = v * N; return w + this.n; }\n}\n";
  assertEquals(rulesAt(src), []);
});

Deno.test("checkSource flags bit operations, replace, BigInt and super.method()", () => {
  const src = [
    "export const a = (1 << 4) | 2;",
    "export function g(v: number) { let x = v; x >>>= 1; return ~x + Math.imul(x, 3); }",
    "export const s = 'ab'.replace('a', 'b');",
    "export const b = 10n + BigInt(3);",
    "class P { m() { return 1; } }",
    "export class Q extends P { override m() { return super.m(); } }",
  ].join("\n");
  assertEquals(rulesAt(src), [
    "1:bitops",
    "1:bitops",
    "2:bitops",
    "2:bitops",
    "2:bitops",
    "3:replace",
    "4:bigint",
    "4:bigint",
    "6:super-call",
  ]);
});

Deno.test("checkSource flags writes through this.<typed array field>[i] but not through a local copy", () => {
  const src = [
    "export class W {",
    "  buf: Uint8Array;",
    "  other = new Uint16Array(4);",
    "  list: number[] = [];",
    "  constructor() { this.buf = new Uint8Array(8); }",
    "  put(i: number, v: number) {",
    "    this.buf[i] = v;",
    "    this.other[i]++;",
    "    this.list[i] = v;",
    "    const buf = this.buf;",
    "    buf[i] = v;",
    "  }",
    "}",
  ].join("\n");
  assertEquals(rulesAt(src), ["7:typed-field-write", "8:typed-field-write"]);
});

Deno.test("checkSource flags non-erasable TypeScript, sans-IO breaks and try/catch", () => {
  const src = [
    "enum E { A }",
    "export class C { constructor(private x: number) {} }",
    "export async function h() { await 1; }",
    "export const t = Date.now() + Math.random();",
    "export function k() { try { return 1; } catch { return 2; } }",
  ].join("\n");
  assertEquals(rulesAt(src), ["1:erasable-ts", "2:erasable-ts", "3:sans-io", "3:sans-io", "4:sans-io", "4:sans-io", "5:try-catch"]);
});

Deno.test("checkSource honours a porf-check-ignore comment only with a rule and a reason", () => {
  const src = [
    "// porf-check-ignore bitops: values are < 256",
    "export const a = 1 | 2;",
    "// porf-check-ignore bitops:",
    "export const b = 1 | 2;",
  ].join("\n");
  assertEquals(rulesAt(src), ["4:bitops"]);
});

Deno.test("checkSource reports a parse error with its position", () => {
  const f = checkSource("export const = 1;\n", "bad.ts");
  assertEquals(f.length, 1);
  assertEquals([f[0].file, f[0].line, f[0].rule], ["bad.ts", 1, "parse"]);
});

Deno.test("guestFiles guest tree passes the Porffor check", () => {
  const files = guestFiles();
  const findings = checkFiles(files);
  assertEquals(findings.map(formatFinding), []);
});

Deno.test("checkSource flags typed arrays that outgrow Porffor's one-page allocation unless sized by an ArrayBuffer", () => {
  const src = [
    "const SMALL = 1000;",
    "const BIG = 4096 * 2;",
    "export const a = new Uint8Array(SMALL);",
    "export const b = new Float64Array(BIG);",
    "export const c = new Float64Array(new ArrayBuffer(BIG * 8));",
    "export function f(n: number) { return new Int32Array(n); }",
    "export const d = new Uint8Array(LIMIT);",
  ].join("\n");
  assertEquals(rulesAt(src), ["4:typed-array-size", "6:typed-array-size", "7:typed-array-size"]);
  // LIMIT exported by another module and small enough: no finding on line 7.
  assertEquals(
    checkSource(src, "x.ts", new Map([["LIMIT", 64]])).map((f) => f.line),
    [4, 6],
  );
});
