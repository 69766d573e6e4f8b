/**
 * The seL4 guest on the network: `cohesix qemu --net` boots the default image with a virtio-net NIC
 * on QEMU's restricted user network, and cohsh's tcp and 9p transports run the demo and the three
 * self-tests against it with byte-identical transcripts to a hosted hive (`cohesix dev`, the same
 * manifest) given the same scripts in the same order. Legacy and modern virtio-mmio, ELF and UEFI.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { withDevPorts } from "../support/dev.ts";
import { join } from "node:path";
import { assertNoTrap, cliNetGuest, cohshScript, netImage } from "./net_support.ts";

const SCRIPTS = ["demo", "selftest_negative", "selftest_quick", "selftest_full"].map((s) => `demo/${s}.coh`);
const RUNS: ["tcp" | "9p", string][] = [];
for (const s of SCRIPTS) for (const t of ["tcp", "9p"] as const) RUNS.push([t, s]);

/** Every run in order against one hive; the transcripts. */
async function transcripts(consolePort: number, ninepPort: number): Promise<string[]> {
  const out: string[] = [];
  for (const [t, s] of RUNS) out.push(await cohshScript(t, t === "tcp" ? consolePort : ninepPort, s));
  return out;
}

let hosted: Promise<string[]> | undefined;
const hostedTranscripts = () => {
  hosted ??= (async () => {
    let got: string[] = [];
    await withDevPorts(async ({ consolePort, ninepPort }) => {
      got = await transcripts(consolePort, ninepPort);
    });
    return got;
  })();
  return hosted;
};

/**
 * `cat /proc/workers` after a spawn shows `ttl_ms_left`, the worker's deadline minus the hive's clock
 * at that moment: a reading of the injected clock, not of the protocol. The hosted runtime advances
 * its clock every 20 ms and the guest on every pump round, so the number is the milliseconds that
 * passed between the spawn and the cat on each hive. Those numbers are checked to be within a few
 * seconds of the 300 s budget, and then every byte of the transcripts must be equal.
 */
function clockFree(t: string): string {
  return t.replace(/ttl_ms_left=(\d+)/g, (_, ms) => {
    const left = Number(ms);
    assert(left <= 300_000 && left > 290_000, `ttl_ms_left=${ms} is not within 10 s of the 300 s budget`);
    return "ttl_ms_left=<clock>";
  });
}

function assertSameTranscripts(native: string[], want: string[]): void {
  for (let i = 0; i < RUNS.length; i++) {
    assertEquals(clockFree(native[i]), clockFree(want[i]), `${RUNS[i][1]} over ${RUNS[i][0]}`);
  }
}

Deno.test("cohsh over tcp and 9p runs the demo and the three self-tests on the seL4 guest (legacy virtio-mmio) with the hosted hive's transcripts", async () => {
  const dir = await netImage();
  const guest = await cliNetGuest(dir);
  try {
    assertMatch(guest.serial(), /cohesix: net: virtio-net at 0x0a00[0-9a-f]{4} \(legacy\) mac=52:54:00:12:34:56/);
    assertMatch(guest.serial(), /cohesix: net listening addr=10\.0\.2\.15\/24 gw=0\.0\.0\.0 via=dhcp console=31337 9p=5640/);
    const native = await transcripts(guest.consolePort, guest.ninepPort);
    assertSameTranscripts(native, await hostedTranscripts());
    assertNoTrap(guest.serial());
    console.log(`seL4 --net (ELF, legacy): listening after ${guest.listeningMs.toFixed(0)} ms`);
  } finally {
    await guest.stop();
  }
});

Deno.test("the modern virtio-mmio transport (VIRTIO_F_VERSION_1) serves the same transcripts", async () => {
  const dir = await netImage();
  const guest = await cliNetGuest(dir, ["--virtio", "modern"]);
  try {
    assertMatch(guest.serial(), /cohesix: net: virtio-net at 0x0a00[0-9a-f]{4} \(modern\)/);
    const native = await transcripts(guest.consolePort, guest.ninepPort);
    assertSameTranscripts(native, await hostedTranscripts());
    assertNoTrap(guest.serial());
  } finally {
    await guest.stop();
  }
});

Deno.test("a UEFI boot (esp.img through AAVMF) listens and serves the same transcripts", async () => {
  const dir = await netImage();
  const guest = await cliNetGuest(dir, ["--uefi"]);
  try {
    const native = await transcripts(guest.consolePort, guest.ninepPort);
    assertSameTranscripts(native, await hostedTranscripts());
    assertNoTrap(guest.serial());
    console.log(`seL4 --net (UEFI): listening after ${guest.listeningMs.toFixed(0)} ms`);
  } finally {
    await guest.stop();
  }
});

Deno.test("cohesix qemu --net stops QEMU on SIGTERM and reports the listening event and the stop as JSON lines", async () => {
  const guest = await cliNetGuest(await netImage());
  const out = await guest.stop();
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
