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

/**
 * Links a rootserver ELF into a bootable elfloader image with the SDK's link-image.sh, using the
 * seL4 export `sel4Export` (the one the rootserver was compiled against; default: the SDK's prebuilt).
 */
export async function linkSel4Image(rootserver: string, image: string, sel4Export?: string): Promise<void> {
  const sdk = sel4Export ? ["--sdk", sel4Export] : [];
  await runTool("link-image", join(DEFAULT_SEL4_DIR, "link-image.sh"), [rootserver, image, ...sdk]);
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

/**
 * An interactive session with a booted seL4 guest's serial console (tests, benches): boots the
 * image, waits for the guest's "serial console ready", then sends lines and waits for replies.
 * Every wait is for a text on serial (never a fixed time) and ends with a StageError naming what was
 * awaited and the serial tail.
 */
export class Sel4Console {
  /** Serial output so far, CR LF turned into LF. */
  serial = "";
  private readonly waiters = new Set<() => void>();
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly reading: Promise<void>;
  private ended = false;

  private constructor(readonly qemu: QemuProcess) {
    this.writer = qemu.stdin.getWriter();
    const decoder = new TextDecoder();
    this.reading = (async () => {
      try {
        for await (const chunk of qemu.stdout) {
          this.serial += decoder.decode(chunk, { stream: true }).replaceAll("\r\n", "\n").replaceAll(
            "\r",
            "",
          );
          for (const w of this.waiters) w();
        }
      } catch { /* QEMU gone */ }
      this.ended = true;
      for (const w of this.waiters) w();
    })();
  }

  /** Boots `image` and waits for the console. */
  static async boot(image: string, timeoutMs = 120_000): Promise<Sel4Console> {
    let qemu: QemuProcess;
    try {
      qemu = QemuProcess.start({ boot: { kind: "elf", image }, serial: { kind: "stdio" } }, { stdin: true });
    } catch (err) {
      throw new StageError("boot-sel4", (err as Error).message);
    }
    const c = new Sel4Console(qemu);
    try {
      await c.waitFor("cohesix: serial console ready\n", 0, timeoutMs);
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  /** Resolves with the serial offset just past the first `text` at or after `from`. */
  waitFor(text: string | RegExp, from: number, timeoutMs = 60_000): Promise<number> {
    const find = (): number => {
      const rest = this.serial.slice(from);
      if (typeof text === "string") {
        const at = rest.indexOf(text);
        return at < 0 ? -1 : from + at + text.length;
      }
      const m = text.exec(rest);
      return m ? from + m.index + m[0].length : -1;
    };
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const check = () => {
        const at = find();
        if (at < 0 && !this.ended) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        if (at >= 0) resolve(at);
        else reject(this.failure(text, "QEMU exited"));
      };
      timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(this.failure(text, `not within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Sends one console line and returns the serial text from it up to and including `until`. */
  async command(line: string, until: string | RegExp, timeoutMs = 60_000): Promise<string> {
    const from = this.serial.length;
    await this.writer.write(new TextEncoder().encode(`${line}\n`));
    const end = await this.waitFor(until, from, timeoutMs);
    return this.serial.slice(from, end);
  }

  private failure(text: string | RegExp, why: string): StageError {
    const tail = this.serial.trim().split("\n").slice(-10).join("\n");
    return new StageError(
      "sel4-console",
      `waited for ${String(text)} on serial: ${why}; serial tail:\n${tail}`,
    );
  }

  /** Stops QEMU. */
  async close(): Promise<void> {
    this.qemu.kill();
    await this.qemu.stop();
    await this.writer.close().catch(() => {});
    await this.reading;
  }
}
