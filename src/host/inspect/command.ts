/** `cohesix inspect PATH`: what an image, ESP, CPIO, trace, manifest or bundle is and what is in it. */
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { unreadableInput } from "./artifact.ts";
import { describe, formatDescription } from "./describe.ts";

const HELP = `cohesix inspect: say what a file is and what is in it

Usage: cohesix inspect PATH [--json]

PATH is recognised by its bytes:
  image directory   'cohesix image' output: artifacts with sizes and sha256, attestation facts, rootfs files
  ESP image         FAT type, every file with size and sha256, the attestation on it
  ELF image / EFI   size, sha256, the elfloader payload's members
  CPIO              members (name, size, sha256); the manifest fingerprint when it holds one
  trace             a cohsh --record trace: transport, commands and their acks (checksum verified)
  manifest          configs/*.toml (compiled) or a resolved *.json: fingerprint, limits, roles, GPUs, budget
  attestation.json  facts and components
  bundle (.tar.gz)  a 'cohesix bundle': hive, redactions, files
Exit 0 when PATH was read, 1 when it is damaged or unknown.

Flags:
  --json   print {"version":1,"path","kind","what","facts":{…},"entries":[{name,size,detail}]}

Examples:
  cohesix inspect out/img
  cohesix inspect out/img/esp.img
  cohesix inspect session.trace
  cohesix inspect configs/gpu_queen.toml --json`;

export const inspectCommand: Subcommand = {
  name: "inspect",
  summary: "what an image, ESP, CPIO, trace, manifest or bundle is and what is in it",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags(
      "inspect",
      argv,
      { json: { type: "boolean", default: false } },
      true,
    );
    if (positionals.length !== 1) {
      throw new UsageError("inspect: takes exactly one PATH", "run 'cohesix inspect --help' for usage");
    }
    try {
      const d = await describe(positionals[0]);
      console.log(
        values.json
          ? JSON.stringify({ version: 1, ...d, facts: Object.fromEntries(d.facts) }, null, 2)
          : formatDescription(d),
      );
      return 0;
    } catch (err) {
      const message = unreadableInput(err);
      if (message === undefined) throw err;
      console.error(`cohesix inspect: ${message}`);
      return 1;
    }
  },
};
