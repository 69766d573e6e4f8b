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

/**
 * Moves a guest fixture (tests/*\/fixtures/*.ts, importing the repository as "../../../src/…" or
 * "../../../tests/…") into `dir` with those imports made absolute, so it can import data files the test
 * writes next to it there, and bundles it to dir/bundle.js; returns that path.
 */
export async function bundleFixture(entry: URL, dir: string): Promise<string> {
  const text = (await Deno.readTextFile(entry)).replaceAll('"../../../', `"${ROOT}`);
  await Deno.writeTextFile(`${dir}/entry.ts`, text);
  const bundle = `${dir}/bundle.js`;
  await bundleEsm(`${dir}/entry.ts`, bundle);
  return bundle;
}

/** Runs a bundle under Deno; returns its stdout. */
export function runDeno(bundle: string): Promise<string> {
  return runOk(`${BIN}deno`, ["run", "--quiet", bundle]);
}

/** Runs a bundle under Deno and under `porf` at once; returns both stdouts. */
export function runDenoAndPorf(bundle: string): Promise<[string, string]> {
  return Promise.all([runDeno(bundle), runPorf(bundle)]);
}
