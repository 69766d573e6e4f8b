/**
 * Benchmark of the native guest on seL4 (QEMU TCG), each number with a peer measured in the same run:
 *  1. Ticket verification: N seal checks of one valid worker ticket by the guest's
 *     PlatformTicketVerifier on seL4 (libsodium behind the verify mailbox, timed by the arrival of the
 *     begin/end lines on serial) against N checks by the hosted verifier (@noble/ed25519) in this process.
 *  2. Idle CPU: QEMU's CPU time while the default image's hive sits idle at its console (the root task
 *     in seL4_Wait, ticking once per tick_ms) against QEMU running the SDK's hello root task, which
 *     suspends itself (the floor: QEMU and the kernel's own 2 ms tick, no user work at all).
 *
 * Usage: deno run -A bench/native/native_bench.ts [--verifies N] [--idle-s S]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { cachedBuildGuest, guestCacheDir } from "../../src/host/guest_build/cache.ts";
import { bootEntrySource } from "../../src/host/guest_build/bundle.ts";
import { linkSel4Image } from "../../src/host/guest_build/native_run.ts";
import { cohesixSel4Export, SHARED_SEL4 } from "../../src/host/sel4/kernel_export.ts";
import { QemuProcess } from "../../src/host/qemu/launcher.ts";
import { runTool } from "../../src/host/guest_build/tools.ts";
import { HostTicketVerifier } from "../../src/host/ticket/codec.ts";
import { TicketClaims } from "../../src/guest/tickets/ticket.ts";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";
import { vectors } from "../../tests/native/ticket_vectors.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { verifies: { type: "string", default: "64" }, "idle-s": { type: "string", default: "10" } },
});
const n = Number(values.verifies);
const idleS = Number(values["idle-s"]);
const work = await Deno.makeTempDir({ prefix: "cohesix-native-bench-" });
const sel4 = await cohesixSel4Export({ progress: (l) => console.error(l) });
const ticket = vectors()[0].ticket;

function verifyEntry(count: number): string {
  return `import { BOOT_CONFIG } from "./src/guest/generated/bootstrap.ts";
import { PlatformTicketVerifier } from "./src/guest/tickets/platform_verifier.ts";
import { TicketClaims } from "./src/guest/tickets/ticket.ts";
const v = new PlatformTicketVerifier(BOOT_CONFIG.ticketKeys);
const c = new TicketClaims();
const T = ${JSON.stringify(ticket)};
if (v.verify(T, c) !== 0) console.log("bench: the ticket does not verify");
console.log("bench begin");
let bad = 0;
for (let i = 0; i < ${count}; i++) if (v.verify(T, c) !== 0) bad++;
console.log("bench end");
if (bad > 0) console.log("bench: a check failed");
`;
}

async function image(entrySource: string, name: string): Promise<string> {
  const r = await cachedBuildGuest({
    entrySource,
    sel4Sdk: sel4,
    root: guestCacheDir(),
    onProgress: (e) => {
      if (e.state === "done") console.error(`  guest ${e.stage} ${e.ms} ms`);
    },
  });
  const out = join(work, `${name}.elf`);
  await linkSel4Image(r.elf, out, sel4);
  return out;
}

/** Milliseconds between the serial lines "bench begin" and "bench end" on seL4. */
async function sel4VerifyMs(img: string): Promise<number> {
  const q = QemuProcess.start({ boot: { kind: "elf", image: img }, serial: { kind: "stdio" } });
  let text = "";
  let t0 = 0;
  const dec = new TextDecoder();
  try {
    for await (const chunk of q.stdout) {
      text += dec.decode(chunk, { stream: true });
      if (t0 === 0 && text.includes("bench begin\n")) t0 = performance.now();
      if (text.includes("bench end\n")) {
        if (text.includes("bench:")) {
          throw new Error(`the guest reported a failed check:\n${text.slice(-400)}`);
        }
        return performance.now() - t0;
      }
    }
  } finally {
    q.kill();
    await q.stop();
  }
  throw new Error(`QEMU ended before 'bench end':\n${text.slice(-400)}`);
}

function hostVerifyMs(count: number): number {
  const v = new HostTicketVerifier(BOOT_CONFIG.ticketKeys);
  const c = new TicketClaims();
  v.verify(ticket, c);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) if (v.verify(ticket, c) !== 0) throw new Error("hosted verify failed");
  return performance.now() - t0;
}

/** QEMU's CPU share (percent of one core) over `seconds` once `ready` is on serial. */
async function idleCpu(img: string, ready: string, seconds: number): Promise<number> {
  const c = QemuProcess.start({ boot: { kind: "elf", image: img }, serial: { kind: "stdio" } });
  const dec = new TextDecoder();
  let text = "";
  const reader = c.stdout.getReader();
  try {
    while (!text.includes(ready)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`QEMU ended before '${ready}'`);
      text += dec.decode(value, { stream: true });
    }
    const cpu = () => {
      const f = Deno.readTextFileSync(`/proc/${c.pid}/stat`).split(") ")[1].split(" ");
      return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks
    };
    const hz = 100;
    const c0 = cpu();
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const used = (cpu() - c0) / hz;
    return (100 * used) / ((performance.now() - w0) / 1000);
  } finally {
    reader.releaseLock();
    c.kill();
    await c.stop();
  }
}

console.error("building the verify entry and the default guest (cached after the first run)...");
const verifyImg = await image(verifyEntry(n), "verify");
const sel4Ms = await sel4VerifyMs(verifyImg);
const hostMs = hostVerifyMs(n);
console.log(
  `ticket verify x${n}: seL4 (libsodium, QEMU TCG) ${(1000 * sel4Ms / n).toFixed(0)} us each; ` +
    `hosted (@noble/ed25519, Deno) ${(1000 * hostMs / n).toFixed(0)} us each; ratio seL4/hosted ${
      (sel4Ms / hostMs).toFixed(2)
    }`,
);

const bootImg = await image(bootEntrySource(), "boot");
const hello = join(work, "hello");
await runTool("bench", "bash", [
  join(SHARED_SEL4, "examples", "hello-roottask", "build.sh"),
  hello,
  "--sdk",
  sel4,
]);
const helloImg = join(work, "hello.elf");
await linkSel4Image(join(hello, "hello-roottask.elf"), helloImg, sel4);
const hive = await idleCpu(bootImg, "cohesix: serial console ready", idleS);
const floor = await idleCpu(helloImg, "cohesix root task up", idleS);
console.log(
  `idle CPU over ${idleS} s: hive booted and idle ${hive.toFixed(1)}% of a core; suspended hello root task ${
    floor.toFixed(1)
  }%; ratio ${(hive / Math.max(floor, 0.1)).toFixed(2)}`,
);
await Deno.remove(work, { recursive: true });
