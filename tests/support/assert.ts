/**
 * Assertions for tests. JSR (@std/assert) is not reachable, so these wrap node:assert,
 * whose deep-equality and diff output are well kept.
 */
import assert from "node:assert/strict";

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  assert.notDeepStrictEqual(actual, expected, message);
}

export function assert_(condition: unknown, message?: string): asserts condition {
  assert.ok(condition, message);
}
export { assert_ as assert };

export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  assert.match(actual, pattern, message);
}

export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  if (!actual.includes(expected)) {
    assert.fail(message ?? `expected string to include ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

export async function assertRejects(fn: () => Promise<unknown>, pattern?: RegExp): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail("expected the promise to reject");
}

export function assertThrows(fn: () => unknown, pattern?: RegExp): Error {
  try {
    fn();
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail("expected the function to throw");
}
