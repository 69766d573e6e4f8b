/**
 * Boots an seL4 image under qemu-system-aarch64 (virt, cortex-a53, 1 core, -m 1024: the kernel's
 * memory map and DTB were generated for exactly that machine) and watches the serial line.
 * The QEMU process is always killed by its own pid before `bootQemu` returns.
 */
import { join } from "node:path";
import { writeFat } from "../../../images/fat.ts";

export const DEFAULT_FIRMWARE = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd";
export const QEMU = "qemu-system-aarch64";

export class QemuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QemuError";
  }
}

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
}

export interface QemuResult {
  outcome: "expected" | "timeout" | "exited" | "aborted";
  elapsedMs: number;
  /** Serial output, with carriage returns and terminal escape sequences removed. */
  serial: string;
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

export type Accel = "tcg" | "kvm" | "hvf";

export interface HostFacts {
  os: string;
  arch: string;
  /** Whether /dev/kvm can be opened for reading and writing. */
  kvm: boolean;
  /** $COHESIX_QEMU_ACCEL or $QEMU_ACCEL, when set. */
  override?: string;
}

/**
 * The accelerator: an explicit override wins; otherwise hardware acceleration only where the host
 * is itself AArch64 (kvm on Linux with /dev/kvm, hvf on macOS), else tcg (software emulation).
 */
export function chooseAccel(host: HostFacts): Accel {
  if (host.override !== undefined && host.override !== "") {
    if (host.override === "tcg" || host.override === "kvm" || host.override === "hvf") return host.override;
    throw new QemuError(
      `Cannot use accelerator '${host.override}' from the environment: use tcg, kvm or hvf`,
    );
  }
  if (host.arch === "aarch64" && host.os === "linux" && host.kvm) return "kvm";
  if (host.arch === "aarch64" && host.os === "darwin") return "hvf";
  return "tcg";
}

export function hostFacts(): HostFacts {
  let kvm = false;
  try {
    Deno.openSync("/dev/kvm", { read: true, write: true }).close();
    kvm = true;
  } catch { /* no KVM */ }
  return {
    os: Deno.build.os,
    arch: Deno.build.arch,
    kvm,
    override: Deno.env.get("COHESIX_QEMU_ACCEL") ?? Deno.env.get("QEMU_ACCEL"),
  };
}

export async function qemuArgs(
  image: string,
  kind: ImageKind,
  scratch: string,
  firmware: string,
  tcpPort?: number,
  accel: Accel = "tcg",
): Promise<string[]> {
  const serial = tcpPort === undefined
    ? ["-serial", "stdio"]
    : ["-serial", `tcp:127.0.0.1:${tcpPort},server=on,wait=on`];
  // Under kvm/hvf the CPU model must be the host's; the seL4 build targets any ARMv8-A core.
  const cpu = accel === "tcg" ? "cortex-a53" : "host";
  const base = [
    "-machine",
    "virt",
    "-cpu",
    cpu,
    "-smp",
    "1",
    "-m",
    "1024",
    "-accel",
    accel,
    "-display",
    "none",
    "-monitor",
    "none",
    ...serial,
  ];
  if (kind === "elf") return [...base, "-kernel", image];
  try {
    await Deno.stat(firmware);
  } catch {
    throw new QemuError(
      `Cannot boot with UEFI: firmware ${firmware} is missing (install qemu-efi-aarch64, or pass --firmware)`,
    );
  }
  let drive = `file=${image},format=raw,if=virtio,snapshot=on`;
  if (kind === "efi-app") {
    const esp = join(scratch, "esp.img");
    await Deno.writeFile(
      esp,
      writeFat([{ path: "EFI/BOOT/BOOTAA64.EFI", data: await Deno.readFile(image) }]),
    );
    drive = `file=${esp},format=raw,if=virtio`;
  }
  return [...base, "-bios", firmware, "-drive", drive, "-net", "none"];
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
    const argv = await qemuArgs(
      opts.image,
      kind,
      scratch,
      opts.firmware ?? DEFAULT_FIRMWARE,
      opts.tcpPort,
      opts.accel ?? chooseAccel(hostFacts()),
    );
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(QEMU, { args: argv, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new QemuError(`Cannot start ${QEMU}: not installed (apt install qemu-system-arm)`);
      }
      throw err;
    }
    opts.onStart?.([QEMU, ...argv]);
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
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const chunk of stream) {
        const text = dec.decode(chunk, { stream: true });
        serial += text;
        opts.onSerial?.(text);
        if (!settled && opts.expect !== undefined && cleanSerial(serial).includes(opts.expect)) {
          outcome = "expected";
          settle();
        }
      }
    };
    const readers = Promise.all([pump(child.stdout), pump(child.stderr)]);
    const exited = child.status.then(() => {
      if (!settled) {
        outcome = "exited";
        settle();
      }
    });
    await done;
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
    const elapsedMs = Math.round(performance.now() - started);
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const killTimer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 2000);
    await exited;
    clearTimeout(killTimer);
    await readers.catch(() => {});
    return { outcome, elapsedMs, serial: cleanSerial(serial), argv: [QEMU, ...argv] };
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}
