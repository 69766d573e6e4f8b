/**
 * Frames no TCP/IP stack would send, put straight onto the seL4 guest's wire: the NIC shares a QEMU
 * hub with the user network and a UDP socket (the launcher's frame tap), so this test speaks raw
 * Ethernet to the guest while cohsh talks to it through the forwards. Every malformed frame is
 * followed by a valid ICMP echo request, and exactly the valid ones are answered, in order; an RX
 * flood of thousands of frames runs while a console session works, and the session's transcript is
 * the hosted hive's.
 */
import dgram from "node:dgram";
import { join } from "node:path";
import { assert, assertEquals } from "../support/assert.ts";
import { freeLoopbackPort } from "../../src/host/qemu/net.ts";
import { assertNoTrap, cohshScript, netImage, startNetGuest } from "./net_support.ts";

const GUEST_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const OUR_MAC = [0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc];
const GUEST_IP = [10, 0, 2, 15];
const OUR_IP = [10, 0, 2, 99];

function checksum(b: number[]): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) + (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
const be16 = (v: number) => [v >> 8, v & 0xff];
const eth = (type: number, dst = GUEST_MAC) => [...dst, ...OUR_MAC, ...be16(type)];

function ipv4(proto: number, payload: number[], over: Partial<{ version: number; ihl: number; total: number; frag: number; badSum: boolean }> = {}): number[] {
  const total = over.total ?? 20 + payload.length;
  const h = [((over.version ?? 4) << 4) | (over.ihl ?? 5), 0, ...be16(total), 0, 1, ...be16(over.frag ?? 0), 64, proto, 0, 0, ...OUR_IP, ...GUEST_IP];
  const sum = checksum(h);
  h[10] = sum >> 8;
  h[11] = (sum & 0xff) ^ (over.badSum ? 0x55 : 0);
  return [...h, ...payload];
}

function icmpEcho(seq: number, badSum = false): number[] {
  const m = [8, 0, 0, 0, 0x12, 0x34, ...be16(seq), ...new TextEncoder().encode("cohesix-frames!!")];
  const sum = checksum(m);
  m[2] = sum >> 8;
  m[3] = (sum & 0xff) ^ (badSum ? 0x01 : 0);
  return m;
}

const echoFrame = (seq: number) => eth(0x0800).concat(ipv4(1, icmpEcho(seq)));

/** Who-has GUEST_IP tell OUR_IP: the guest answers and learns our MAC. */
const arpRequest = () => [...eth(0x0806, [255, 255, 255, 255, 255, 255]), 0, 1, 8, 0, 6, 4, 0, 1, ...OUR_MAC, ...OUR_IP, 0, 0, 0, 0, 0, 0, ...GUEST_IP];

const MALFORMED: [string, number[]][] = [
  ["runt frame (10 bytes)", eth(0x0800).slice(0, 10)],
  ["Ethernet header only", eth(0x0800)],
  ["unknown ethertype", [...eth(0x88b5), ...new Array(46).fill(0xa5)]],
  ["frame for another MAC", eth(0x0800, [0x02, 0, 0, 0, 0, 1]).concat(ipv4(1, icmpEcho(60000)))],
  ["IP version 6 in an IPv4 frame", eth(0x0800).concat(ipv4(1, icmpEcho(60001), { version: 6 }))],
  ["IP header length 4 words", eth(0x0800).concat(ipv4(1, icmpEcho(60002), { ihl: 4 }))],
  ["IP header length past the frame", eth(0x0800).concat(ipv4(1, icmpEcho(60003), { ihl: 15 }))],
  ["IP header checksum wrong", eth(0x0800).concat(ipv4(1, icmpEcho(60004), { badSum: true }))],
  ["IP total length past the frame", eth(0x0800).concat(ipv4(1, icmpEcho(60005), { total: 1400 }))],
  ["IP total length shorter than its header", eth(0x0800).concat(ipv4(1, icmpEcho(60006), { total: 12 }))],
  ["IP fragment (more fragments)", eth(0x0800).concat(ipv4(1, icmpEcho(60007), { frag: 0x2000 }))],
  ["ICMP checksum wrong", eth(0x0800).concat(ipv4(1, icmpEcho(60008, true)))],
  ["TCP header cut short", eth(0x0800).concat(ipv4(6, [0x30, 0x39, ...be16(5640), 0, 0]))],
  ["TCP data offset past the segment", eth(0x0800).concat(ipv4(6, [0x30, 0x39, ...be16(5640), 0, 0, 0, 1, 0, 0, 0, 0, 0xf0, 0x02, 0xff, 0xff, 0, 0, 0, 0]))],
  ["UDP length past the datagram", eth(0x0800).concat(ipv4(17, [0x30, 0x39, 0, 68, 0x10, 0, 0, 0]))],
  ["ARP with a 9-byte hardware address", [...eth(0x0806), 0, 1, 8, 0, 9, 4, 0, 1, ...OUR_MAC, 0, 0, 0, ...OUR_IP, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...GUEST_IP]],
  ["full-size frame of garbage", [...eth(0x0800), ...Array.from({ length: 1500 }, (_, i) => (i * 7 + 3) & 0xff)]],
];

interface Tap {
  send(frame: number[]): Promise<void>;
  /** ICMP echo replies from the guest to us, by sequence number, in arrival order. */
  replies: number[];
  arpAnswered: boolean;
  close(): void;
}

async function openTap(listenPort: number, peerPort: number): Promise<Tap> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(peerPort, "127.0.0.1", () => r()));
  const tap: Tap = {
    replies: [],
    arpAnswered: false,
    send: (frame) => new Promise((r, j) => sock.send(new Uint8Array(frame), listenPort, "127.0.0.1", (e) => (e ? j(e) : r()))),
    close: () => sock.close(),
  };
  sock.on("message", (m: Uint8Array) => {
    const type = (m[12] << 8) | m[13];
    const toUs = OUR_MAC.every((b, i) => m[i] === b);
    if (type === 0x0806 && toUs && m[21] === 2) tap.arpAnswered = true;
    if (type === 0x0800 && toUs && m[23] === 1 && m[34] === 0) tap.replies.push((m[40] << 8) | m[41]);
  });
  return tap;
}

async function until(cond: () => boolean, what: string, ms = 60000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name: "malformed Ethernet/IP/TCP/UDP/ARP frames are dropped, each valid echo after them is answered in order, then an RX flood runs while a console session works",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await netImage();
    const listenPort = freeLoopbackPort();
    const peerPort = freeLoopbackPort();
    const tap = await openTap(listenPort, peerPort);
    const g = await startNetGuest(join(dir, "sel4-image.elf"), { console: 0, ninep: 0, frameTap: { listenPort, peerPort } });
    try {
      await tap.send(arpRequest());
      await until(() => tap.arpAnswered, "the guest's ARP reply");
      for (let i = 0; i < MALFORMED.length; i++) {
        await tap.send(MALFORMED[i][1]);
        await tap.send(echoFrame(i));
        await until(() => tap.replies.length >= i + 1, `the echo after '${MALFORMED[i][0]}'`);
      }
      assertEquals(tap.replies, MALFORMED.map((_, i) => i), "exactly the valid echoes were answered, in order");
      // The flood: 5,000 echo requests as fast as the socket takes them, while a console session runs
      // the full self-test through the user network.
      const FLOOD = 5000;
      const before = tap.replies.length;
      const session = cohshScript("tcp", g.consolePort, "demo/selftest_full.coh");
      for (let i = 0; i < FLOOD; i++) await tap.send(echoFrame(1000 + i));
      const transcript = await session;
      assert(transcript.includes("OK SPAWN"), transcript);
      await tap.send(echoFrame(9999));
      await until(() => tap.replies.includes(9999), "the echo after the flood");
      const answered = tap.replies.length - before - 1;
      console.log(`RX flood: ${FLOOD} echo requests, ${answered} answered (the rest dropped by a full ring or pool)`);
      assert(answered > 0 && answered <= FLOOD, `answered ${answered}`);
      assertNoTrap(g.serial());
    } finally {
      tap.close();
      await g.stop();
    }
  },
});
