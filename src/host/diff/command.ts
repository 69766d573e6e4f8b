/** `cohesix diff A B`: which manifest keys, components and hashes differ between two images or manifests. */
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { snapshotOf, unreadableInput } from "../inspect/artifact.ts";
import { compareSnapshots, formatDiff } from "./compare.ts";

const HELP = `cohesix diff: what differs between two images or manifests

Usage: cohesix diff A B [--json]

A and B are each a 'cohesix image' output directory, an ESP image, an attestation.json, a
rootfs.cpio, a manifest (configs/*.toml, compiled as 'cohesix rtc' does), a resolved manifest
(configs/generated/*_resolved.json) or a 'cohesix bundle' (archive or unpacked). Reported, in key order:
  manifest     every resolved-manifest key whose value differs (secure9p.msize, budget.total, …)
  component    every attested component whose sha256 or size differs, or that only one side has
  attestation  versions, seL4 commits, manifest fingerprint, budget
  hive         (bundles) the hive's /proc/boot facts: version, manifest, limits.*, secure9p.*, roles, gpus
Exit 0 when nothing differs, 1 when something does, 2 when an input cannot be read.

Flags:
  --json   print {"version":1,"a","b","same","manifest":[{key,a,b}],"components":[…],"attestation":[…],"hive":[…],"notes":[…]}

Examples:
  cohesix diff out/img-old out/img-new
  cohesix diff configs/root_task.toml configs/field_node.toml
  cohesix diff out/img/esp.img /dev/sdb1 --json
  cohesix diff support-before.tar.gz support-after.tar.gz      # two bundles of live hives`;

export const diffCommand: Subcommand = {
  name: "diff",
  summary: "compare two images or manifests: differing manifest keys, component hashes, attestation facts",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags(
      "diff",
      argv,
      { json: { type: "boolean", default: false } },
      true,
    );
    if (positionals.length !== 2) {
      throw new UsageError("diff: takes exactly two paths, A and B", "run 'cohesix diff --help' for usage");
    }
    try {
      const [a, b] = await Promise.all(positionals.map((p) => snapshotOf(p)));
      const r = compareSnapshots(a, b);
      console.log(values.json ? JSON.stringify({ version: 1, ...r }, null, 2) : formatDiff(r));
      return r.same ? 0 : 1;
    } catch (err) {
      const message = unreadableInput(err);
      if (message === undefined) throw err;
      console.error(`cohesix diff: ${message}`);
      return 2;
    }
  },
};
