/** Ticket vectors: every refusal class has its own deterministic status, on the host and at attach. */
import { assertEquals, assertMatch, assertThrows } from "../support/assert.ts";
import {
  type Claims,
  decodeClaims,
  HostTicketVerifier,
  keyPair,
  mintTicket,
  openTicket,
  TicketError,
  verifySeal,
} from "../../src/host/ticket/codec.ts";
import { TicketClaims, TicketStatus, ticketStatusName } from "../../src/guest/tickets/ticket.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { NsClient } from "../ninedoor/ns_client.ts";

const HIVE = keyPair(new Uint8Array(32).fill(7));
const OTHER = keyPair(new Uint8Array(32).fill(9));
const T0 = 1_764_000_000_000;

function claims(over: Partial<Claims> = {}): Claims {
  return {
    role: "worker-heartbeat",
    subject: "worker-1",
    issuedAtMs: T0,
    expiresAtMs: T0 + 300_000,
    nonce: "0011223344556677",
    budget: { ticks: 1000, ops: 10000, ttlS: 300 },
    quota: { ops: 0, bytes: 0, fids: 0 },
    scopes: [],
    ...over,
  };
}

function status(ticket: string, keys = [HIVE]): number {
  return new HostTicketVerifier(keys).verify(ticket, new TicketClaims());
}

/** Flips one bit of the decoded part `part` (0 claims, 1 seal) at byte `at`. */
function tamper(ticket: string, part: number, at: number): string {
  const [, body, seal] = ticket.split(".");
  const parts = [body, seal];
  const bytes = Uint8Array.from(
    atob(
      parts[part].replaceAll("-", "+").replaceAll("_", "/") + "==".slice(0, (4 - parts[part].length % 4) % 4),
    ),
    (c) => c.charCodeAt(0),
  );
  bytes[at] ^= 1;
  parts[part] = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
  return `cht1.${parts[0]}.${parts[1]}`;
}

Deno.test("mintTicket is deterministic for the same key and claims and round-trips the claims", () => {
  const a = mintTicket(claims(), HIVE.secretKey);
  assertEquals(a, mintTicket(claims(), HIVE.secretKey));
  assertMatch(a, /^cht1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{112}$/);
  assertEquals(verifySeal(a, [HIVE]), claims());
  assert200(a);
});

function assert200(t: string): void {
  // A plain worker ticket stays well under the console's 224-character line budget.
  if (t.length > 224) throw new Error(`ticket is ${t.length} characters`);
}

Deno.test("HostTicketVerifier tells valid, tampered claim, tampered signature, wrong key and malformed apart", () => {
  const good = mintTicket(claims(), HIVE.secretKey);
  assertEquals(status(good), TicketStatus.Ok);
  assertEquals(status(tamper(good, 0, 3)), TicketStatus.TamperedClaims);
  assertEquals(status(tamper(good, 1, 40)), TicketStatus.BadSignature); // a signature byte
  assertEquals(status(tamper(good, 1, 6)), TicketStatus.BadSignature); // a sealed digest byte
  assertEquals(status(mintTicket(claims(), OTHER.secretKey)), TicketStatus.UnknownKey);
  assertEquals(status(good.slice(0, -3)), TicketStatus.Malformed);
  assertEquals(status("cohesix-ticket-00.00"), TicketStatus.Malformed);
  assertEquals(status(good.replace("cht1.", "cht1.!")), TicketStatus.Malformed);
});

Deno.test("decodeClaims refuses unknown keys, missing fields and wrong types", () => {
  const ok = openTicket(mintTicket(claims(), HIVE.secretKey)).body;
  assertEquals(decodeClaims(ok).role, "worker-heartbeat");
  const err = assertThrows(() => decodeClaims(new Uint8Array([0xa1, 0x18, 0x63, 0x01])), /unknown key 99/);
  assertEquals((err as TicketError).status, TicketStatus.Malformed);
  assertThrows(() => decodeClaims(new Uint8Array([0xa1, 0x01, 0x61, 0x71])), /missing key 3/);
  assertThrows(() => decodeClaims(new Uint8Array([0x01])), /not a CBOR map/);
});

Deno.test("NineDoor.attach refuses expired, not-yet-valid, wrong-role and wrong-subject tickets with distinct statuses", () => {
  const boot = defaultBootConfig();
  boot.ticketKeys = [HIVE];
  const nd = new NineDoor(boot, new HostTicketVerifier(boot.ticketKeys));
  nd.advance(T0 + 1000);
  const queen = new NsClient(nd, nd.attach("queen", ""));
  assertEquals(queen.write("/queen/ctl", '{"spawn":"heartbeat","ticks":100000}\n'), 37);

  const cases: [string, string, number][] = [
    ["worker-heartbeat", mintTicket(claims(), HIVE.secretKey), TicketStatus.Ok],
    ["worker-heartbeat", mintTicket(claims({ expiresAtMs: T0 + 500 }), HIVE.secretKey), TicketStatus.Expired],
    [
      "worker-heartbeat",
      mintTicket(claims({ issuedAtMs: T0 + 5000 }), HIVE.secretKey),
      TicketStatus.NotYetValid,
    ],
    ["worker-gpu", mintTicket(claims(), HIVE.secretKey), TicketStatus.RoleMismatch],
    [
      "worker-heartbeat",
      mintTicket(claims({ subject: "worker-9" }), HIVE.secretKey),
      TicketStatus.BadSubject,
    ],
    ["worker-heartbeat", tamper(mintTicket(claims(), HIVE.secretKey), 0, 2), TicketStatus.TamperedClaims],
    ["worker-heartbeat", mintTicket(claims(), OTHER.secretKey), TicketStatus.UnknownKey],
    ["worker-heartbeat", "", TicketStatus.Missing],
    [
      "worker-heartbeat",
      mintTicket(claims({ quota: { ops: 0, bytes: 0, fids: 999 } }), HIVE.secretKey),
      TicketStatus.OverLimit,
    ],
  ];
  const logBefore = (queen.read("/log/queen.log") as string).split("\n").length;
  for (const [role, ticket, want] of cases) {
    const h = nd.attach(role, ticket);
    assertEquals(nd.lastAttachStatus, want, `${role} ${ticketStatusName(want)}`);
    assertEquals(h >= 0, want === TicketStatus.Ok, ticketStatusName(want));
    if (want !== TicketStatus.Ok) assertEquals(h, -1); // -EPERM: Permission
  }
  const log = (queen.read("/log/queen.log") as string).split("\n");
  // One audit line per refusal, naming its reason.
  assertEquals(log.length - logBefore, cases.length - 1);
  for (const [, , want] of cases.slice(1)) {
    assertEquals(
      log.some((l) => l.endsWith(`reason=${ticketStatusName(want)}`)),
      true,
      ticketStatusName(want),
    );
  }
});
