/** `cohesix attest PATH`: recompute every attested hash of an image; exit 1 on any mismatch. */
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { StatusError } from "../status/offline.ts";
import { attestImage, formatAttest } from "./verify.ts";

const HELP = `cohesix attest: verify an image against its attestation.json, component by component

Usage: cohesix attest PATH [--fingerprint HEX] [--json]

PATH is a 'cohesix image' output directory, an ESP image (esp.img or a device), or an ELF image /
EFI application with attestation.json beside it. Every component attestation.json lists
(kernel.elf, kernel.dtb, rootserver, payload.cpio, rootfs.cpio, sel4-image.elf, BOOTAA64.EFI,
esp:<file>) is hashed wherever the image carries it: the files themselves, the elfloader payload
inside the ELF image and the EFI application, the ESP's files; the resolved manifest in the rootfs
must hash to the attested fingerprint. In a directory, every component must be found.
Exit 0 when everything matches (PASS), 1 on any mismatch, a missing component or unreadable media.

Flags:
  --fingerprint HEX  also require this manifest fingerprint (the trust anchor: a CI baseline, or
                     configs/generated/<name>_resolved.json.sha256) in the attestation
  --json             print {"version":1,"target","kind","fingerprint","ok","components":[…],"checks":[…]}

Examples:
  cohesix attest out/img
  cohesix attest out/img/esp.img --json
  cohesix attest out/img --fingerprint "$(cut -d' ' -f1 configs/generated/root_task_resolved.json.sha256)"
  cohesix attest /dev/sdb1`;

export const attestCommand: Subcommand = {
  name: "attest",
  summary: "recompute every hash in an image's attestation.json (PASS/FAIL, exit 1 on mismatch)",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags(
      "attest",
      argv,
      { json: { type: "boolean", default: false }, fingerprint: { type: "string" } },
      true,
    );
    if (positionals.length !== 1) {
      throw new UsageError(
        "attest: takes exactly one PATH (image directory, ESP, ELF image or EFI application)",
        "run 'cohesix attest --help' for usage",
      );
    }
    const fingerprint = values.fingerprint?.toLowerCase();
    if (fingerprint !== undefined && !/^[0-9a-f]{64}$/.test(fingerprint)) {
      throw new UsageError(
        `attest: --fingerprint must be 64 hex digits (a sha256), got '${values.fingerprint}'`,
      );
    }
    try {
      const r = await attestImage(positionals[0], fingerprint);
      console.log(values.json ? JSON.stringify({ version: 1, ...r }, null, 2) : formatAttest(r));
      return r.ok ? 0 : 1;
    } catch (err) {
      if (err instanceof StatusError) {
        console.error(`cohesix attest: ${err.message}`);
        return 1;
      }
      throw err;
    }
  },
};
