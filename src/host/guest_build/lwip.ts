/**
 * lwIP for the native root task: Debian's source package (`../shared/third-party/`, or
 * `$COHESIX_THIRD_PARTY`), checked by sha256, unpacked with bsdtar into the build directory and
 * compiled by build.ts with our port headers (src/guest/native/net/lwip-port: lwipopts.h, arch/cc.h).
 * Only the NO_SYS raw-API core is built: IPv4 (ARP, DHCP, ICMP), UDP for DHCP, TCP, Ethernet.
 * Debian's patches touch only the sockets/netconn API, PPP and the Unix port, none of which is
 * compiled here, so the upstream files are used as shipped.
 */
import { join, resolve } from "node:path";
import { REPO_ROOT, runTool, StageError } from "./tools.ts";

export const LWIP = {
  version: "2.1.3+dfsg1-2",
  tarball: "lwip_2.1.3+dfsg1.orig.tar.xz",
  sha256: "0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24",
  /** Top directory inside the tarball. */
  dir: "lwip-2.1.3",
} as const;

/** The raw-API IPv4 core; paths inside the tarball's top directory. */
export const LWIP_SOURCES = [
  "src/core/def.c",
  "src/core/inet_chksum.c",
  "src/core/init.c",
  "src/core/ip.c",
  "src/core/mem.c",
  "src/core/memp.c",
  "src/core/netif.c",
  "src/core/pbuf.c",
  "src/core/tcp.c",
  "src/core/tcp_in.c",
  "src/core/tcp_out.c",
  "src/core/timeouts.c",
  "src/core/udp.c",
  "src/core/ipv4/dhcp.c",
  "src/core/ipv4/etharp.c",
  "src/core/ipv4/icmp.c",
  "src/core/ipv4/ip4.c",
  "src/core/ipv4/ip4_addr.c",
  "src/netif/ethernet.c",
];

export function thirdPartyDir(): string {
  return resolve(Deno.env.get("COHESIX_THIRD_PARTY") || join(REPO_ROOT, "..", "shared", "third-party"));
}

export function lwipTarball(): string {
  return join(thirdPartyDir(), LWIP.tarball);
}

async function sha256File(path: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Throws StageError unless the tarball is there with the pinned sha256; returns its path. */
export async function checkLwipTarball(): Promise<string> {
  const tarball = lwipTarball();
  let got: string;
  try {
    got = await sha256File(tarball);
  } catch {
    throw new StageError(
      "lwip",
      `${tarball} is missing: the native network needs Debian's lwIP ${LWIP.version} source ` +
        `(apt-get source --download-only lwip into ${thirdPartyDir()}, or set COHESIX_THIRD_PARTY)`,
    );
  }
  if (got !== LWIP.sha256) {
    throw new StageError("lwip", `${tarball} has sha256 ${got}, expected ${LWIP.sha256}: refusing to build from it`);
  }
  return tarball;
}

/** Checks and unpacks lwIP under `outDir`; returns the source root (holds src/). */
export async function unpackLwip(outDir: string): Promise<string> {
  const tarball = await checkLwipTarball();
  const root = join(outDir, LWIP.dir);
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await runTool("lwip", "bsdtar", ["-xf", tarball, "-C", outDir, `${LWIP.dir}/src`]);
  return root;
}
