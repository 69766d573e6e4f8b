/**
 * Runs a bundled guest script under Deno and under Porffor's own engine (`porf`), returning
 * stdout. The native runs (qemu-aarch64, qemu-system-aarch64) live in `native_run.ts`.
 */
import { REPO_ROOT, runTool, StageError, TOOLS } from "./tools.ts";
import { join } from "node:path";

async function withScript<T>(js: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "cohesix-guest-" });
  try {
    const file = join(dir, "guest.js");
    await Deno.writeTextFile(file, js);
    return await fn(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function checked(stage: string, r: { stdout: Uint8Array; stderr: string; code: number }): string {
  if (r.code !== 0) {
    throw new StageError(
      stage,
      `guest exited with code ${r.code}: ${r.stderr.trim().split("\n").slice(-6).join("\n")}`,
    );
  }
  return new TextDecoder().decode(r.stdout);
}

/** Runs the script with the pinned Deno (no permissions: the guest needs none). */
export function runUnderDeno(js: string): Promise<string> {
  return withScript(
    js,
    async (file) =>
      checked(
        "run-deno",
        await runTool("run-deno", TOOLS.deno, ["run", "--no-config", "--quiet", file], {
          cwd: REPO_ROOT,
          allowFailure: true,
          timeoutMs: 120_000,
          env: { NO_COLOR: "1" },
        }),
      ),
  );
}

/** Runs the script with Porffor's own engine (`porf FILE`: compile to Wasm, run in the host engine). */
export function runUnderPorf(js: string): Promise<string> {
  return withScript(
    js,
    async (file) =>
      checked(
        "run-porf",
        await runTool("run-porf", TOOLS.porf, [file], {
          cwd: REPO_ROOT,
          allowFailure: true,
          timeoutMs: 120_000,
        }),
      ),
  );
}
