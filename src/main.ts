/**
 * `cohesix`: the subcommand table. Every subcommand lives in its own module under src/host;
 * this file only lists them and dispatches.
 */
import { COHESIX_VERSION } from "./guest/version.ts";
import { attestCommand } from "./host/attest/command.ts";
import { bundleCommand } from "./host/bundle/command.ts";
import { busAgentCommand } from "./host/bus_agent/command.ts";
import { hiveErrorMessage, type Subcommand, UsageError } from "./host/cli/command.ts";
import { cohshCommand } from "./host/cohsh/command.ts";
import { traceCommand } from "./host/cohsh/trace_command.ts";
import { demoCommand } from "./host/demo/command.ts";
import { devCommand } from "./host/dev/command.ts";
import { diffCommand } from "./host/diff/command.ts";
import { doctorCommand } from "./host/doctor/command.ts";
import { fleetCommand } from "./host/fleet/command.ts";
import { gpuCommand } from "./host/gpu/command.ts";
import { guestCommand } from "./host/guest_build/command.ts";
import { hostAgentCommand } from "./host/host_agent/command.ts";
import { imageCommand } from "./host/image/command.ts";
import { inspectCommand } from "./host/inspect/command.ts";
import { mountCommand, umountCommand } from "./host/mount/command.ts";
import { peftCommand } from "./host/peft/command.ts";
import { qemuCommand } from "./host/qemu/command.ts";
import { runCommand } from "./host/run/command.ts";
import { spoolCommand } from "./host/spool/command.ts";
import { rtcCommand } from "./host/rtc/command.ts";
import { statusCommand } from "./host/status/command.ts";
import { telemetryCommand } from "./host/telemetry/command.ts";
import { ticketCommand } from "./host/ticket/command.ts";
import { uiCommand } from "./host/ui/command.ts";
import { updateCommand } from "./host/update/command.ts";

const SUBCOMMANDS: Subcommand[] = [
  attestCommand,
  bundleCommand,
  busAgentCommand,
  demoCommand,
  devCommand,
  diffCommand,
  doctorCommand,
  fleetCommand,
  cohshCommand,
  gpuCommand,
  guestCommand,
  hostAgentCommand,
  imageCommand,
  inspectCommand,
  mountCommand,
  peftCommand,
  qemuCommand,
  rtcCommand,
  runCommand,
  spoolCommand,
  statusCommand,
  telemetryCommand,
  ticketCommand,
  traceCommand,
  uiCommand,
  umountCommand,
  updateCommand,
];

function topHelp(): string {
  const width = Math.max(...SUBCOMMANDS.map((c) => c.name.length), 4);
  const rows = SUBCOMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
  return `cohesix ${COHESIX_VERSION}: build, boot, drive and inspect a Cohesix hive

Usage: cohesix <command> [flags]

Commands:
${rows}

Flags:
  -h, --help     Show this help, or a command's help with 'cohesix <command> --help'
  -V, --version  Print the version

Examples:
  cohesix demo                 # embedded hive + scripted cohsh session, prints the transcript
  cohesix dev                  # run a hosted hive on 127.0.0.1 (9P :5640, console :31337)
  cohesix cohsh                # interactive shell against the console
`;
}

function closest(name: string): string | undefined {
  // Did-you-mean: the known name with the smallest edit distance, if it is close.
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of SUBCOMMANDS) {
    const d = editDistance(name, c.name);
    if (d < bestDistance) [best, bestDistance] = [c.name, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    console.log(topHelp());
    return first === undefined ? 2 : 0;
  }
  if (first === "-V" || first === "--version") {
    console.log(`cohesix ${COHESIX_VERSION}`);
    return 0;
  }
  const command = SUBCOMMANDS.find((c) => c.name === first);
  try {
    if (!command) {
      const guess = closest(first);
      throw new UsageError(
        first.startsWith("-") ? `unknown flag '${first}'` : `unknown command '${first}'`,
        guess ? `did you mean 'cohesix ${guess}'? run 'cohesix --help' for the list` : "run 'cohesix --help' for the list",
      );
    }
    if (rest.includes("-h") || rest.includes("--help")) {
      console.log(command.help);
      return 0;
    }
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`cohesix: ${err.message}${err.hint ? ` (${err.hint})` : ""}`);
      return 2;
    }
    const hive = hiveErrorMessage(err);
    if (hive !== null) {
      console.error(`cohesix ${first}: ${hive}`);
      return 1;
    }
    throw err;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
