/**
 * Builds and runs the PolicyFS/ReplayFS guest driver (fixtures/policy_porf_entry.ts) booted from
 * configs/full.toml, under Deno or Porffor's `porf`. Shared by policy_porf_test.ts and
 * bench/policy/replay_bench.ts.
 */
import { bootConfigFromManifest } from "../../src/codegen/mod.ts";
import { bundleFixture } from "../support/porf.ts";

const ROOT = new URL("../../", import.meta.url);
const ENTRY = new URL("./fixtures/policy_porf_entry.ts", import.meta.url);

/** Bundles the driver with REPS extra replays into dir/bundle.js and returns its path. */
export async function buildPolicyDriver(dir: string, reps: number): Promise<string> {
  const boot = await bootConfigFromManifest(new URL("configs/full.toml", ROOT).pathname);
  await Deno.writeTextFile(
    `${dir}/policy_porf_boot.ts`,
    `import type { BootConfig } from "${new URL("src/guest/boot.ts", ROOT).pathname}";\n` +
      `export const BOOT: BootConfig = ${JSON.stringify(boot)};\nexport const REPS = ${reps};\n`,
  );
  return bundleFixture(ENTRY, dir);
}


/** Decodes the driver's output: plain numbers, and dumped files (between -1000 and -2000) as text. */
export function decodeDriver(out: string): (number | string)[] {
  const res: (number | string)[] = [];
  let bytes: number[] | null = null;
  for (const line of out.trim().split("\n")) {
    // porf colours numbers on a terminal-like stdout; compare the values only.
    const v = Number(line.replace(/\x1b\[[0-9;]*m/g, "").trim());
    if (v === -1000) bytes = [];
    else if (v === -2000 && bytes) {
      res.push(new TextDecoder().decode(new Uint8Array(bytes)));
      bytes = null;
    } else if (bytes) bytes.push(v);
    else res.push(v);
  }
  return res;
}
