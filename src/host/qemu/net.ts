/**
 * `cohesix qemu --net`: the guest on QEMU user networking (restrict=on) with loopback forwards to its
 * console and Secure9P ports, and the moment it listens. The guest's platform prints
 * `cohesix: net listening addr=A/P gw=G via=dhcp|static console=C 9p=N` once lwIP has an address and
 * both listeners are up (src/guest/native/net/net_bridge.c); that line is the readiness signal, since
 * QEMU accepts a forwarded connection on the host side whether or not the guest listens.
 */
import type { PortForward, QemuNic } from "./launcher.ts";
import { bootQemu, type QemuResult } from "./run.ts";

/** The guest's own ports when the manifest does not name others (configs/root_task.toml [console]). */
export const GUEST_CONSOLE_PORT = 31337;
export const GUEST_NINEP_PORT = 5640;

export interface GuestListening {
  addr: string;
  via: string;
  consolePort: number;
  ninepPort: number;
}

const LISTENING = /cohesix: net listening addr=(\S+) gw=\S+ via=(\w+) console=(\d+) 9p=(\d+)\r?\n/;

/** The guest's listening line in serial text, or null. */
export function parseListening(serial: string): GuestListening | null {
  const m = LISTENING.exec(serial);
  if (!m) return null;
  return { addr: m[1], via: m[2], consolePort: Number(m[3]), ninepPort: Number(m[4]) };
}

/** Serial lines that mean the network will not come up; the caller reports them. */
export function netFailure(serial: string): string | null {
  const m = /cohesix: net: (no virtio-net device[^\r\n]*|virtio-net did not start[^\r\n]*|cannot listen[^\r\n]*|DHCP did not start[^\r\n]*)\r?\n/
    .exec(serial);
  return m ? m[1] : null;
}

/** A free TCP port on 127.0.0.1 (QEMU binds it right after; a lost race shows as QEMU's own error). */
export function freeLoopbackPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export interface NetPorts {
  /** Host ports (0 picks a free one). */
  console: number;
  ninep: number;
  /** The guest's ports. */
  guestConsole?: number;
  guestNinep?: number;
  transport?: "legacy" | "modern";
  frameTap?: QemuNic["frameTap"];
}

/** The NIC for a spec and the host ports chosen for it. */
export function userNic(ports: NetPorts): { nic: QemuNic; console: number; ninep: number } {
  const console = ports.console === 0 ? freeLoopbackPort() : ports.console;
  let ninep = ports.ninep === 0 ? freeLoopbackPort() : ports.ninep;
  while (ninep === console) ninep = freeLoopbackPort();
  const forwards: PortForward[] = [
    { hostPort: console, guestPort: ports.guestConsole ?? GUEST_CONSOLE_PORT },
    { hostPort: ninep, guestPort: ports.guestNinep ?? GUEST_NINEP_PORT },
  ];
  const nic: QemuNic = { kind: "user", restrict: true, forwards };
  if (ports.transport !== undefined) nic.transport = ports.transport;
  if (ports.frameTap !== undefined) nic.frameTap = ports.frameTap;
  return { nic, console, ninep };
}

export interface NetGuest {
  consolePort: number;
  ninepPort: number;
  /** Milliseconds from QEMU's start to the guest's listening line. */
  listeningMs: number;
  /** Serial output so far. */
  serial(): string;
  /** Stops QEMU (by its pid); how the boot ended. */
  stop(): Promise<QemuResult["outcome"]>;
}

/**
 * Boots `image` with a NIC (host ports from `ports`, 0 = free) and resolves once the guest listens;
 * rejects if QEMU ends first. Benchmarks and tests that need more than `cohesix qemu --net` offers
 * (the frame tap) start the guest here.
 */
export async function startNetGuest(image: string, ports: NetPorts): Promise<NetGuest> {
  // Host ports picked here (0) are probed free, then bound by QEMU a moment later; another process
  // can take one in between. QEMU then refuses its forwarding rule at startup, before the guest runs:
  // only that refusal is met with fresh ports (a bounded number of times), nothing else is retried.
  const picked = ports.console === 0 || ports.ninep === 0;
  for (let attempt = 1;; attempt++) {
    try {
      return await bootNetGuest(image, ports);
    } catch (e) {
      if (!(e instanceof HostPortTaken) || !picked || attempt === 3) throw e;
    }
  }
}

/** QEMU could not bind a host port of its forwarding rules. */
class HostPortTaken extends Error {}

async function bootNetGuest(image: string, ports: NetPorts): Promise<NetGuest> {
  const net = userNic(ports);
  const stop = new AbortController();
  let serial = "";
  let listening!: () => void;
  const heard = new Promise<void>((r) => (listening = r));
  const t0 = performance.now();
  const result = bootQemu({
    image,
    timeoutMs: Infinity,
    nic: net.nic,
    signal: stop.signal,
    onSerial: (text) => {
      serial += text;
      if (parseListening(serial) !== null) listening();
    },
  });
  const ended = result.then((r) => {
    const why = `QEMU ended (${r.outcome}) before the guest listened:\n${r.serial.slice(-1500)}` +
      (r.diagnostics.trim() === "" ? "" : `\nQEMU stderr: ${r.diagnostics.trim().slice(-1500)}`);
    if (/host forwarding rule|Address already in use/i.test(r.diagnostics)) throw new HostPortTaken(why);
    throw new Error(why);
  });
  await Promise.race([heard, ended]);
  ended.catch(() => {});
  return {
    consolePort: net.console,
    ninepPort: net.ninep,
    listeningMs: performance.now() - t0,
    serial: () => serial,
    stop: async () => {
      stop.abort();
      return (await result).outcome;
    },
  };
}
