/**
 * The seL4 guest on the network: `cohesix qemu --net` boots the default image with a virtio-net NIC
 * on QEMU's restricted user network, and cohsh's tcp and 9p transports run the demo and the three
 * self-tests against it with the transcripts of a hosted hive (`cohesix dev`, the same manifest)
 * given the same scripts in the same order. Each transport gets a fresh hive on both sides (a worker
 * spawned by one self-test would otherwise be seen, a wall-clock-dependent number of ticks older, by
 * the next). Legacy and modern virtio-mmio, ELF and UEFI.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { withDevPorts } from "../support/dev.ts";
import { join } from "node:path";
import { assertNoTrap, cliNetGuest, cohshScript, type NetGuest, netImage } from "./net_support.ts";

type Transport = "tcp" | "9p";
const SCRIPTS = ["demo", "selftest_negative", "selftest_quick", "selftest_full"].map((s) => `demo/${s}.coh`);

/** The four scripts in order against one hive over one transport; the transcripts. */
async function transcripts(t: Transport, consolePort: number, ninepPort: number): Promise<string[]> {
  const out: string[] = [];
  for (const s of SCRIPTS) out.push(await cohshScript(t, t === "tcp" ? consolePort : ninepPort, s));
  return out;
}

const hosted: Partial<Record<Transport, Promise<string[]>>> = {};
function hostedTranscripts(t: Transport): Promise<string[]> {
  hosted[t] ??= (async () => {
    let got: string[] = [];
    await withDevPorts(async ({ consolePort, ninepPort }) => {
      got = await transcripts(t, consolePort, ninepPort);
    });
    return got;
  })();
  return hosted[t]!;
}

/**
 * `cat /proc/workers` right after selftest_full's spawn reads the hive's clock: `ttl_ms_left` is the
 * worker's deadline minus the clock, and a heartbeat `tick=` (with the telemetry it writes) follows
 * the clock's 1000 ms ticks. The hosted runtime advances its clock every 20 ms, the guest on every
 * pump round, so those numbers say how much wall time passed between two commands on each hive.
 * They are checked for sense (the budget's 300 s ttl, at most one tick) and masked (with the rest
 * of the ACK line's fixed-width data= preview, whose cut moves with them); every other byte of the
 * transcripts must be equal.
 */
function clockFree(t: string): string {
  return t.split("\n").map((line) => {
    if (!/^(worker-\d+ |OK CAT path=\/proc\/workers )/.test(line)) return line;
    // The ACK line's data= preview is cut at a fixed width, so a longer clock number moves its end.
    const cut = line.startsWith("OK CAT ") ? line.replace(/( ttl_ms_left=\d+).*$/, "$1") : line;
    return cut
      .replace(/ttl_ms_left=(\d+)/, (_, ms) => {
        assert(Number(ms) <= 300_000 && Number(ms) > 290_000, `ttl_ms_left=${ms} is not within 10 s of the 300 s budget`);
        return "ttl_ms_left=<clock>";
      })
      .replace(/ tick=(\d+) /, (_, n) => {
        assert(Number(n) <= 1, `a worker spawned by the script has ${n} ticks`);
        return " tick=<clock> ";
      })
      .replace(/telemetry_end=\d+/, "telemetry_end=<clock>");
  }).join("\n");
}

async function assertParity(guest: NetGuest, t: Transport): Promise<void> {
  const native = await transcripts(t, guest.consolePort, guest.ninepPort);
  const want = await hostedTranscripts(t);
  for (let i = 0; i < SCRIPTS.length; i++) assertEquals(clockFree(native[i]), clockFree(want[i]), `${SCRIPTS[i]} over ${t}`);
  assertNoTrap(guest.serial());
}

/** Boots the guest with `flags`, runs `t`, stops it. */
async function parityRun(t: Transport, flags: string[], check?: (g: NetGuest) => void): Promise<number> {
  const guest = await cliNetGuest(await netImage(), flags);
  try {
    await assertParity(guest, t);
    check?.(guest);
    return guest.listeningMs;
  } finally {
    await guest.stop();
  }
}

const legacy = (g: NetGuest) => {
  assertMatch(g.serial(), /cohesix: net: virtio-net at 0x0a00[0-9a-f]{4} \(legacy\) mac=52:54:00:12:34:56/);
  // Restricted user networking hands out an address and no gateway.
  assertMatch(g.serial(), /cohesix: net listening addr=10\.0\.2\.15\/24 gw=0\.0\.0\.0 via=dhcp console=31337 9p=5640/);
  assert(g.serial().indexOf("net listening") < g.serial().indexOf("serial console ready"), "listening before the console is ready");
};

Deno.test("cohsh --transport tcp runs the demo and the three self-tests on the seL4 guest (legacy virtio-mmio, ELF) with the hosted hive's transcripts", async () => {
  const ms = await parityRun("tcp", [], legacy);
  console.log(`seL4 --net (ELF, legacy): listening after ${ms.toFixed(0)} ms`);
});

Deno.test("cohsh --transport 9p runs the demo and the three self-tests on the seL4 guest (legacy virtio-mmio, ELF) with the hosted hive's transcripts", async () => {
  await parityRun("9p", [], legacy);
});

Deno.test("the modern virtio-mmio transport (VIRTIO_F_VERSION_1) serves the same tcp transcripts", async () => {
  await parityRun("tcp", ["--virtio", "modern"], (g) => assertMatch(g.serial(), /cohesix: net: virtio-net at 0x0a00[0-9a-f]{4} \(modern\)/));
});

Deno.test("a UEFI boot (esp.img through AAVMF) listens and serves the same 9p transcripts", async () => {
  const ms = await parityRun("9p", ["--uefi"]);
  console.log(`seL4 --net (UEFI): listening after ${ms.toFixed(0)} ms`);
});

Deno.test("cohesix qemu --net stops QEMU on SIGTERM and reports the listening event and the stop as JSON lines", async () => {
  const guest = await cliNetGuest(await netImage());
  await guest.stop();
  const out = await guest.stdout();
  const lines = out.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines[0], { event: "listening", console_port: guest.consolePort, ninep_port: guest.ninepPort });
  assertEquals(lines[1].event, "stopped");
  assertEquals(lines[1].outcome, "aborted");
  // The forwards are gone with QEMU.
  const still = await Deno.connect({ hostname: "127.0.0.1", port: guest.consolePort }).then((c) => (c.close(), true), () => false);
  assertEquals(still, false, "the console forward outlived QEMU");
});

Deno.test("cohesix qemu refuses bad --net flags with a usage error (exit 2) before starting QEMU", async () => {
  const cases: [string[], RegExp][] = [
    [["--net", "--virtio", "bogus"], /--virtio must be legacy or modern, got 'bogus'/],
    [["--net", "--console-port", "70000"], /--console-port must be a port number 0\.\.65535, got '70000'/],
    [["--net", "--console-port", "4000", "--ninep-port", "4000"], /--console-port and --ninep-port are both 4000; give two ports/],
    [["--net", "--expect", "x"], /--net watches serial .* neither --expect nor --serial-tcp/],
    [["--net", "--timeout", "0"], /--timeout must be a positive number of seconds, got '0'/],
    [["--ninep-port", "0"], /--ninep-port needs --net/],
  ];
  for (const [flags, want] of cases) {
    const r = await new Deno.Command(join(Deno.cwd(), "cohesix"), {
      args: ["qemu", "--image", "/nonexistent", ...flags],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 2, flags.join(" "));
    assertMatch(new TextDecoder().decode(r.stderr), want);
  }
});
