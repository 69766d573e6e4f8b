/** `cohesix guest`: guest tooling — the static Porffor check and the native guest build. */
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { CHECK_HELP, runCheck } from "../porf_check/command.ts";
import { BUILD_HELP, runBuild } from "./build_command.ts";

export const SERIAL_HELP = `cohesix guest serial IMAGE [--timeout S]

Boots an seL4 image (the elfloader ELF, e.g. OUT/sel4-image.elf from 'cohesix image') under
qemu-system-aarch64 and puts the guest's serial console on stdin/stdout: the boot log up to
"cohesix: serial console ready" goes to stderr, input waits until then. QEMU stops when stdin
ends, on Ctrl-C, or after --timeout (default 600 s).

Example:
  cohesix cohsh --transport serial --serial-cmd 'cohesix guest serial out/sel4-image.elf' --script demo/selftest_quick.coh
`;

const HELP = () =>
  `cohesix guest <check|build|serial> [flags]

Guest tooling for the Porffor-compiled guest (src/guest, src/secure9p).

Verbs:
  check [PATH...]   static check for constructs Porffor compiles wrongly (file:line findings)
  build [--out DIR] compile the guest to the seL4 rootserver ELF (and a Linux user-mode test ELF)
  serial IMAGE      the seL4 guest's serial console under QEMU on stdin/stdout (for cohsh)

Examples:
  cohesix guest check
  cohesix guest check src/guest/console
  cohesix guest build --out out/guest
  cohesix guest build --out out/replay --replay tests/parity/corpus/10-console.replay

${CHECK_HELP}
${BUILD_HELP}
${SERIAL_HELP}`;

export const guestCommand: Subcommand = {
  name: "guest",
  summary: "Guest tooling: static Porffor check, native guest build (rootserver ELF)",
  get help() {
    return HELP();
  },
  run(argv: string[]): Promise<number> {
    const [verb, ...rest] = argv;
    if (verb === "check") {
      const { values, positionals } = parseFlags("guest check", rest, {}, true);
      if (values.help) {
        console.log(CHECK_HELP);
        return Promise.resolve(0);
      }
      return Promise.resolve(runCheck(positionals));
    }
    if (verb === "build") return runBuild(rest);
    if (verb === "serial") return runSerial(rest);
    if (verb === undefined) {
      throw new UsageError("guest: missing verb", "run 'cohesix guest --help' for the verbs");
    }
    throw new UsageError(`guest: unknown verb '${verb}'`, "run 'cohesix guest --help' for the verbs");
  },
};

async function runSerial(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags("guest serial", argv, { timeout: { type: "string" } }, true);
  if (values.help) {
    console.log(SERIAL_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError("guest serial: needs exactly one IMAGE (an elfloader ELF)");
  }
  const s = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!(s > 0)) {
    throw new UsageError(
      `guest serial: --timeout must be a positive number of seconds, got '${values.timeout}'`,
    );
  }
  try {
    await Deno.stat(positionals[0]);
  } catch {
    throw new UsageError(`guest serial: no image at ${positionals[0]}`);
  }
  const { serialBridge } = await import("./serial_bridge.ts");
  return await serialBridge(positionals[0], { timeoutMs: s * 1000 });
}
