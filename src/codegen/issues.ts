/**
 * Turns zod issues into one-line messages that say what is wrong and what is allowed. The wording of
 * numeric bounds follows the reference compiler (`secure9p.msize 9000 exceeds maximum 8192`).
 */
import type { z } from "zod";
import { keyOf } from "./errors.ts";

type Issue = z.core.$ZodIssue;

/** The value at `path` inside the parsed TOML, or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const part of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

/** Describes a TOML value's type the way a manifest author thinks of it. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "object") return value instanceof Date ? "a date" : "a table";
  if (typeof value === "number") return Number.isInteger(value) ? `integer ${value}` : `float ${value}`;
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

const EXPECTED: Record<string, string> = {
  int: "an integer",
  number: "an integer",
  boolean: "true or false",
  string: "a string",
  object: "a table",
  array: "an array",
};

/** Unwraps defaults/optionals and walks object shapes and array elements to the schema at `path`. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let cur: any = schema;
  const unwrap = () => {
    while (cur?._zod?.def?.innerType) cur = cur._zod.def.innerType;
  };
  unwrap();
  for (const part of path) {
    if (typeof part === "number") cur = cur?._zod?.def?.element;
    else cur = cur?._zod?.def?.shape?.[part];
    unwrap();
    if (!cur) return undefined;
  }
  return cur;
}

/** Maps one issue to `{ path, message }` pairs (an unknown-keys issue yields one per key). */
export function issueMessages(
  issue: Issue,
  input: unknown,
  schema: z.ZodType,
): { path: PropertyKey[]; message: string }[] {
  const path = issue.path as PropertyKey[];
  const key = keyOf(path);
  const value = valueAt(input, path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const shape = (schemaAt(schema, path) as any)?._zod?.def?.shape ?? {};
      const allowed = Object.keys(shape).sort().join(", ");
      return issue.keys.map((k) => ({
        path: [...path, k],
        message: `unknown key ${keyOf([...path, k])} (allowed${key ? ` in ${key}` : ""}: ${allowed})`,
      }));
    }
    case "invalid_type": {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (value === undefined) {
        const what = issue.expected === "object" ? `table [${key}]` : `key ${key}`;
        return [{ path, message: `missing required ${what} (${expected})` }];
      }
      return [{ path, message: `${key} must be ${expected}, got ${describe(value)}` }];
    }
    case "invalid_value": {
      const allowed = issue.values.map(String).join(", ");
      return [{ path, message: `${key} ${JSON.stringify(value)} is not allowed (allowed: ${allowed})` }];
    }
    case "too_big": {
      const max = Number(issue.maximum);
      if (issue.origin === "array") {
        const n = Array.isArray(value) ? value.length : 0;
        return [{ path, message: `${key} has ${n} entries, more than the maximum ${max}` }];
      }
      if (issue.origin === "string") return [{ path, message: `${key} is longer than ${max} characters` }];
      return [{ path, message: `${key} ${String(value)} exceeds maximum ${max}` }];
    }
    case "too_small": {
      const min = Number(issue.minimum);
      if (issue.origin === "array") {
        return [{ path, message: `${key} must have at least ${min} ${min === 1 ? "entry" : "entries"}` }];
      }
      if (issue.origin === "string") return [{ path, message: `${key} must not be empty` }];
      return [{ path, message: `${key} must be >= ${min}, got ${String(value)}` }];
    }
    case "invalid_format": {
      const pattern = "pattern" in issue && issue.pattern ? ` (allowed: ${String(issue.pattern)})` : "";
      return [{ path, message: `${key} ${describe(value)} has the wrong format${pattern}` }];
    }
    default:
      return [{ path, message: `${key}: ${issue.message}` }];
  }
}
