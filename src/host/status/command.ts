/** `cohesix status --offline`: what a field tech needs from an image without a network. */
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { formatStatus, offlineStatus, StatusError } from "./offline.ts";
import { join } from "node:path";
import { ARTIFACTS } from "../image/artifacts.ts";
import { espSpools, formatSpool, type SpoolSummary, spoolSummary } from "./spool.ts";
import { SpoolError } from "../spool/store.ts";
import { FatError } from "../../../images/fat.ts";

const HELP = `cohesix status: versions, manifest fingerprint, size budget and verified component hashes

Usage: cohesix status --offline IMAGE|ESP|DIR [--spool DIR]... [--json]
       cohesix status --offline --spool DIR [--spool DIR]... [--json]

--offline reads only what the image carries: its attestation (cohesix/attestation.json on the
ESP, or attestation.json beside an image), the elfloader payload inside the ELF image or EFI
application (kernel.elf, kernel.dtb, rootserver), and image-manifest.json in an output directory.
Every component's sha256 is checked against the attestation. Exit 0 when all checks pass,
1 when any fails. The spool stores an ESP carries (cohesix/SPOOL/*: settings, pending telemetry)
are listed, not checked: they are written after the build. (In an output directory, esp.img is
also hashed as a build artifact: write spools to a copy of it, as a device does.)

Flags:
  --offline            inspect a built image (the only mode so far; live status goes over the console)
  --fingerprint HEX    also require this manifest fingerprint (the CI baseline) in the attestation
  --spool DIR          also list the spool store in DIR (settings, pending telemetry): records,
                       bytes against its bounds, and torn records a crash left (dropped on open)
  --json               print the report as JSON ("version": 1)

Examples:
  cohesix status --offline out/img              # a 'cohesix image' output directory
  cohesix status --offline out/img/esp.img      # the ESP as written to a USB stick
  cohesix status --offline --spool out/spool/telemetry   # a hosted spool store
  cohesix status --offline /dev/sdb1 --json     # the ESP partition of a device, for scripts
  cohesix status --offline esp.img --fingerprint 3193cc5d…   # compare with the CI baseline`;

async function listSpools(dirs: string[]): Promise<SpoolSummary[]> {
  const out: SpoolSummary[] = [];
  for (const dir of dirs) {
    try {
      out.push(await spoolSummary(dir));
    } catch (err) {
      if (err instanceof SpoolError) throw new StatusError(err.message);
      throw err;
    }
  }
  return out;
}

async function spoolsOnly(dirs: string[], json: boolean): Promise<number> {
  try {
    const spools = await listSpools(dirs);
    console.log(json ? JSON.stringify({ version: 1, spools }, null, 2) : spools.map(formatSpool).join("\n"));
    return 0;
  } catch (err) {
    if (err instanceof StatusError) {
      console.error(`cohesix status: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

export const statusCommand: Subcommand = {
  name: "status",
  summary: "offline status of an image: versions, fingerprint, budget, verified hashes",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags("status", argv, {
      offline: { type: "boolean", default: false },
      fingerprint: { type: "string" },
      json: { type: "boolean", default: false },
      spool: { type: "string", multiple: true, default: [] },
    }, true);
    const spoolDirs = values.spool as string[];
    if (!values.offline) {
      throw new UsageError(
        "status: only --offline is available (live status: use the console with 'cohesix cohsh')",
        "run 'cohesix status --help' for usage",
      );
    }
    if (positionals.length === 0 && spoolDirs.length > 0) return await spoolsOnly(spoolDirs, values.json);
    if (positionals.length !== 1) {
      throw new UsageError(
        "status: --offline takes exactly one IMAGE, ESP or DIR",
        "run 'cohesix status --help' for usage",
      );
    }
    try {
      const want = values.fingerprint?.toLowerCase();
      if (want !== undefined && !/^[0-9a-f]{64}$/.test(want)) {
        throw new UsageError(
          `status: --fingerprint must be 64 hex digits (a sha256), got '${values.fingerprint}'`,
        );
      }
      const s = await offlineStatus(positionals[0], want);
      const esp = s.kind === "esp"
        ? positionals[0]
        : s.kind === "dir"
        ? join(positionals[0], ARTIFACTS.esp)
        : undefined;
      const onEsp = esp && (await Deno.stat(esp).then((i) => i.isFile, () => false))
        ? await espSpools(esp).catch((err) => {
          if (err instanceof SpoolError || err instanceof FatError) {
            throw new StatusError(`Cannot list the spool stores on ${esp}: ${err.message}`);
          }
          throw err;
        })
        : [];
      const spools = [...onEsp, ...await listSpools(spoolDirs)];
      if (values.json) {
        console.log(JSON.stringify({ version: 1, ...s, ...(spools.length ? { spools } : {}) }, null, 2));
      } else console.log([formatStatus(s), ...spools.map(formatSpool)].join("\n"));
      return s.ok ? 0 : 1;
    } catch (err) {
      if (err instanceof StatusError) {
        console.error(`cohesix status: ${err.message}`);
        return 1;
      }
      throw err;
    }
  },
};
