/**
 * The ticket vector set both verifiers must agree on: the hosted one (@noble/ed25519 + cbor-x,
 * src/host/ticket/codec.ts) and the native one (the guest's wire decoder and CBOR reader with
 * libsodium behind the verify mailbox). Each vector is a ticket, the role it is presented for and the
 * expected verdict; the clock is fixed (NOW_MS), so the expiry vectors are deterministic.
 * `vectorEntrySource` is a guest entry that runs the set through PlatformTicketVerifier and prints
 * one line per vector; `hostedVectorLines` prints the same lines with the hosted verifier.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";
import { checkClaims, TicketClaims, TicketStatus, ticketStatusName } from "../../src/guest/tickets/ticket.ts";
import { type Claims, HostTicketVerifier, mintTicket, sealClaims } from "../../src/host/ticket/codec.ts";

/** The injected clock of the vector run. */
export const NOW_MS = 1_760_000_000_000;

/** The secret of a development key the manifest trusts (configs: sha256 of "cohesix-dev-ticket-key:<role>"). */
export function devSecret(role: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(`cohesix-dev-ticket-key:${role}`)));
}

export function workerClaims(over: Partial<Claims> = {}): Claims {
  return {
    role: "worker-heartbeat",
    subject: "worker-1",
    issuedAtMs: NOW_MS - 60_000,
    expiresAtMs: NOW_MS + 3_600_000,
    nonce: "0001020304050607",
    budget: { ticks: 1000, ops: 10000, ttlS: 300 },
    quota: { ops: 0, bytes: 131072, fids: 16 },
    scopes: [],
    ...over,
  };
}

/** `ticket` with the character at `at` (from the end when negative) replaced by another base64url one. */
export function changeChar(ticket: string, at: number): string {
  const i = at < 0 ? ticket.length + at : at;
  const c = ticket[i] === "A" ? "B" : "A";
  return ticket.slice(0, i) + c + ticket.slice(i + 1);
}

export interface Vector {
  name: string;
  /** The role the ticket is presented for. */
  role: string;
  ticket: string;
  /** The expected verdict (TicketStatus name). */
  expect: string;
}

export function vectors(): Vector[] {
  const w = devSecret("worker-heartbeat");
  const valid = mintTicket(workerClaims(), w);
  const claimsEnd = valid.indexOf(".", 5);
  return [
    { name: "valid", role: "worker-heartbeat", ticket: valid, expect: "ok" },
    {
      name: "valid-scoped",
      role: "worker-heartbeat",
      ticket: mintTicket(
        workerClaims({
          subject: "worker-7",
          nonce: "f0e1d2c3b4a59687",
          expiresAtMs: 0,
          budget: { ticks: 4294967296, ops: 9007199254740991, ttlS: 86400 },
          scopes: [{ path: "/worker/worker-7", mode: "rw" }, { path: "/log", mode: "r" }],
        }),
        w,
      ),
      expect: "ok",
    },
    // One base64url character in the middle of the claims: the seal still verifies, the digest does not.
    {
      name: "tampered-claims",
      role: "worker-heartbeat",
      ticket: changeChar(valid, Math.floor(claimsEnd / 2)),
      expect: "tampered-claims",
    },
    // One character inside the signature part of the seal.
    {
      name: "bad-signature",
      role: "worker-heartbeat",
      ticket: changeChar(valid, -20),
      expect: "bad-signature",
    },
    {
      name: "unknown-key",
      role: "worker-heartbeat",
      ticket: mintTicket(workerClaims(), devSecret("not-in-the-manifest")),
      expect: "unknown-key",
    },
    { name: "wrong-role", role: "queen", ticket: valid, expect: "role-mismatch" },
    {
      name: "expired",
      role: "worker-heartbeat",
      ticket: mintTicket(workerClaims({ issuedAtMs: NOW_MS - 7_200_000, expiresAtMs: NOW_MS - 1 }), w),
      expect: "expired",
    },
    {
      name: "not-yet-valid",
      role: "worker-heartbeat",
      ticket: mintTicket(workerClaims({ issuedAtMs: NOW_MS + 60_000 }), w),
      expect: "not-yet-valid",
    },
    { name: "malformed-prefix", role: "worker-heartbeat", ticket: valid.slice(1), expect: "malformed" },
    {
      name: "malformed-base64",
      role: "worker-heartbeat",
      ticket: valid.slice(0, 9) + "*" + valid.slice(10),
      expect: "malformed",
    },
    {
      name: "malformed-seal-length",
      role: "worker-heartbeat",
      ticket: valid.slice(0, -4),
      expect: "malformed",
    },
    { name: "malformed-three-parts", role: "worker-heartbeat", ticket: valid + ".AAAA", expect: "malformed" },
    // Correctly signed claims that are not the claims map: refused by the decoder, after the seal.
    {
      name: "signed-not-a-map",
      role: "worker-heartbeat",
      ticket: sealClaims(new Uint8Array([0x83, 1, 2, 3]), w),
      expect: "malformed",
    },
    {
      name: "signed-unknown-key",
      role: "worker-heartbeat",
      ticket: sealClaims(new Uint8Array([0xa1, 0x18, 0x63, 0x01]), w),
      expect: "malformed",
    },
  ];
}

/** One vector's line: name, verdict, and on ok the decoded claims the attach would use. */
export function vectorLine(name: string, status: number, c: TicketClaims): string {
  let line = `vector ${name} ${ticketStatusName(status)}`;
  if (status === TicketStatus.Ok) {
    line +=
      ` role=${c.role} subject=${c.subject} nonce=${c.nonce} issued=${c.issuedAtMs} expires=${c.expiresAtMs}`;
    line +=
      ` budget=${c.budgetTicks},${c.budgetOps},${c.budgetTtlS} quota=${c.quotaOps},${c.quotaBytes},${c.quotaFids}`;
    for (let i = 0; i < c.scopeCount; i++) line += ` scope=${c.scopePaths[i]}:${c.scopeModes[i]}`;
  }
  return line;
}

/** The vector lines as the hosted verifier gives them. */
export function hostedVectorLines(): string {
  const v = new HostTicketVerifier(BOOT_CONFIG.ticketKeys);
  const c = new TicketClaims();
  let out = "";
  for (const x of vectors()) {
    let st = v.verify(x.ticket, c);
    if (st === TicketStatus.Ok) st = checkClaims(c, x.role, NOW_MS);
    out += vectorLine(x.name, st, c) + "\n";
  }
  return out;
}

/**
 * A guest entry that runs the vectors through the native verifier and prints the same lines
 * (numbers through the guest's ByteWriter, the text as ASCII), between "vectors begin" / "vectors end".
 */
export function vectorEntrySource(): string {
  const table = vectors().map((x) => [x.name, x.role, x.ticket]);
  return `import { BOOT_CONFIG } from "./src/guest/generated/bootstrap.ts";
import { PlatformTicketVerifier } from "./src/guest/tickets/platform_verifier.ts";
import { checkClaims, TicketClaims, TicketStatus, ticketStatusName } from "./src/guest/tickets/ticket.ts";
import { ByteWriter } from "./src/guest/lib/bytes.ts";
const VECTORS = ${JSON.stringify(table)};
const verifier = new PlatformTicketVerifier(BOOT_CONFIG.ticketKeys);
const claims = new TicketClaims();
const w = new ByteWriter(2048);
console.log("vectors begin");
for (let i = 0; i < VECTORS.length; i++) {
  let st = verifier.verify(VECTORS[i][2], claims);
  if (st === TicketStatus.Ok) st = checkClaims(claims, VECTORS[i][1], ${NOW_MS});
  w.reset();
  w.ascii("vector ");
  w.ascii(VECTORS[i][0]);
  w.ascii(" ");
  w.ascii(ticketStatusName(st));
  if (st === TicketStatus.Ok) {
    w.ascii(" role=");
    w.ascii(claims.role);
    w.ascii(" subject=");
    w.ascii(claims.subject);
    w.ascii(" nonce=");
    w.ascii(claims.nonce);
    w.labelUint(" issued=", claims.issuedAtMs);
    w.labelUint(" expires=", claims.expiresAtMs);
    w.labelUint(" budget=", claims.budgetTicks);
    w.labelUint(",", claims.budgetOps);
    w.labelUint(",", claims.budgetTtlS);
    w.labelUint(" quota=", claims.quotaOps);
    w.labelUint(",", claims.quotaBytes);
    w.labelUint(",", claims.quotaFids);
    for (let s = 0; s < claims.scopeCount; s++) {
      w.ascii(" scope=");
      w.ascii(claims.scopePaths[s]);
      w.ascii(":");
      w.ascii(claims.scopeModes[s]);
    }
  }
  let line = "";
  const buf = w.buf;
  for (let k = 0; k < w.len; k++) line += String.fromCharCode(buf[k]);
  console.log(line);
}
console.log("vectors end");
`;
}
