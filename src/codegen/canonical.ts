/**
 * Canonical JSON: keys sorted at every level, two-space indent, LF line ends and one trailing LF.
 * Only integers, strings, booleans, arrays and plain objects occur in a resolved manifest; anything
 * else (floats included) is refused, so the bytes never depend on number formatting.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

function sortDeep(value: unknown, at: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => sortDeep(v, `${at}[${i}]`));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortDeep((value as Record<string, unknown>)[k], `${at}.${k}`);
    return out;
  }
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new TypeError(`Cannot write canonical JSON: ${at} is ${value}, only safe integers are allowed`);
  }
  if (typeof value !== "number" && typeof value !== "string" && typeof value !== "boolean") {
    throw new TypeError(`Cannot write canonical JSON: ${at} has unsupported type ${typeof value}`);
  }
  return value;
}

/** Serialises a value canonically (see module doc). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value, "$"), null, 2) + "\n";
}

/** Lowercase hex SHA-256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(text)));
}
