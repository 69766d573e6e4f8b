/**
 * The one QEMU launcher: every qemu-system-aarch64 we start (`cohesix qemu`, `cohesix guest serial`,
 * the native test boots, anything later) gets its argv from `qemuArgv` and its process from
 * `launchQemu`.
 *
 * The machine is QEMU `virt`, 1 core, 1 GiB (the seL4 kernel's memory map and DTB were generated for
 * exactly that machine), started with `-nodefaults`: QEMU adds no device we did not name. A default
 * device is how a boot came to depend on an optional ROM (the default NIC loads `efi-virtio.rom`
 * from `ipxe-qemu`, which a fresh machine does not have). A NIC exists only when `nic` asks for one.
 */

export const QEMU_SYSTEM = "qemu-system-aarch64";
export const DEFAULT_FIRMWARE = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd";

export class QemuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QemuError";
  }
}

export type Accel = "tcg" | "kvm" | "hvf";

/** What to boot: an elfloader ELF through `-kernel`, or a raw disk (a FAT ESP) through UEFI firmware. */
export type QemuBoot =
  | { kind: "elf"; image: string }
  | {
    kind: "uefi";
    disk: string;
    firmware: string; /** Writes go to a temporary overlay. */
    snapshot: boolean;
  };

/** The PL011: on QEMU's stdin/stdout, or served on a loopback TCP port (QEMU waits for a client). */
export type QemuSerial = { kind: "stdio" } | { kind: "tcp"; port: number };

/** A host port forwarded to a guest TCP port (127.0.0.1 only). */
export interface PortForward {
  hostPort: number;
  guestPort: number;
}

/**
 * A virtio-net device on QEMU user networking. `restrict` keeps the guest from reaching anything
 * outside QEMU; only the forwards reach it.
 */
export interface QemuNic {
  kind: "user";
  restrict: boolean;
  forwards: PortForward[];
}

export interface QemuSpec {
  boot: QemuBoot;
  serial: QemuSerial;
  accel?: Accel;
  /** Directory searched first for ROMs and firmware blobs (`-L`). */
  romDir?: string;
  /** No NIC unless asked for. */
  nic?: QemuNic;
}

/** The full argv (without the binary) for a spec. Pure: the same spec gives the same argv. */
export function qemuArgv(spec: QemuSpec): string[] {
  const accel = spec.accel ?? "tcg";
  // Under kvm/hvf the CPU model must be the host's; the seL4 build targets any ARMv8-A core.
  const cpu = accel === "tcg" ? "cortex-a53" : "host";
  const argv = [
    "-nodefaults",
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
    "-serial",
    spec.serial.kind === "stdio" ? "stdio" : `tcp:127.0.0.1:${spec.serial.port},server=on,wait=on`,
  ];
  if (spec.romDir !== undefined) argv.push("-L", spec.romDir);
  if (spec.boot.kind === "elf") {
    argv.push("-kernel", spec.boot.image);
  } else {
    const snapshot = spec.boot.snapshot ? ",snapshot=on" : "";
    argv.push(
      "-bios",
      spec.boot.firmware,
      "-drive",
      `file=${spec.boot.disk},format=raw,if=virtio${snapshot}`,
    );
  }
  if (spec.nic !== undefined) {
    const fwd = spec.nic.forwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`).join("");
    argv.push("-nic", `user,model=virtio-net-device,restrict=${spec.nic.restrict ? "on" : "off"}${fwd}`);
  }
  return argv;
}

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

export interface LaunchOptions {
  /** Pipe our input to the guest's serial (stdio serial only). */
  stdin?: boolean;
  /** The QEMU binary (default qemu-system-aarch64 from PATH). */
  binary?: string;
}

/**
 * A running QEMU. `stdout` is the serial line (stdio serial); QEMU's own diagnostics arrive on
 * stderr and are kept apart (`diagnostics()`), so they never end up glued to a serial line.
 * `stop()` ends it by its pid (seL4 never powers the machine off): SIGTERM, then SIGKILL if it lingers.
 */
export class QemuProcess {
  readonly argv: string[];
  readonly status: Promise<Deno.CommandStatus>;
  private stderrText = "";
  private readonly stderrDone: Promise<void>;
  private stopping: Promise<void> | undefined;

  private constructor(private readonly child: Deno.ChildProcess, argv: string[]) {
    this.argv = argv;
    this.status = child.status;
    this.stderrDone = (async () => {
      const dec = new TextDecoder();
      try {
        for await (const chunk of child.stderr) this.stderrText += dec.decode(chunk, { stream: true });
      } catch { /* closed */ }
    })();
  }

  static start(spec: QemuSpec, opts: LaunchOptions = {}): QemuProcess {
    const binary = opts.binary ?? QEMU_SYSTEM;
    const args = qemuArgv(spec);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(binary, {
        args,
        stdin: opts.stdin ? "piped" : "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new QemuError(
          `Cannot start ${binary}: not installed (run scripts/install-deps.sh, or apt install qemu-system-arm)`,
        );
      }
      throw new QemuError(`Cannot start ${binary}: ${(err as Error).message}`);
    }
    return new QemuProcess(child, [binary, ...args]);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** The serial output (stdio serial). */
  get stdout(): ReadableStream<Uint8Array> {
    return this.child.stdout;
  }

  /** The guest's serial input (only with `stdin: true`). */
  get stdin(): WritableStream<Uint8Array> {
    return this.child.stdin;
  }

  /** What QEMU itself printed on stderr so far (after `stop()`: all of it). */
  diagnostics(): string {
    return this.stderrText;
  }

  /** Stops QEMU and waits for it (and its stderr) to end. Safe to call more than once. */
  stop(graceMs = 2000): Promise<void> {
    this.stopping ??= (async () => {
      try {
        this.child.kill("SIGTERM");
      } catch { /* already gone */ }
      const killTimer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, graceMs);
      await this.status;
      clearTimeout(killTimer);
      await this.stderrDone;
    })();
    return this.stopping;
  }

  /** Kills at once (signal handlers, timeouts); `stop()` still waits for the exit. */
  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}

/** The last `n` lines of QEMU's diagnostics, for error messages. */
export function diagnosticsTail(text: string, n = 5): string {
  return text.trim().split("\n").filter((l) => l.trim() !== "").slice(-n).join("\n");
}
