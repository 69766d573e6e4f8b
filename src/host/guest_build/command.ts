/** `cohesix guest`: guest tooling — the static Porffor check and the native guest build. */
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { CHECK_HELP, runCheck } from "../porf_check/command.ts";

const HELP = () => `cohesix guest <check|build> [flags]

Guest tooling for the Porffor-compiled guest (src/guest, src/secure9p).

Verbs:
  check [PATH...]   static check for constructs Porffor compiles wrongly (file:line findings)

Examples:
  cohesix guest check
  cohesix guest check src/guest/console

${CHECK_HELP}`;

export const guestCommand: Subcommand = {
  name: "guest",
  summary: "Guest tooling: static Porffor check",
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
    if (verb === undefined) throw new UsageError("guest: missing verb", "run 'cohesix guest --help' for the verbs");
    throw new UsageError(`guest: unknown verb '${verb}'`, "run 'cohesix guest --help' for the verbs");
  },
};
