/**
 * `cohesix guest serial IMAGE`: the seL4 guest's serial console on stdin/stdout, for
 * `cohsh --transport serial --serial-cmd 'cohesix guest serial IMAGE'`.
 *
 * Boots the elfloader image under qemu-system-aarch64 (serial on QEMU's stdio). Everything QEMU
 * prints before the guest's "cohesix: serial console ready" line (the elfloader and kernel boot
 * log, the guest banner) goes to stderr; after it, serial output goes to stdout byte for byte and
 * stdin goes to the PL011. Input that arrives before that line is held until then, so nothing reaches a
 * console that is not yet reading. When stdin ends (the client closed the console), QEMU is
 * stopped by its pid after a short drain; also on SIGINT/SIGTERM and after --timeout.
 */
import { QemuProcess } from "../qemu/launcher.ts";
import { StageError } from "./tools.ts";

export const CONSOLE_READY = "cohesix: serial console ready\n";

export interface BridgeOptions {
  timeoutMs: number;
  /** Output after stdin ends before QEMU is stopped. */
  drainMs?: number;
  stdin?: ReadableStream<Uint8Array>;
  stdout?: WritableStream<Uint8Array>;
  log?: (text: string) => void;
}

/** Runs the bridge; resolves with the exit code (0 after stdin ended, 1 on timeout or QEMU exiting first). */
export async function serialBridge(image: string, opts: BridgeOptions): Promise<number> {
  const log = opts.log ?? ((t: string) => Deno.stderr.writeSync(new TextEncoder().encode(t)));
  let qemu: QemuProcess;
  try {
    qemu = QemuProcess.start({ boot: { kind: "elf", image }, serial: { kind: "stdio" } }, { stdin: true });
  } catch (err) {
    throw new StageError("serial-qemu", (err as Error).message);
  }
  const stop = () => qemu.kill();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    log(`cohesix guest serial: no end of input within ${opts.timeoutMs} ms, stopping QEMU\n`);
    stop();
  }, opts.timeoutMs);
  const out = (opts.stdout ?? Deno.stdout.writable).getWriter();
  const input = opts.stdin ?? Deno.stdin.readable;
  let inputEnded = false;
  // Input is read from the start but held until the console is ready; then it goes to the PL011
  // in order. Input that ends early (a piped script) is still delivered, then QEMU drains and stops.
  let release!: () => void;
  const consoleReady = new Promise<void>((r) => (release = r));
  let held: Uint8Array[] | null = [];
  const w = qemu.stdin.getWriter();
  const drainThenStop = () => setTimeout(stop, opts.drainMs ?? 1000);
  (async () => {
    try {
      for await (const chunk of input) {
        if (held !== null) held.push(chunk);
        else await w.write(chunk);
      }
    } catch { /* QEMU gone */ }
    inputEnded = true;
    if (held === null) drainThenStop();
  })();
  consoleReady.then(() => {
    // Queued in order before any later chunk can be written.
    const writes = held!.map((c) => w.write(c));
    held = null;
    if (inputEnded) drainThenStop();
    return Promise.all(writes).catch(() => {/* QEMU gone */});
  });
  const marker = new TextEncoder().encode(CONSOLE_READY);
  let head = new Uint8Array(0);
  let ready = false;
  try {
    for await (const chunk of qemu.stdout) {
      if (ready) {
        await out.write(chunk);
        continue;
      }
      const joined = new Uint8Array(head.length + chunk.length);
      joined.set(head);
      joined.set(chunk, head.length);
      const at = indexOf(joined, marker);
      if (at < 0) {
        head = joined;
        continue;
      }
      const end = at + marker.length;
      log(new TextDecoder().decode(joined.subarray(0, end)));
      ready = true;
      head = new Uint8Array(0);
      if (end < joined.length) await out.write(joined.subarray(end));
      release();
    }
  } catch {
    /* stdout closed: the client went away */
  } finally {
    clearTimeout(timer);
    stop();
    for (const s of signals) Deno.removeSignalListener(s, stop);
    await qemu.stop();
    out.releaseLock();
  }
  if (!ready) {
    const tail = new TextDecoder().decode(head).trim().split("\n").slice(-10).join("\n");
    log(
      `cohesix guest serial: the guest console never became ready (QEMU ${
        timedOut ? "timed out" : "exited"
      }); serial tail:\n${tail}\n${qemu.diagnostics()}`,
    );
    return 1;
  }
  return inputEnded && !timedOut ? 0 : 1;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
