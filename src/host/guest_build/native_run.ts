/**
 * Runs native guest builds: the Linux user-mode ELF under qemu-aarch64, and the seL4 rootserver
 * linked into an elfloader image (the SDK's link recipe) and booted under qemu-system-aarch64
 * (QEMU virt, cortex-a53, 1 GiB, 1 core, serial on stdout). QEMU is stopped by its own pid.
 */
import { join, resolve } from "node:path";
import { QemuProcess } from "../qemu/launcher.ts";
import { REPO_ROOT, runTool, StageError, TOOLS } from "./tools.ts";

export const DEFAULT_SEL4_DIR = resolve(REPO_ROOT, "..", "shared", "sel4");

export interface UserRun {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs the Linux user-mode test ELF; a non-zero exit is returned, not thrown (traps exit 3).
 * `stdin` is the serial input of the guest's event pump (none: the input has ended).
 */
export async function runUnderQemuUser(
  elf: string,
  timeoutMs = 300_000,
  stdin?: Uint8Array,
): Promise<UserRun> {
  const r = await runTool("run-qemu-user", TOOLS.qemuUser, [elf], { allowFailure: true, timeoutMs, stdin });
  return { stdout: new TextDecoder().decode(r.stdout), stderr: r.stderr, code: r.code };
}

/** Links a rootserver ELF into a bootable elfloader image with the SDK's link-image.sh. */
export async function linkSel4Image(
  rootserver: string,
  image: string,
  sel4Dir = DEFAULT_SEL4_DIR,
): Promise<void> {
  await runTool("link-image", join(sel4Dir, "link-image.sh"), [rootserver, image]);
}

export interface BootOptions {
  /** Stop once this text shows up on serial. */
  until: string;
  timeoutMs?: number;
  /** Called with each chunk of serial output (progress). */
  onSerial?: (chunk: string) => void;
  /** Texts whose first appearance on serial is timed (e.g. the boot banner). */
  watch?: string[];
  /** Serial input: written to the guest's serial port once `after` shows up on serial. */
  input?: { after: string; bytes: Uint8Array };
}

export interface BootResult {
  /** Serial output with CR LF turned into LF. */
  serial: string;
  /** Milliseconds from QEMU start until `until` appeared. */
  ms: number;
  /** Milliseconds from QEMU start until each `watch` text first appeared. */
  seenMs: Record<string, number>;
}

/**
 * Boots an elfloader image and collects serial output until `until` appears.
 * Throws StageError("boot-sel4") on timeout or when QEMU exits first, with the serial tail.
 */
export async function bootSel4(image: string, opts: BootOptions): Promise<BootResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let qemu: QemuProcess;
  try {
    qemu = QemuProcess.start({ boot: { kind: "elf", image }, serial: { kind: "stdio" } }, { stdin: true });
  } catch (err) {
    throw new StageError("boot-sel4", (err as Error).message);
  }
  const t0 = performance.now();
  const decoder = new TextDecoder();
  let serial = "";
  let found = false;
  const timer = setTimeout(() => qemu.kill(), timeoutMs);
  let ms = 0;
  const seenMs: Record<string, number> = {};
  let pendingInput = opts.input;
  try {
    for await (const chunk of qemu.stdout) {
      const text = decoder.decode(chunk, { stream: true });
      serial += text.replaceAll("\r\n", "\n").replaceAll("\r", "");
      opts.onSerial?.(text);
      if (pendingInput && serial.includes(pendingInput.after)) {
        const w = qemu.stdin.getWriter();
        await w.write(pendingInput.bytes);
        w.releaseLock();
        pendingInput = undefined;
      }
      for (const w of opts.watch ?? []) {
        if (seenMs[w] === undefined && serial.includes(w)) seenMs[w] = Math.round(performance.now() - t0);
      }
      if (serial.includes(opts.until)) {
        found = true;
        ms = performance.now() - t0;
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    qemu.kill();
    await qemu.stop();
    await qemu.stdin.close().catch(() => {});
  }
  if (!found) {
    const tail = serial.trim().split("\n").slice(-10).join("\n");
    const diag = qemu.diagnostics().trim();
    throw new StageError(
      "boot-sel4",
      `'${opts.until}' did not appear on serial within ${timeoutMs} ms; serial tail:\n${tail}${
        diag ? `\nQEMU: ${diag}` : ""
      }`,
    );
  }
  return { serial, ms: Math.round(ms), seenMs };
}

/** Reads the arena report lines the native runtime prints after the guest's main returns. */
export function arenaMarks(diag: string): { marks: number[]; end: number } {
  const marks: number[] = [];
  for (const m of diag.matchAll(/^arena: mark (\d+) used=(\d+)/gm)) marks[Number(m[1])] = Number(m[2]);
  const end = /^arena: end used=(\d+)/m.exec(diag);
  return { marks, end: end ? Number(end[1]) : -1 };
}
