/** Runs the external build tools of the image link (cross gcc, strip, objcopy, python3) with clear errors. */

export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolError";
  }
}

/** Cross-compiler prefix: $CROSS_COMPILE, or Debian's aarch64-linux-gnu-. */
export function crossPrefix(): string {
  return Deno.env.get("CROSS_COMPILE") ?? "aarch64-linux-gnu-";
}

/** Debian's python3 carries the apt modules shoehorn.py needs (yaml, elftools, libarchive). */
export function python3(): string {
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/** Runs a tool to completion; resolves to its stdout, throws ToolError with its stderr on failure. */
export async function runTool(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    })
      .output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ToolError(`Cannot run ${cmd}: not installed (run scripts/install-deps.sh)`);
    }
    throw err;
  }
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-8).join("\n");
    const tool = cmd.split("/").pop();
    throw new ToolError(
      `Cannot complete the ${tool} step (exit ${out.code}); check that the seL4 export and the root task were ` +
        `built for this toolchain (sdk.json "toolchain"). ${tool} said:\n${stderr}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}
