/**
 * Network benchmark for the native guest (one run; the hosted hive is the peer, measured in the same
 * run on the same machine):
 *   1. boot to listening: QEMU start → the guest's `cohesix: net listening` line (ELF image, legacy
 *      virtio-mmio), N boots;
 *   2. console `ping` round trips over TCP: p50/p99 against the seL4 guest (QEMU TCG, user network)
 *      and against the hosted hive (`HostedHive`, the same manifest tables);
 *   3. Secure9P small ops (Tgetattr) per second, one in flight and eight in flight;
 *   4. the image's payload against the manifest's 4 MiB budget.
 *
 *   deno task bench:net [--image DIR] [--n 500] [--boots 3]
 * Without --image it builds the default image (`cohesix image`, through the guest build cache).
 */
import { join } from "node:path";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { ConsoleClient } from "../../src/host/cohsh/client.ts";
import { NineClient } from "../../src/secure9p/host/client.ts";
import { type NetGuest, startNetGuest } from "../../src/host/qemu/net.ts";
import { REPO_ROOT } from "../../src/host/guest_build/tools.ts";

const arg = (name: string, dflt: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : dflt;
};
const N = Number(arg("--n", "500"));
const BOOTS = Number(arg("--boots", "3"));
const OPS_MS = 5000;
const BUDGET = 4 * 1024 * 1024;
const progress = (s: string) => Deno.stderr.writeSync(new TextEncoder().encode(s + "\n"));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function image(): Promise<string> {
  const given = Deno.args.indexOf("--image");
  if (given >= 0) return Deno.args[given + 1];
  const out = await Deno.makeTempDir({ prefix: "cohesix-bench-net-" });
  progress(`bench: cohesix image --out ${out}`);
  const r = await new Deno.Command(join(REPO_ROOT, "cohesix"), { args: ["image", "--out", out], stderr: "inherit", stdout: "null" }).output();
  if (!r.success) throw new Error("cohesix image failed");
  return out;
}

async function boot(elf: string): Promise<NetGuest> {
  return await startNetGuest(elf, { console: 0, ninep: 0 });
}

async function pingTimes(port: number): Promise<number[]> {
  const c = await ConsoleClient.connectTcp("127.0.0.1", port, "changeme", 30000);
  await c.request("ATTACH queen");
  for (let i = 0; i < 20; i++) await c.request("PING");
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const r = await c.request("PING");
    out.push(performance.now() - t);
    if (r.ackLine !== "OK PING reply=pong") throw new Error(r.ackLine);
  }
  c.close();
  return out;
}

/** Tgetattr round trips per second with `window` requests in flight, for OPS_MS. */
async function ninepOps(port: number, window: number): Promise<number> {
  const c = await NineClient.dial("127.0.0.1", port);
  const root = c.newFid();
  await c.attach(root, "queen");
  let ops = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: window }, async () => {
    while (performance.now() - t0 < OPS_MS) {
      await c.getattr(root);
      ops++;
    }
  }));
  const s = (performance.now() - t0) / 1000;
  c.close();
  return ops / s;
}

const dir = await image();
const payload = (await Deno.stat(join(dir, "payload.cpio"))).size;
const rows: string[] = [];
progress(`bench: ${BOOTS} boots to listening`);
const bootMs: number[] = [];
let guest: NetGuest | undefined;
for (let i = 0; i < BOOTS; i++) {
  const g = await boot(join(dir, "sel4-image.elf"));
  bootMs.push(g.listeningMs);
  if (i < BOOTS - 1) await g.stop();
  else guest = g;
}
const hosted = HostedHive.start({ ninepPort: 0, consolePort: 0, boot: BOOT_CONFIG });
try {
  rows.push(`boot to listening (ELF, TCG, DHCP; n=${BOOTS}): median ${pct(bootMs, 50).toFixed(0)} ms, all ${bootMs.map((m) => m.toFixed(0)).join(" ")} ms`);
  progress(`bench: console ping x${N}`);
  const hp = await pingTimes(hosted.consolePort);
  const np = await pingTimes(guest!.consolePort);
  rows.push(``);
  rows.push(`console ping over TCP (n=${N})     p50 ms   p99 ms   p50 vs hosted`);
  rows.push(`  hosted hive (Deno)              ${pct(hp, 50).toFixed(3).padStart(7)}  ${pct(hp, 99).toFixed(3).padStart(7)}   1.00x`);
  rows.push(`  seL4 guest (QEMU TCG, slirp)    ${pct(np, 50).toFixed(3).padStart(7)}  ${pct(np, 99).toFixed(3).padStart(7)}   ${(pct(np, 50) / pct(hp, 50)).toFixed(2)}x`);
  rows.push(``);
  rows.push(`Secure9P Tgetattr ops/s (${OPS_MS / 1000} s each)   1 in flight   8 in flight`);
  progress("bench: 9P small ops");
  const h1 = await ninepOps(hosted.ninepPort, 1);
  const h8 = await ninepOps(hosted.ninepPort, 8);
  const n1 = await ninepOps(guest!.ninepPort, 1);
  const n8 = await ninepOps(guest!.ninepPort, 8);
  rows.push(`  hosted hive                     ${h1.toFixed(0).padStart(10)}   ${h8.toFixed(0).padStart(11)}`);
  rows.push(`  seL4 guest                      ${n1.toFixed(0).padStart(10)}   ${n8.toFixed(0).padStart(11)}   (${(n1 / h1).toFixed(2)}x, ${(n8 / h8).toFixed(2)}x of hosted)`);
  rows.push(``);
  rows.push(`image: payload.cpio ${payload} bytes of the ${BUDGET}-byte budget (${(100 * payload / BUDGET).toFixed(1)}%)`);
  console.log(rows.join("\n"));
} finally {
  await guest?.stop();
  await hosted.stop();
}
