/** `cohesix image`: link the root task with seL4 into a bootable, attested image. */
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { chooseSel4Export, DEFAULT_MANIFEST } from "./defaults.ts";

const HELP = `cohesix image: link a root task with seL4 into a bootable, byte-reproducible image

Usage: cohesix image [--sel4-build DIR] [--rootserver ELF] [--manifest FILE | --no-manifest] [--uefi [--esp-fat 16|32]]
                     [--out DIR] [--no-cache] [--json]

With no flags it does the whole job: builds the native guest (or takes it from the guest build cache),
links it with the seL4 export and attests it against configs/root_task.toml.

Stages (one progress line each on stderr): rootserver, cpio (size guard), link, esp, manifest.
Writes to --out: payload.cpio (elfloader payload: kernel.elf, kernel.dtb, rootserver), rootfs.cpio
(the manifest's image.rootfs files and the resolved manifest), sel4-image.elf (boot with -kernel),
attestation.json, image-manifest.json (every artifact with size and sha256) and with --uefi
BOOTAA64.EFI and esp.img (FAT ESP: EFI/BOOT/BOOTAA64.EFI, cohesix/attestation.json, ...).
Nothing is written to --out unless every stage succeeds.

Flags:
  --sel4-build DIR   seL4 build export (sdk.json, kernel/, elfloader/, tools/); default $COHESIX_SEL4,
                     else the Cohesix kernel built from ../shared/sel4's sources (EL0 generic timer:
                     millisecond clock and tick_ms; cached in out/sel4-export), else
                     ../shared/sel4/prebuilt next to the checkout when present
  --rootserver ELF   static AArch64 root task ELF (default: the native guest, as 'cohesix guest build
                     --platform sel4' builds it, from the build cache out/guest-cache or $COHESIX_GUEST_CACHE;
                     about a minute on a cold cache, seconds on a warm one)
  --no-cache         build the native guest afresh instead of using the build cache
  --manifest FILE    coh-rtc manifest (configs/*.toml): size limit image.max_bytes, image.rootfs, image.esp
                     and the fingerprint in attestation.json (default: configs/root_task.toml)
  --no-manifest      no manifest: the limit is 4 MiB, the rootfs is empty, the fingerprint is none
  --uefi             also link the EFI application and write the FAT ESP
  --esp-fat 16|32    FAT type of the ESP (default 16: removable media and QEMU; 32 for fixed disks)
  --out DIR          output directory (default: out)
  --json             print the result as JSON on stdout ("version": 1)

Examples:
  cohesix image --uefi --out out/img                 # the native guest, attested against configs/root_task.toml
  cohesix image --manifest configs/field_node.toml --out out/field
  ../shared/sel4/examples/hello-roottask/build.sh out/rt
  cohesix image --rootserver out/rt/hello-roottask.elf --no-manifest --uefi --out out/img
  cohesix image --rootserver rt.elf --uefi --esp-fat 32          # for a fixed disk
  cohesix qemu --image out/img --expect "cohesix root task up"     # boot what was built`;

export const imageCommand: Subcommand = {
  name: "image",
  summary: "link the root task with seL4 into a CPIO payload, ELF image and UEFI ESP",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags("image", argv, {
      manifest: { type: "string" },
      "no-manifest": { type: "boolean", default: false },
      "no-cache": { type: "boolean", default: false },
      "sel4-build": { type: "string" },
      rootserver: { type: "string" },
      uefi: { type: "boolean", default: false },
      "esp-fat": { type: "string", default: "16" },
      out: { type: "string", default: "out" },
      json: { type: "boolean", default: false },
    });
    const sel4 = chooseSel4Export(values["sel4-build"]);
    if (sel4.build) {
      const { cohesixSel4Export } = await import("../sel4/kernel_export.ts");
      await cohesixSel4Export({ progress: (line) => console.error(`      ${line}`) });
    }
    if (values.manifest !== undefined && values["no-manifest"]) {
      throw new UsageError(
        "image: --manifest and --no-manifest exclude each other",
        "run 'cohesix image --help' for usage",
      );
    }
    const manifest = values["no-manifest"] ? undefined : values.manifest ?? DEFAULT_MANIFEST;
    console.error(
      `      inputs: seL4 export ${sel4.dir} (${sel4.from}), manifest ${manifest ?? "none (--no-manifest)"}`,
    );
    const espFat = values["esp-fat"];
    if (espFat !== "16" && espFat !== "32") {
      throw new UsageError(
        `image: --esp-fat must be 16 or 32, got '${espFat}'`,
        "run 'cohesix image --help' for usage",
      );
    }
    // The pipeline (linker driver, manifest compiler, guest build) loads only when an image is built,
    // so every other cohesix command starts without it.
    const { buildImage } = await import("./build.ts");
    const { knownBuildError } = await import("./errors.ts");
    try {
      const result = await buildImage({
        espFat: espFat === "32" ? 32 : 16,
        manifest,
        sel4Build: sel4.dir,
        guestCache: !values["no-cache"],
        rootserver: values.rootserver,
        uefi: values.uefi,
        out: values.out,
        progress: (line) => console.error(line),
      });
      if (values.json) {
        console.log(
          JSON.stringify(
            { version: 1, out: values.out, artifacts: result.artifacts, attestation: result.attestation },
            null,
            2,
          ),
        );
      } else {
        for (const a of result.artifacts) {
          console.log(`${a.sha256}  ${a.size.toString().padStart(9)}  ${values.out}/${a.name}`);
        }
      }
      return 0;
    } catch (err) {
      const message = knownBuildError(err);
      if (message === undefined) throw err;
      console.error(`cohesix image: ${message}`);
      return 1;
    }
  },
};
