/** Running guest code under Porffor's engine (`porf`) for the Deno/Porffor parity tests. */

const ROOT = new URL("../../", import.meta.url).pathname;
const BIN = `${ROOT}node_modules/.bin/`;

/** Runs `cmd args` from the repository root and returns its stdout; throws with its stderr when it fails. */
export async function runOk(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Bundles `entry` into `outfile` with esbuild as ESM: an IIFE bundle would turn module constants
 * into closure captures, which Porffor breaks.
 */
export async function bundleEsm(entry: string, outfile: string): Promise<void> {
  await runOk(`${BIN}esbuild`, [
    entry,
    "--bundle",
    "--format=esm",
    "--target=es2022",
    `--outfile=${outfile}`,
    "--log-level=warning",
  ]);
}

/** Runs a bundle under `porf`; returns its stdout. */
export function runPorf(bundle: string): Promise<string> {
  return runOk(`${BIN}porf`, [bundle]);
}
