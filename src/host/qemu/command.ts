/** `cohesix qemu`: boot a built image under QEMU and wait for a line on serial. */
import { join } from "node:path";
import { parseFlags, parsePort, type Subcommand, UsageError } from "../cli/command.ts";
import { diagnosticsTail } from "./launcher.ts";
import { bootQemu, DEFAULT_FIRMWARE, lastLines, QemuError } from "./run.ts";

export const DEFAULT_EXPECT = "Booting all finished, dropped to user space";

const HELP = `cohesix qemu: boot an seL4 image under qemu-system-aarch64 and watch the serial console

Usage: cohesix qemu [--image PATH] [--uefi] [--expect TEXT] [--timeout S] [--serial-tcp PORT] [--json]

Machine: virt, cortex-a53, 1 core, -m 1024 (the kernel's memory map requires exactly 1 GiB),
-nodefaults: no device QEMU would add on its own (no NIC, so no optional ROM is needed).
Accelerator: tcg, or kvm/hvf on an AArch64 host that has it; override with $COHESIX_QEMU_ACCEL.
--image takes a 'cohesix image' output directory (sel4-image.elf, or esp.img with --uefi), an
elfloader ELF (-kernel), an EFI application (booted from a temporary ESP) or a FAT ESP image
(opened snapshot=on). UEFI boots use the AAVMF/EDK2 firmware (${DEFAULT_FIRMWARE}).
Exit 0 once TEXT appears on serial; exit 1 with the last serial lines on timeout or if QEMU
exits first. QEMU is stopped by its pid either way (seL4 never powers the machine off).

Flags:
  --image PATH        image file or output directory (default: out)
  --uefi              boot esp.img from the directory through UEFI firmware
  --expect TEXT       fixed text to wait for (default: "${DEFAULT_EXPECT}")
  --timeout S         seconds before giving up (default: 30, or 120 for UEFI)
  --serial-tcp PORT   serve the serial port on 127.0.0.1:PORT instead of stdio; QEMU starts
                      when a client connects (e.g. a console client); runs until --timeout
  --firmware FILE     UEFI firmware (default ${DEFAULT_FIRMWARE})
  --quiet             do not echo serial output
  --json              print the outcome as JSON ("version": 1)

Examples:
  cohesix qemu --image out/img --expect "cohesix root task up"
  cohesix qemu --image out/img --uefi --expect "cohesix root task up" --timeout 60
  cohesix qemu --image out/img/BOOTAA64.EFI
  cohesix qemu --image out/img --serial-tcp 31337 --timeout 600   # then connect to 127.0.0.1:31337`;

/** Picks the file to boot from --image (file or output directory) and --uefi. */
export async function resolveImage(path: string, uefi: boolean): Promise<string> {
  const info = await Deno.stat(path).catch(() => undefined);
  if (!info) {
    throw new UsageError(`qemu: --image ${path} does not exist`, "build one with 'cohesix image --out DIR'");
  }
  if (!info.isDirectory) return path;
  const file = join(path, uefi ? "esp.img" : "sel4-image.elf");
  if (!(await Deno.stat(file).catch(() => undefined))) {
    throw new UsageError(
      `qemu: ${path} has no ${uefi ? "esp.img" : "sel4-image.elf"}`,
      uefi ? "build it with 'cohesix image --uefi --out DIR'" : "build it with 'cohesix image --out DIR'",
    );
  }
  return file;
}

export const qemuCommand: Subcommand = {
  name: "qemu",
  summary: "boot a built image under QEMU (ELF or UEFI) and wait for text on serial",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values } = parseFlags("qemu", argv, {
      image: { type: "string", default: "out" },
      uefi: { type: "boolean", default: false },
      expect: { type: "string" },
      timeout: { type: "string" },
      "serial-tcp": { type: "string" },
      firmware: { type: "string" },
      quiet: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    });
    const timeoutS = values.timeout === undefined ? (values.uefi ? 120 : 30) : Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
      throw new UsageError(`qemu: --timeout must be a positive number of seconds, got '${values.timeout}'`);
    }
    const tcpPort = values["serial-tcp"] === undefined
      ? undefined
      : parsePort("qemu", "serial-tcp", values["serial-tcp"]);
    if (tcpPort !== undefined && values.expect !== undefined) {
      throw new UsageError(
        "qemu: --expect reads serial on stdio, so it cannot be combined with --serial-tcp",
      );
    }
    const image = await resolveImage(values.image, values.uefi);
    const expect = tcpPort === undefined ? values.expect ?? DEFAULT_EXPECT : undefined;
    const echo = !values.quiet && !values.json;
    const interrupt = new AbortController();
    const onSigint = () => interrupt.abort();
    // Ctrl-C or a supervisor's SIGTERM stops QEMU too: it is never left running without us.
    Deno.addSignalListener("SIGINT", onSigint);
    Deno.addSignalListener("SIGTERM", onSigint);
    try {
      const result = await bootQemu({
        signal: interrupt.signal,
        image,
        timeoutMs: timeoutS * 1000,
        expect,
        firmware: values.firmware,
        tcpPort,
        onStart: (cmd) => {
          console.error(`cohesix qemu: ${cmd.join(" ")}`);
          if (tcpPort !== undefined) {
            console.error(`cohesix qemu: waiting for a serial client on 127.0.0.1:${tcpPort}`);
          }
        },
        onSerial: echo ? (text) => Deno.stdout.writeSync(new TextEncoder().encode(text)) : undefined,
      });
      if (result.outcome === "aborted") {
        console.error("cohesix qemu: interrupted; QEMU stopped");
        return 130;
      }
      const ok = result.outcome === "expected" || (tcpPort !== undefined && result.outcome === "timeout");
      if (values.json) {
        console.log(
          JSON.stringify(
            {
              version: 1,
              image,
              outcome: result.outcome,
              expect: expect ?? null,
              elapsed_ms: result.elapsedMs,
              last_lines: lastLines(result.serial, 20),
            },
            null,
            2,
          ),
        );
      }
      if (result.outcome === "expected") {
        console.error(`cohesix qemu: '${expect}' seen after ${result.elapsedMs} ms; QEMU stopped`);
      } else if (!ok) {
        const why = result.outcome === "timeout"
          ? `not seen within ${timeoutS} s`
          : "not seen before QEMU exited";
        console.error(`cohesix qemu: '${expect}' ${why}; last serial lines:`);
        for (const line of lastLines(result.serial, 20)) console.error(`  | ${line}`);
        const said = diagnosticsTail(result.diagnostics);
        if (said !== "") console.error(`cohesix qemu: QEMU said:\n${said}`);
        console.error("cohesix qemu: check the image was built for this machine, or raise --timeout");
      } else {
        console.error(`cohesix qemu: stopped after ${timeoutS} s (--timeout)`);
      }
      return ok ? 0 : 1;
    } catch (err) {
      if (err instanceof QemuError) {
        console.error(`cohesix qemu: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      Deno.removeSignalListener("SIGINT", onSigint);
      Deno.removeSignalListener("SIGTERM", onSigint);
    }
  },
};
