/**
 * Ticket checks on the guest side. Signature verification and CBOR decoding are injected through
 * `TicketVerifier` (the hosted runtime supplies Ed25519 + cbor-x from src/host/ticket; Porffor has no
 * BigInt for Ed25519), while expiry, role, subject and quota ceilings are enforced here, in guest code.
 * Each refusal has its own status code and stable name so logs and tests can tell them apart.
 */

/** Outcome of checking a ticket. */
export const TicketStatus = {
  Ok: 0,
  /** Not `<claims>.<seal>` base64url, or the claims are not the CBOR map of the schema. */
  Malformed: 1,
  /** The key id is not one the hive trusts (minted with another key). */
  UnknownKey: 2,
  /** The Ed25519 signature does not verify over the seal (signature or seal bytes altered). */
  BadSignature: 3,
  /** The seal verifies but the claims bytes no longer hash to the sealed digest. */
  TamperedClaims: 4,
  Expired: 5,
  NotYetValid: 6,
  RoleMismatch: 7,
  /** A worker role ticket without a subject, or naming no live worker. */
  BadSubject: 8,
  /** A ticket quota or scope above the role's ceiling. */
  OverLimit: 9,
  /** The role requires a ticket and none (or no verifier) was given. */
  Missing: 10,
  /** Not a ticket problem: the hive's lifecycle state refuses worker attaches (reference §4). */
  LifecycleDenied: 11,
} as const;

const STATUS_NAMES = [
  "ok",
  "malformed",
  "unknown-key",
  "bad-signature",
  "tampered-claims",
  "expired",
  "not-yet-valid",
  "role-mismatch",
  "bad-subject",
  "over-limit",
  "missing",
  "lifecycle-denied",
];

export function ticketStatusName(status: number): string {
  return status >= 0 && status < STATUS_NAMES.length ? STATUS_NAMES[status] : "unknown";
}

/** Scopes a ticket may carry. */
export const MAX_SCOPES = 8;

/** Decoded claims, filled in place by a verifier (one object per hive, reused). */
export class TicketClaims {
  role = "";
  subject = "";
  issuedAtMs = 0;
  expiresAtMs = 0;
  /** Nonce as lowercase hex (audit only; the guest keeps no replay table). */
  nonce = "";
  budgetTicks = 0;
  budgetOps = 0;
  budgetTtlS = 0;
  quotaOps = 0;
  quotaBytes = 0;
  quotaFids = 0;
  scopeCount = 0;
  scopePaths: string[] = ["", "", "", "", "", "", "", ""];
  /** `r`, `w` or `rw` per scope. */
  scopeModes: string[] = ["", "", "", "", "", "", "", ""];

  clear(): void {
    this.role = "";
    this.subject = "";
    this.issuedAtMs = 0;
    this.expiresAtMs = 0;
    this.nonce = "";
    this.budgetTicks = 0;
    this.budgetOps = 0;
    this.budgetTtlS = 0;
    this.quotaOps = 0;
    this.quotaBytes = 0;
    this.quotaFids = 0;
    this.scopeCount = 0;
  }
}

/** Checks a ticket's seal and decodes its claims. Implementations must not throw. */
export interface TicketVerifier {
  /** Returns Ok, Malformed, UnknownKey, BadSignature or TamperedClaims; fills `out` on Ok. */
  verify(ticket: string, out: TicketClaims): number;
}

/**
 * The guest-side claim checks for an attach as `role` at `nowMs`: validity window, then role.
 * The ceiling checks against the role table happen in the namespace, which owns that table.
 */
export function checkClaims(claims: TicketClaims, role: string, nowMs: number): number {
  if (nowMs < claims.issuedAtMs) return TicketStatus.NotYetValid;
  if (claims.expiresAtMs > 0 && nowMs >= claims.expiresAtMs) return TicketStatus.Expired;
  if (claims.role !== role) return TicketStatus.RoleMismatch;
  return TicketStatus.Ok;
}
