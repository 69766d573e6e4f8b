/**
 * The manifest's ticket keys work with the host ticket codec: the generated kid is the codec's kid,
 * and tickets minted from the documented development seeds verify against BOOT_CONFIG's keys.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { keyId as codecKeyId, keyPair, mintTicket, verifySeal } from "../../src/host/ticket/codec.ts";
import { BOOT_CONFIG } from "../../src/guest/generated/bootstrap.ts";
import { keyId } from "../../src/codegen/mod.ts";
import { assertEquals, assertThrows } from "../support/assert.ts";

function devSeed(role: string): Uint8Array {
  return sha256(new TextEncoder().encode(`cohesix-dev-ticket-key:${role}`));
}

Deno.test("keyId matches the ticket codec's kid for every generated ticket key", () => {
  for (const k of BOOT_CONFIG.ticketKeys) {
    assertEquals(k.kid, keyId(k.publicKey));
    assertEquals(k.kid, codecKeyId(hexToBytes(k.publicKey)));
  }
});

Deno.test("BOOT_CONFIG ticketKeys are the public halves of the documented development seeds", () => {
  const roles = ["queen", "worker-heartbeat", "worker-gpu", "observer"];
  assertEquals(BOOT_CONFIG.ticketKeys.map((k) => k.publicKey), roles.map((r) => keyPair(devSeed(r)).publicKey));
});

Deno.test("a ticket minted with a development seed verifies against BOOT_CONFIG, one from another key does not", () => {
  const claims = {
    role: "worker-heartbeat",
    subject: "worker-1",
    issuedAtMs: 0,
    expiresAtMs: 60000,
    nonce: "0001020304050607",
    budget: { ticks: 10, ops: 10, ttlS: 60 },
    quota: { ops: 0, bytes: 0, fids: 0 },
    scopes: [],
  };
  const ok = mintTicket(claims, bytesToHex(devSeed("worker-heartbeat")));
  assertEquals(verifySeal(ok, BOOT_CONFIG.ticketKeys).subject, "worker-1");
  const other = mintTicket(claims, bytesToHex(devSeed("not-in-the-manifest")));
  assertThrows(() => verifySeal(other, BOOT_CONFIG.ticketKeys), /is not trusted/);
});
