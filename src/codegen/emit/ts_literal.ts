/**
 * Writes plain data (objects, arrays, strings, safe integers, booleans) as a TypeScript literal with a
 * fixed layout: two-space indent, trailing commas, keys in insertion order, short primitive arrays on
 * one line. The output is valid for Porffor (plain data, no calls, no spreads).
 */

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const LINE = 100;

function key(k: string): string {
  return IDENT.test(k) ? k : JSON.stringify(k);
}

function primitive(value: unknown, at: string): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  throw new TypeError(`Cannot write a TypeScript literal: ${at} is ${String(value)} (${typeof value})`);
}

/** Renders `value` as a TypeScript expression starting at indentation `indent`. */
export function tsLiteral(value: unknown, indent = "", at = "$"): string {
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((v) => v === null || typeof v !== "object")) {
      const flat = `[${value.map((v, i) => primitive(v, `${at}[${i}]`)).join(", ")}]`;
      if (indent.length + flat.length <= LINE) return flat;
    }
    return `[\n${value.map((v, i) => `${inner}${tsLiteral(v, inner, `${at}[${i}]`)},\n`).join("")}${indent}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    return `{\n${entries.map(([k, v]) => `${inner}${key(k)}: ${tsLiteral(v, inner, `${at}.${k}`)},\n`).join("")}${indent}}`;
  }
  return primitive(value, at);
}
