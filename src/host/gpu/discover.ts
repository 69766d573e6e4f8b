/**
 * GPU discovery through NVML's command-line face, nvidia-smi. No nvidia-smi on PATH, or a driver
 * that sees no devices, is `absent`: a normal answer on a GPU-less machine, not an error.
 */
import { NVIDIA_SMI_ARGS, parseNvidiaSmi, type GpuRow } from "./nvidia_smi.ts";

export type Discovery =
  | { state: "present"; source: string; gpus: GpuRow[] }
  | { state: "absent"; source: string; reason: string };

/** Parses a recorded nvidia-smi output (tests, demos, replaying a node's inventory). */
export async function discoverFromFixture(path: string): Promise<Discovery> {
  const gpus = parseNvidiaSmi(await Deno.readTextFile(path));
  if (gpus.length === 0) return { state: "absent", source: path, reason: "the fixture lists no GPUs" };
  return { state: "present", source: path, gpus };
}

/** Runs `nvidia-smi` (or `binary`) once. */
export async function discoverNvidiaSmi(binary = "nvidia-smi"): Promise<Discovery> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(binary, { args: NVIDIA_SMI_ARGS, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
      return { state: "absent", source: binary, reason: `${binary} not found (no NVIDIA driver on this machine)` };
    }
    throw e;
  }
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (/No devices were found/i.test(stdout + stderr)) {
    return { state: "absent", source: binary, reason: "the NVIDIA driver sees no devices" };
  }
  if (!out.success) {
    const why = (stderr || stdout).trim().split("\n")[0] || `exit ${out.code}`;
    throw new Error(`${binary} failed: ${why}; check the driver with '${binary}' by hand`);
  }
  const gpus = parseNvidiaSmi(stdout);
  if (gpus.length === 0) return { state: "absent", source: binary, reason: "nvidia-smi lists no GPUs" };
  return { state: "present", source: binary, gpus };
}
