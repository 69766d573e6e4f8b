/** Tickets for tests that need a worker (or any role) to attach with a signed ticket. */
import { type Claims, mintTicket } from "../../src/host/ticket/codec.ts";

/**
 * Mints a ticket for `role`/`subject` with `nonce`: issued at 0, no expiry, zero budget and quota,
 * no scopes, except for the claims `over` sets.
 */
export function testTicket(
  role: string,
  subject: string,
  nonce: string,
  secretKeyHex: string,
  over: Partial<Claims> = {},
): string {
  return mintTicket({
    role,
    subject,
    issuedAtMs: 0,
    expiresAtMs: 0,
    nonce,
    budget: { ticks: 0, ops: 0, ttlS: 0 },
    quota: { ops: 0, bytes: 0, fids: 0 },
    scopes: [],
    ...over,
  }, secretKeyHex);
}
