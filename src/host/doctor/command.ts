/** `cohesix doctor`: what each user path needs, and for every failure the one command that fixes it. */
import { parseFlags, parsePort, type Subcommand } from "../cli/command.ts";
import { DEFAULT_FIRMWARE } from "../qemu/launcher.ts";
import { DEFAULT_DOCTOR, formatDoctor, runDoctor } from "./checks.ts";

const HELP =
  `cohesix doctor: check this machine for everything Cohesix needs, and say how to fix what is missing

Usage: cohesix doctor [--json] [--firmware FILE] [--sel4-build DIR] [--manifest FILE]
                      [--host H] [--console-port P] [--ninep-port P] [--auth-token T]

Checks, in order (each failure prints the one command that fixes it):
  deno, npm dependencies     node_modules matches the versions package.json pins
  qemu-system-aarch64        boots images ('cohesix qemu')
  qemu firmware              the UEFI firmware 'cohesix qemu --uefi' uses (${DEFAULT_FIRMWARE})
  qemu-aarch64 (user)        runs the native guest test ELF
  cross toolchain            aarch64 gcc/objcopy, picolibc, SIMDe ('cohesix guest build', 'cohesix image')
  image tools python         python3 modules seL4's shoehorn.py needs
  seL4 export                the one 'cohesix image' uses: --sel4-build, $COHESIX_SEL4 or ../shared/sel4/prebuilt
  fuse                       /dev/fuse (mounting a hive)
  python client              python3 >= 3.11 with venv (clients/python)
  manifest                   configs/root_task.toml (or --manifest) compiles
  port 31337 / port 5640     free, or a hive answers there
  hive /proc/boot            a hive answering on the 9P port serves /proc/boot (skipped when none runs)
Exit 0 when every check passes, 1 when any fails.

Flags:
  --json             print {"version":1,"checks":[{"name","ok","detail","fix"}]} instead of text
  --firmware FILE    UEFI firmware to check (default ${DEFAULT_FIRMWARE}, as 'cohesix qemu')
  --sel4-build DIR   seL4 export to check
  --manifest FILE    manifest to compile (default configs/root_task.toml)
  --host H           where a hive would listen (default 127.0.0.1)
  --console-port P   console port (default 31337)
  --ninep-port P     9P port (default 5640)
  --auth-token T     console token for probing a hive (default 'changeme')

Examples:
  cohesix doctor
  cohesix doctor --json | jq '.checks[] | select(.ok | not)'
  cohesix doctor --console-port 40000 --ninep-port 40001     # a hive started with those ports
`;

export const doctorCommand: Subcommand = {
  name: "doctor",
  summary: "check the machine (deno, QEMU, toolchain, seL4, FUSE, ports, manifest, hive) and name fixes",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags("doctor", argv, {
      json: { type: "boolean", default: false },
      firmware: { type: "string" },
      "sel4-build": { type: "string" },
      manifest: { type: "string" },
      host: { type: "string" },
      "console-port": { type: "string" },
      "ninep-port": { type: "string" },
      "auth-token": { type: "string" },
    });
    const checks = await runDoctor({
      ...DEFAULT_DOCTOR,
      firmware: values.firmware,
      sel4Build: values["sel4-build"],
      manifest: values.manifest,
      host: values.host ?? DEFAULT_DOCTOR.host,
      consolePort: values["console-port"] === undefined
        ? DEFAULT_DOCTOR.consolePort
        : parsePort("doctor", "console-port", values["console-port"]),
      ninepPort: values["ninep-port"] === undefined
        ? DEFAULT_DOCTOR.ninepPort
        : parsePort("doctor", "ninep-port", values["ninep-port"]),
      authToken: values["auth-token"] ?? Deno.env.get("COHSH_AUTH_TOKEN") ?? DEFAULT_DOCTOR.authToken,
    });
    console.log(values.json ? JSON.stringify({ version: 1, checks }) : formatDoctor(checks));
    return checks.every((c) => c.ok) ? 0 : 1;
  },
};
