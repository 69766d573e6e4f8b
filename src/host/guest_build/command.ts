/** `cohesix guest`: guest tooling — the static Porffor check and the native guest build. */
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { CHECK_HELP, runCheck } from "../porf_check/command.ts";
import { BUILD_HELP, runBuild } from "./build_command.ts";

const HELP = () => `cohesix guest <check|build> [flags]

Guest tooling for the Porffor-compiled guest (src/guest, src/secure9p).

Verbs:
  check [PATH...]   static check for constructs Porffor compiles wrongly (file:line findings)
  build [--out DIR] compile the guest to the seL4 rootserver ELF (and a Linux user-mode test ELF)

Examples:
  cohesix guest check
  cohesix guest check src/guest/console
  cohesix guest build --out out/guest
  cohesix guest build --out out/replay --replay tests/parity/corpus/10-console.replay

${CHECK_HELP}
${BUILD_HELP}`;

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
    if (verb === undefined) throw new UsageError("guest: missing verb", "run 'cohesix guest --help' for the verbs");
    throw new UsageError(`guest: unknown verb '${verb}'`, "run 'cohesix guest --help' for the verbs");
  },
};
