/** `cohesix guest build`: runs `buildGuest` with progress on stderr and a summary on stdout. */
import { resolve } from "node:path";
import { parseFlags, UsageError } from "../cli/command.ts";
import { buildGuest, DEFAULT_ARENA_BYTES, type GuestPlatform } from "./build.ts";
import { bootEntrySource, replayEntrySource } from "./bundle.ts";
import { StageError } from "./tools.ts";
import { canBuildSel4Export, cohesixSel4Export } from "../sel4/kernel_export.ts";

export const BUILD_HELP =
  `cohesix guest build [--out DIR] [--replay FILE]... [--platform linux|sel4|both] [--arena-mib N] [--sel4-sdk DIR]

Compiles the guest to native AArch64: esbuild bundle -> porf wasm -> wasm2c -> aarch64 gcc with
picolibc and SIMDe -> linked with src/guest/native (entry, serial, bootinfo, traps, arena report).
Writes DIR/rootserver.elf (seL4 root task) and DIR/guest-linux.elf (Linux user mode, for
qemu-aarch64). Progress per stage goes to stderr; a failed stage is named with the tool's message.
Without --replay the guest is the boot entry: the banner with the manifest fingerprint, then the
hive's serial console (PL011 on seL4, stdin/stdout under qemu-aarch64) until the input ends.
With --replay the guest first replays the given parity corpora (tests/parity/corpus/*.replay),
printing the transcript, then serves the serial console. Signed tickets are refused natively
(no Ed25519 under Porffor): only the manifest's ticketless roles attach.

Flags:
  --out DIR         output directory (default out/guest)
  --replay FILE     replay this corpus (repeatable, in order)
  --platform P      linux, sel4 or both (default both)
  --arena-mib N     Wasm linear memory reserved, MiB, even (default ${DEFAULT_ARENA_BYTES / 1048576})
  --sel4-sdk DIR    seL4 SDK export with libsel4/include (default: the Cohesix export built from
                    ../shared/sel4's sources, as cohesix image uses; else ../shared/sel4/prebuilt)

Examples:
  cohesix guest build
  cohesix guest build --out out/replay --replay tests/parity/corpus/10-console.replay --platform linux
  qemu-aarch64 out/replay/guest-linux.elf < /dev/null
  printf 'attach queen\\ncat /proc/boot\\n' | qemu-aarch64 out/guest/guest-linux.elf
`;

export async function runBuild(argv: string[]): Promise<number> {
  const { values } = parseFlags("guest build", argv, {
    out: { type: "string" },
    replay: { type: "string", multiple: true },
    platform: { type: "string" },
    "arena-mib": { type: "string" },
    "sel4-sdk": { type: "string" },
  });
  if (values.help) {
    console.log(BUILD_HELP);
    return 0;
  }
  const platform = values.platform ?? "both";
  if (!["linux", "sel4", "both"].includes(platform)) {
    throw new UsageError(`guest build: --platform must be linux, sel4 or both, got '${platform}'`);
  }
  const platforms: GuestPlatform[] = platform === "both" ? ["linux", "sel4"] : [platform as GuestPlatform];
  let arenaBytes = DEFAULT_ARENA_BYTES;
  if (values["arena-mib"] !== undefined) {
    const n = Number(values["arena-mib"]);
    if (!/^\d+$/.test(values["arena-mib"]) || n < 2 || n > 512 || n % 2 !== 0) {
      throw new UsageError(
        `guest build: --arena-mib must be an even integer 2..512, got '${values["arena-mib"]}'`,
      );
    }
    arenaBytes = n * 1048576;
  }
  let entrySource: string;
  if (values.replay && values.replay.length > 0) {
    const corpora = [];
    for (const f of values.replay) {
      try {
        corpora.push({ name: f, text: await Deno.readTextFile(f) });
      } catch {
        throw new UsageError(`guest build: cannot read corpus '${f}'`);
      }
    }
    entrySource = replayEntrySource(corpora, { pump: true });
  } else entrySource = bootEntrySource();
  const outDir = resolve(values.out ?? "out/guest");
  try {
    // The rootserver compiles against the export its image will boot: by default the Cohesix one.
    let sel4Sdk = values["sel4-sdk"];
    if (sel4Sdk === undefined && platforms.includes("sel4") && canBuildSel4Export()) {
      sel4Sdk = await cohesixSel4Export({ progress: (line) => console.error(`guest build: ${line}`) });
    }
    const r = await buildGuest({
      outDir,
      entrySource,
      platforms,
      arenaBytes,
      sel4Sdk,
      onProgress: (e) => {
        if (e.state === "start") console.error(`guest build: ${e.stage} ...`);
        else if (e.state === "progress") console.error(`guest build: ${e.stage}: ${e.detail}`);
        else console.error(`guest build: ${e.stage} done in ${e.ms} ms${e.detail ? ` (${e.detail})` : ""}`);
      },
    });
    if (r.elf) console.log(`rootserver ${r.elf} (${r.sizes["rootserver.elf"]} bytes)`);
    if (r.linuxElf) console.log(`linux-test ${r.linuxElf} (${r.sizes["guest-linux.elf"]} bytes)`);
    return 0;
  } catch (err) {
    if (err instanceof StageError) {
      console.error(`cohesix guest build: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
