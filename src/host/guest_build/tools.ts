/**
 * Paths of the pinned guest toolchain and a runner that names the failing stage.
 * npm tools come from the checkout's node_modules (versions pinned in package.json);
 * the cross compiler, picolibc and SIMDe come from Debian (scripts/install-deps.sh).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file is src/host/guest_build/tools.ts). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

const BIN = join(REPO_ROOT, "node_modules", ".bin");

export const TOOLS = {
  deno: join(BIN, "deno"),
  esbuild: join(BIN, "esbuild"),
  porf: join(BIN, "porf"),
  wasmOpt: join(BIN, "wasm-opt"),
  wasm2c: join(BIN, "wasm2c"),
  cc: `${Deno.env.get("CROSS_COMPILE") ?? "aarch64-linux-gnu-"}gcc`,
  ld: `${Deno.env.get("CROSS_COMPILE") ?? "aarch64-linux-gnu-"}ld`,
  strip: `${Deno.env.get("CROSS_COMPILE") ?? "aarch64-linux-gnu-"}strip`,
  qemuUser: "qemu-aarch64",
} as const;

/** A failed build or run stage: the message starts with the stage name and carries the tool's own words. */
export class StageError extends Error {
  constructor(readonly stage: string, message: string) {
    super(`${stage}: ${message}`);
    this.name = "StageError";
  }
}

export interface ToolRun {
  stdout: Uint8Array;
  stderr: string;
  code: number;
}

export interface RunToolOptions {
  cwd?: string;
  stdin?: Uint8Array;
  /** Accept a non-zero exit (the caller inspects `code`). */
  allowFailure?: boolean;
  /** Kill the tool after this many milliseconds. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** Runs one tool to completion. Throws StageError (stage, command, exit code, last stderr lines). */
export async function runTool(
  stage: string,
  cmd: string,
  args: string[],
  opts: RunToolOptions = {},
): Promise<ToolRun> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdin: opts.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new StageError(stage, `${cmd} is not installed (run 'npm ci' and scripts/install-deps.sh)`);
    }
    throw new StageError(stage, `cannot start ${cmd}: ${(err as Error).message}`);
  }
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  if (opts.timeoutMs) {
    timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, opts.timeoutMs);
  }
  const out = await child.output();
  if (timer !== undefined) clearTimeout(timer);
  const stderr = new TextDecoder().decode(out.stderr);
  if (timedOut) throw new StageError(stage, `${cmd} did not finish within ${opts.timeoutMs} ms`);
  if (!out.success && !opts.allowFailure) {
    const tail = stderr.trim().split("\n").slice(-12).join("\n");
    throw new StageError(stage, `${cmd} exited with code ${out.code}${tail ? `:\n${tail}` : ""}`);
  }
  return { stdout: out.stdout, stderr, code: out.code };
}
