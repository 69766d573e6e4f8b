/**
 * Cohesix capability tickets on the host: Ed25519-signed CBOR claims, base64url on the wire.
 *
 * Wire form: `cht1.<claims>.<seal>`, both parts base64url without padding.
 * - claims: a CBOR map with small integer keys (see `CLAIM_KEYS`), encoded deterministically;
 * - seal: kid (4 bytes: sha256(publicKey)[0..4]) ‖ digest (16 bytes: sha256(claims)[0..16]) ‖
 *   Ed25519 signature (64 bytes) over `DOMAIN ‖ kid ‖ digest`.
 * Sealing a digest rather than the claims themselves lets a verifier tell a changed claim byte
 * (seal verifies, digest differs) from a changed signature (seal fails) — distinct, deterministic
 * refusals — without weakening anything: the signature still binds the claims through sha256.
 */
import * as ed from "@noble/ed25519";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { decodeCbor, encodeCbor } from "../cbor.ts";
import {
  MAX_SCOPES,
  type TicketClaims,
  TicketStatus,
  type TicketVerifier,
} from "../../guest/tickets/ticket.ts";
import type { TicketKeySpec } from "../../guest/boot.ts";

ed.hashes.sha512 = sha512;

export const TICKET_PREFIX = "cht1.";
const DOMAIN = new TextEncoder().encode("cohesix-ticket-v1\0");
const KID_BYTES = 4;
const DIGEST_BYTES = 16;
const SIG_BYTES = 64;
const SEAL_BYTES = KID_BYTES + DIGEST_BYTES + SIG_BYTES;
/** Longest ticket accepted on the wire (claims are small; this bounds decoding work). */
export const MAX_TICKET_CHARS = 1024;

/** CBOR map keys of the claims. */
export const CLAIM_KEYS = {
  role: 1,
  subject: 2,
  issuedAtMs: 3,
  expiresAtMs: 4,
  nonce: 5,
  /** [ticks, ops, ttl_s] */
  budget: 6,
  /** [ops, bytes, fids] */
  quota: 7,
  /** [[path, mode], …] with mode "r" | "w" | "rw" */
  scopes: 8,
} as const;

export interface Claims {
  role: string;
  subject: string;
  issuedAtMs: number;
  expiresAtMs: number;
  /** 8 random bytes as 16 lowercase hex digits. */
  nonce: string;
  budget: { ticks: number; ops: number; ttlS: number };
  quota: { ops: number; bytes: number; fids: number };
  scopes: { path: string; mode: string }[];
}

export interface KeyPair {
  kid: string;
  publicKey: string;
  secretKey: string;
}

/** A decode or verify refusal carrying the guest's TicketStatus code. */
export class TicketError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "TicketError";
  }
}

export function keyId(publicKey: Uint8Array): string {
  return bytesToHex(sha256(publicKey).slice(0, KID_BYTES));
}

/** A key pair from a 32-byte seed (random when none is given). */
export function keyPair(seed?: Uint8Array): KeyPair {
  const secret = seed ?? ed.utils.randomSecretKey();
  const pub = ed.getPublicKey(secret);
  return { kid: keyId(pub), publicKey: bytesToHex(pub), secretKey: bytesToHex(secret) };
}

export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new TicketError(TicketStatus.Malformed, "Cannot decode ticket: not base64url");
  }
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/") + "===".slice((text.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function uint(v: number, what: string): bigint | number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new TicketError(
      TicketStatus.Malformed,
      `Cannot encode ticket: ${what} must be a non-negative integer`,
    );
  }
  return v > 0xffffffff ? BigInt(v) : v;
}

/** Deterministic CBOR of the claims (fixed key order, minimal integers). */
export function encodeClaims(c: Claims): Uint8Array {
  if (c.scopes.length > MAX_SCOPES) {
    throw new TicketError(TicketStatus.OverLimit, `Cannot encode ticket: at most ${MAX_SCOPES} scopes`);
  }
  if (!/^[0-9a-f]{16}$/.test(c.nonce)) {
    throw new TicketError(TicketStatus.Malformed, "Cannot encode ticket: nonce must be 16 hex digits");
  }
  const m = new Map<number, unknown>();
  m.set(CLAIM_KEYS.role, c.role);
  if (c.subject !== "") m.set(CLAIM_KEYS.subject, c.subject);
  m.set(CLAIM_KEYS.issuedAtMs, uint(c.issuedAtMs, "issued-at"));
  m.set(CLAIM_KEYS.expiresAtMs, uint(c.expiresAtMs, "expiry"));
  m.set(CLAIM_KEYS.nonce, hexToBytes(c.nonce));
  m.set(CLAIM_KEYS.budget, [
    uint(c.budget.ticks, "ticks"),
    uint(c.budget.ops, "ops"),
    uint(c.budget.ttlS, "ttl"),
  ]);
  m.set(CLAIM_KEYS.quota, [
    uint(c.quota.ops, "quota ops"),
    uint(c.quota.bytes, "quota bytes"),
    uint(c.quota.fids, "quota fids"),
  ]);
  if (c.scopes.length > 0) m.set(CLAIM_KEYS.scopes, c.scopes.map((s) => [s.path, s.mode]));
  return encodeCbor(m);
}

function malformed(detail: string): never {
  throw new TicketError(TicketStatus.Malformed, `Cannot decode ticket claims: ${detail}`);
}

function num(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    malformed(`${what} is not an unsigned integer`);
  }
  return v;
}

function triple(v: unknown, what: string): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3) malformed(`${what} is not a 3-element array`);
  return [num(v[0], what), num(v[1], what), num(v[2], what)];
}

/** Strict decode: a map with only known keys, the required ones present, every value well typed. */
export function decodeClaims(bytes: Uint8Array): Claims {
  let m: unknown;
  try {
    m = decodeCbor(bytes);
  } catch (err) {
    malformed(err instanceof Error ? err.message : String(err));
  }
  if (!(m instanceof Map)) malformed("not a CBOR map");
  const known = new Set<number>(Object.values(CLAIM_KEYS));
  for (const k of m.keys()) if (typeof k !== "number" || !known.has(k)) malformed(`unknown key ${String(k)}`);
  for (const k of [CLAIM_KEYS.role, CLAIM_KEYS.issuedAtMs, CLAIM_KEYS.expiresAtMs, CLAIM_KEYS.nonce]) {
    if (!m.has(k)) malformed(`missing key ${k}`);
  }
  const role = m.get(CLAIM_KEYS.role);
  const subject = m.get(CLAIM_KEYS.subject) ?? "";
  if (typeof role !== "string" || typeof subject !== "string") malformed("role and subject must be text");
  const nonce = m.get(CLAIM_KEYS.nonce);
  if (!(nonce instanceof Uint8Array) || nonce.length !== 8) malformed("nonce must be 8 bytes");
  const budget = m.has(CLAIM_KEYS.budget) ? triple(m.get(CLAIM_KEYS.budget), "budget") : [0, 0, 0];
  const quota = m.has(CLAIM_KEYS.quota) ? triple(m.get(CLAIM_KEYS.quota), "quota") : [0, 0, 0];
  const rawScopes = m.get(CLAIM_KEYS.scopes) ?? [];
  if (!Array.isArray(rawScopes) || rawScopes.length > MAX_SCOPES) {
    malformed("scopes must be an array of at most 8");
  }
  const scopes = rawScopes.map((s: unknown) => {
    if (!Array.isArray(s) || s.length !== 2 || typeof s[0] !== "string" || !["r", "w", "rw"].includes(s[1])) {
      malformed("scope must be [path, r|w|rw]");
    }
    return { path: s[0] as string, mode: s[1] as string };
  });
  return {
    role,
    subject,
    issuedAtMs: num(m.get(CLAIM_KEYS.issuedAtMs), "issued-at"),
    expiresAtMs: num(m.get(CLAIM_KEYS.expiresAtMs), "expiry"),
    nonce: bytesToHex(nonce),
    budget: { ticks: budget[0], ops: budget[1], ttlS: budget[2] },
    quota: { ops: quota[0], bytes: quota[1], fids: quota[2] },
    scopes,
  };
}

function sealMessage(kid: Uint8Array, digest: Uint8Array): Uint8Array {
  const msg = new Uint8Array(DOMAIN.length + KID_BYTES + DIGEST_BYTES);
  msg.set(DOMAIN, 0);
  msg.set(kid, DOMAIN.length);
  msg.set(digest, DOMAIN.length + KID_BYTES);
  return msg;
}

/** Signs `claims` with a 32-byte Ed25519 secret key (hex). */
export function mintTicket(claims: Claims, secretKeyHex: string): string {
  return sealClaims(encodeClaims(claims), secretKeyHex);
}

/** A ticket for claims bytes as they are (mintTicket encodes first; tests seal undecodable claims). */
export function sealClaims(body: Uint8Array, secretKeyHex: string): string {
  const secret = hexToBytes(secretKeyHex);
  const kid = hexToBytes(keyId(ed.getPublicKey(secret)));
  const digest = sha256(body).slice(0, DIGEST_BYTES);
  const sig = ed.sign(sealMessage(kid, digest), secret);
  const seal = new Uint8Array(SEAL_BYTES);
  seal.set(kid, 0);
  seal.set(digest, KID_BYTES);
  seal.set(sig, KID_BYTES + DIGEST_BYTES);
  return TICKET_PREFIX + base64url(body) + "." + base64url(seal);
}

export interface OpenedTicket {
  body: Uint8Array;
  kid: string;
  digest: Uint8Array;
  sig: Uint8Array;
}

/** Splits a ticket into its parts without checking the signature. */
export function openTicket(ticket: string): OpenedTicket {
  if (ticket.length > MAX_TICKET_CHARS) {
    throw new TicketError(TicketStatus.Malformed, "Cannot decode ticket: too long");
  }
  if (!ticket.startsWith(TICKET_PREFIX)) {
    throw new TicketError(TicketStatus.Malformed, `Cannot decode ticket: missing '${TICKET_PREFIX}' prefix`);
  }
  const parts = ticket.slice(TICKET_PREFIX.length).split(".");
  if (parts.length !== 2) {
    throw new TicketError(TicketStatus.Malformed, "Cannot decode ticket: expected <claims>.<seal>");
  }
  const body = fromBase64url(parts[0]);
  const seal = fromBase64url(parts[1]);
  if (seal.length !== SEAL_BYTES) {
    throw new TicketError(
      TicketStatus.Malformed,
      `Cannot decode ticket: seal is ${seal.length} bytes, expected ${SEAL_BYTES}`,
    );
  }
  return {
    body,
    kid: bytesToHex(seal.slice(0, KID_BYTES)),
    digest: seal.slice(KID_BYTES, KID_BYTES + DIGEST_BYTES),
    sig: seal.slice(KID_BYTES + DIGEST_BYTES),
  };
}

/**
 * Checks the seal against trusted keys, then the claims digest, then decodes the claims.
 * Throws TicketError with Malformed, UnknownKey, BadSignature or TamperedClaims.
 */
export function verifySeal(ticket: string, keys: readonly TicketKeySpec[]): Claims {
  const t = openTicket(ticket);
  const key = keys.find((k) => k.kid === t.kid);
  if (!key) {
    throw new TicketError(TicketStatus.UnknownKey, `Cannot verify ticket: key ${t.kid} is not trusted`);
  }
  const st = checkSeal(hexToBytes(t.kid), t.digest, t.sig, hexToBytes(key.publicKey), t.body);
  if (st === TicketStatus.BadSignature) {
    throw new TicketError(TicketStatus.BadSignature, "Cannot verify ticket: signature does not match");
  }
  if (st === TicketStatus.TamperedClaims) {
    throw new TicketError(
      TicketStatus.TamperedClaims,
      "Cannot verify ticket: claims do not match the signed digest",
    );
  }
  return decodeClaims(t.body);
}

/**
 * The cryptographic half of a seal check, the same contract the native platform serves with
 * libsodium (src/guest/native/ticket_seal.c): the Ed25519 signature over DOMAIN ‖ kid ‖ digest,
 * then the claims' sha256 against the digest. Returns Ok, BadSignature or TamperedClaims.
 */
export function checkSeal(
  kid: Uint8Array,
  digest: Uint8Array,
  sig: Uint8Array,
  publicKey: Uint8Array,
  body: Uint8Array,
): number {
  let ok = false;
  try {
    // RFC 8032 strict (canonical encodings, no small-order key), as libsodium checks natively.
    ok = ed.verify(sig, sealMessage(kid, digest), publicKey, { zip215: false });
  } catch {
    ok = false;
  }
  if (!ok) return TicketStatus.BadSignature;
  const got = sha256(body).slice(0, DIGEST_BYTES);
  return bytesToHex(got) === bytesToHex(digest) ? TicketStatus.Ok : TicketStatus.TamperedClaims;
}

/** The hosted runtime's `TicketVerifier`: noble Ed25519 + cbor-x, filling the guest's claims object. */
export class HostTicketVerifier implements TicketVerifier {
  constructor(readonly keys: readonly TicketKeySpec[]) {}

  verify(ticket: string, out: TicketClaims): number {
    let c: Claims;
    try {
      c = verifySeal(ticket, this.keys);
    } catch (err) {
      return err instanceof TicketError ? err.status : TicketStatus.Malformed;
    }
    out.clear();
    out.role = c.role;
    out.subject = c.subject;
    out.issuedAtMs = c.issuedAtMs;
    out.expiresAtMs = c.expiresAtMs;
    out.nonce = c.nonce;
    out.budgetTicks = c.budget.ticks;
    out.budgetOps = c.budget.ops;
    out.budgetTtlS = c.budget.ttlS;
    out.quotaOps = c.quota.ops;
    out.quotaBytes = c.quota.bytes;
    out.quotaFids = c.quota.fids;
    out.scopeCount = c.scopes.length;
    for (let i = 0; i < c.scopes.length; i++) {
      out.scopePaths[i] = c.scopes[i].path;
      out.scopeModes[i] = c.scopes[i].mode;
    }
    return TicketStatus.Ok;
  }
}
