/**
 * Boots an seL4 image under qemu-system-aarch64 (virt, cortex-a53, 1 core, -m 1024: the kernel's
 * memory map and DTB were generated for exactly that machine) and watches the serial line.
 * The QEMU process is always killed by its own pid before `bootQemu` returns.
 */
import { join } from "node:path";
import { writeFat } from "../../../images/fat.ts";
import {
  type Accel,
  chooseAccel,
  DEFAULT_FIRMWARE,
  hostFacts,
  QemuError,
  QemuProcess,
  type QemuSerial,
  type QemuSpec,
} from "./launcher.ts";

export { DEFAULT_FIRMWARE, QemuError } from "./launcher.ts";

export type ImageKind = "elf" | "efi-app" | "esp";

/** ELF (`-kernel`), EFI application (wrapped in a temporary ESP) or a FAT ESP image, by magic bytes. */
export function imageKind(head: Uint8Array): ImageKind {
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return "elf";
  if (head[0] === 0x4d && head[1] === 0x5a) return "efi-app";
  if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa) return "esp";
  throw new QemuError(
    "Cannot boot this file: it is not an ELF image, an EFI application or a FAT ESP (build one with 'cohesix image')",
  );
}

export interface QemuOptions {
  image: string;
  timeoutMs: number;
  /** Fixed text to wait for on serial; undefined = run until timeout or QEMU exits. */
  expect?: string;
  firmware?: string;
  /** Serve the serial port on this TCP port (QEMU waits for a client) instead of reading it. */
  tcpPort?: number;
  /** Called with each chunk of serial output (stdio mode). */
  onSerial?: (text: string) => void;
  /** Accelerator (default: chooseAccel(hostFacts())). */
  accel?: Accel;
  /** Stops the boot early (e.g. on Ctrl-C, or once a client has what it needs). */
  signal?: AbortSignal;
  /** Called once QEMU has started, with its command line. */
  onStart?: (argv: string[]) => void;
  /** ROM search directory (`-L`), searched before QEMU's own data directories. */
  romDir?: string;
  /** The QEMU binary (default qemu-system-aarch64). */
  binary?: string;
}

export interface QemuResult {
  outcome: "expected" | "timeout" | "exited" | "aborted";
  elapsedMs: number;
  /** Serial output, with carriage returns and terminal escape sequences removed. */
  serial: string;
  /** What QEMU itself printed on stderr (never mixed into `serial`). */
  diagnostics: string;
  argv: string[];
}

/** Removes CRs and ANSI escapes (EDK2 clears the screen) so serial text can be searched and shown. */
export function cleanSerial(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\r/g, "").replace(/\x1b\[[0-9;?=]*[a-zA-Z]/g, "");
}

/** The last `n` non-empty lines of serial output. */
export function lastLines(serial: string, n: number): string[] {
  return serial.split("\n").filter((l) => l.trim() !== "").slice(-n);
}

/** The launch spec for an image: ELF through -kernel, an EFI application wrapped in a temporary ESP, an ESP. */
export async function bootSpec(
  image: string,
  kind: ImageKind,
  scratch: string,
  firmware: string,
  serial: QemuSerial,
  accel: Accel = "tcg",
): Promise<QemuSpec> {
  if (kind === "elf") return { boot: { kind: "elf", image }, serial, accel };
  try {
    await Deno.stat(firmware);
  } catch {
    throw new QemuError(
      `Cannot boot with UEFI: firmware ${firmware} is missing (install qemu-efi-aarch64, or pass --firmware)`,
    );
  }
  if (kind === "esp") return { boot: { kind: "uefi", disk: image, firmware, snapshot: true }, serial, accel };
  const esp = join(scratch, "esp.img");
  await Deno.writeFile(esp, writeFat([{ path: "EFI/BOOT/BOOTAA64.EFI", data: await Deno.readFile(image) }]));
  return { boot: { kind: "uefi", disk: esp, firmware, snapshot: false }, serial, accel };
}

export async function bootQemu(opts: QemuOptions): Promise<QemuResult> {
  let head: Uint8Array;
  try {
    const f = await Deno.open(opts.image);
    head = new Uint8Array(512);
    const n = (await f.read(head)) ?? 0;
    f.close();
    head = head.subarray(0, n);
  } catch {
    throw new QemuError(`Cannot boot ${opts.image}: no such file (build it with 'cohesix image')`);
  }
  const kind = imageKind(head);
  const scratch = await Deno.makeTempDir({ prefix: "cohesix-qemu-" });
  try {
    const serialMode: QemuSerial = opts.tcpPort === undefined
      ? { kind: "stdio" }
      : { kind: "tcp", port: opts.tcpPort };
    const spec = await bootSpec(
      opts.image,
      kind,
      scratch,
      opts.firmware ?? DEFAULT_FIRMWARE,
      serialMode,
      opts.accel ?? chooseAccel(hostFacts()),
    );
    if (opts.romDir !== undefined) spec.romDir = opts.romDir;
    const qemu = QemuProcess.start(spec, { binary: opts.binary });
    opts.onStart?.(qemu.argv);
    const started = performance.now();
    let serial = "";
    let outcome: QemuResult["outcome"] = "timeout";
    let settled = false;
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    const settle = () => {
      settled = true;
      release();
    };
    const timer = setTimeout(() => settled || settle(), opts.timeoutMs);
    const onAbort = () => {
      if (!settled) {
        outcome = "aborted";
        settle();
      }
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort);
    const reader = (async () => {
      const dec = new TextDecoder();
      try {
        for await (const chunk of qemu.stdout) {
          const text = dec.decode(chunk, { stream: true });
          serial += text;
          opts.onSerial?.(text);
          if (!settled && opts.expect !== undefined && cleanSerial(serial).includes(opts.expect)) {
            outcome = "expected";
            settle();
          }
        }
      } catch { /* closed */ }
    })();
    const exited = qemu.status.then(() => {
      if (!settled) {
        outcome = "exited";
        settle();
      }
    });
    await done;
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
    const elapsedMs = Math.round(performance.now() - started);
    await qemu.stop();
    await exited;
    await reader;
    return {
      outcome,
      elapsedMs,
      serial: cleanSerial(serial),
      diagnostics: qemu.diagnostics(),
      argv: qemu.argv,
    };
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}
