/**
 * The ticket wire format on the guest side (Porffor-safe, allocation only at attach time): splits
 * `cht1.<claims>.<seal>`, decodes both base64url parts into fixed buffers, and decodes the signed
 * CBOR claims into `TicketClaims`. It mirrors src/host/ticket/codec.ts (openTicket, decodeClaims)
 * check for check, so the native verifier refuses what the hosted one refuses with the same status.
 * The cryptography (Ed25519, SHA-256) is not here: the platform does it (platform_verifier.ts).
 */
import { newU8 } from "../../secure9p/alloc.ts";
import { utf8ToString } from "../../secure9p/text.ts";
import { MAX_SCOPES, type TicketClaims, TicketStatus } from "./ticket.ts";

export const WIRE_PREFIX = "cht1.";
/** Longest ticket accepted (codec.ts MAX_TICKET_CHARS). */
export const WIRE_MAX_CHARS = 1024;
export const KID_BYTES = 4;
export const DIGEST_BYTES = 16;
export const SIG_BYTES = 64;
export const SEAL_BYTES = KID_BYTES + DIGEST_BYTES + SIG_BYTES;
/** Claims bytes a ticket of WIRE_MAX_CHARS can carry. */
export const CLAIMS_CAP = 768;

/** base64url alphabet value of a character code, -1 for any other. */
function b64Value(c: number): number {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c === 45) return 62;
  if (c === 95) return 63;
  return -1;
}

/**
 * Decodes text[from..to) (unpadded base64url) into dst; returns the byte count, or -1 when the text
 * is not base64url or does not fit (a length of 4k+1 characters never decodes).
 */
export function decodeBase64url(text: string, from: number, to: number, dst: Uint8Array): number {
  const n = to - from;
  if (n % 4 === 1) return -1;
  const bytes = Math.floor(n / 4) * 3 + (n % 4 === 0 ? 0 : (n % 4) - 1);
  if (bytes > dst.length) return -1;
  let out = 0;
  let acc = 0;
  let have = 0;
  for (let i = from; i < to; i++) {
    const v = b64Value(text.charCodeAt(i));
    if (v < 0) return -1;
    acc = acc * 64 + v;
    have++;
    if (have === 4) {
      dst[out] = Math.floor(acc / 65536);
      dst[out + 1] = Math.floor(acc / 256) % 256;
      dst[out + 2] = acc % 256;
      out += 3;
      acc = 0;
      have = 0;
    }
  }
  // Leftover bits are dropped, as atob does.
  if (have === 2) {
    dst[out] = Math.floor(acc / 16);
    out += 1;
  } else if (have === 3) {
    dst[out] = Math.floor(acc / 1024);
    dst[out + 1] = Math.floor(acc / 4) % 256;
    out += 2;
  }
  return out;
}

/** A split, decoded ticket: the claims bytes and the seal, in buffers reused for every attach. */
export class TicketWire {
  claims: Uint8Array = newU8(CLAIMS_CAP);
  claimsLen = 0;
  /** kid ‖ digest ‖ signature */
  seal: Uint8Array = newU8(SEAL_BYTES);

  /** Splits and decodes `ticket`; Ok or Malformed (the same refusals as codec.ts openTicket). */
  openWire(ticket: string): number {
    const len = ticket.length;
    if (len > WIRE_MAX_CHARS || len < WIRE_PREFIX.length) return TicketStatus.Malformed;
    for (let i = 0; i < WIRE_PREFIX.length; i++) {
      if (ticket.charCodeAt(i) !== WIRE_PREFIX.charCodeAt(i)) return TicketStatus.Malformed;
    }
    let dot = -1;
    for (let i = WIRE_PREFIX.length; i < len; i++) {
      if (ticket.charCodeAt(i) !== 46) continue;
      if (dot >= 0) return TicketStatus.Malformed; // a third part
      dot = i;
    }
    if (dot < 0) return TicketStatus.Malformed;
    const n = decodeBase64url(ticket, WIRE_PREFIX.length, dot, this.claims);
    if (n < 0) return TicketStatus.Malformed;
    this.claimsLen = n;
    // The seal must be exactly SEAL_BYTES (a longer one does not fit the buffer: -1).
    if (decodeBase64url(ticket, dot + 1, len, this.seal) !== SEAL_BYTES) return TicketStatus.Malformed;
    return TicketStatus.Ok;
  }
}

const TWO32 = 4294967296;
/** Largest value a claim integer may have (Number.MAX_SAFE_INTEGER). */
const SAFE_MAX = 9007199254740991;

/** A strict reader of the claims' CBOR subset: definite lengths, unsigned ints, text, bytes, arrays, maps. */
class CborReader {
  cborBuf: Uint8Array = newU8(1);
  cborPos = 0;
  cborEnd = 0;
  cborBad = false;
  cborMajor = 0;
  /** The head's argument: the integer, or the length of a string, array or map. */
  cborArg = 0;

  resetTo(buf: Uint8Array, len: number): void {
    this.cborBuf = buf;
    this.cborPos = 0;
    this.cborEnd = len;
    this.cborBad = false;
  }

  /** Reads one head and returns its major type; -1 (and `cborBad`) on truncation, an indefinite
   * length or a value over 2^53 - 1. */
  readHead(): number {
    const buf = this.cborBuf;
    if (this.cborBad || this.cborPos >= this.cborEnd) {
      this.cborBad = true;
      return -1;
    }
    const b = buf[this.cborPos];
    this.cborPos++;
    this.cborMajor = Math.floor(b / 32);
    const ai = b % 32;
    if (ai < 24) {
      this.cborArg = ai;
      return this.cborMajor;
    }
    let size = 0;
    if (ai === 24) size = 1;
    else if (ai === 25) size = 2;
    else if (ai === 26) size = 4;
    else if (ai === 27) size = 8;
    if (size === 0 || this.cborPos + size > this.cborEnd) {
      this.cborBad = true;
      return -1;
    }
    let v = 0;
    for (let i = 0; i < size; i++) {
      if (size === 8 && i === 4) {
        if (v > Math.floor(SAFE_MAX / TWO32)) {
          this.cborBad = true;
          return -1;
        }
      }
      v = v * 256 + buf[this.cborPos + i];
    }
    this.cborPos += size;
    if (v > SAFE_MAX) {
      this.cborBad = true;
      return -1;
    }
    this.cborArg = v;
    return this.cborMajor;
  }

  /** An unsigned integer; -1 (and `bad`) otherwise. */
  readUint(): number {
    if (this.readHead() !== 0) {
      this.cborBad = true;
      return -1;
    }
    return this.cborArg;
  }

  /** A text string (allocated: attach time only); "" (and `bad`) otherwise. */
  readText(): string {
    if (this.readHead() !== 3 || this.cborPos + this.cborArg > this.cborEnd) {
      this.cborBad = true;
      return "";
    }
    const s = utf8ToString(this.cborBuf, this.cborPos, this.cborArg);
    this.cborPos += this.cborArg;
    return s;
  }

  /** The length of an array head; -1 (and `bad`) otherwise. */
  readArray(): number {
    if (this.readHead() !== 4) {
      this.cborBad = true;
      return -1;
    }
    return this.cborArg;
  }
}

const HEX = "0123456789abcdef";

/** Claim map keys (codec.ts CLAIM_KEYS). */
const K_ROLE = 1;
const K_SUBJECT = 2;
const K_ISSUED = 3;
const K_EXPIRES = 4;
const K_NONCE = 5;
const K_BUDGET = 6;
const K_QUOTA = 7;
const K_SCOPES = 8;

/** Decodes signed claims into `out`: Ok, or Malformed for anything codec.ts decodeClaims refuses. */
export class ClaimsDecoder {
  r: CborReader = new CborReader();
  triple: Float64Array = new Float64Array(new ArrayBuffer(24));
  /** seen[k] = 1 once claim key k was read */
  seen: Uint8Array = newU8(K_SCOPES + 1);

  decodeClaimsInto(buf: Uint8Array, len: number, out: TicketClaims): number {
    const r = this.r;
    r.resetTo(buf, len);
    out.clear();
    if (r.readHead() !== 5) return TicketStatus.Malformed;
    const pairs = r.cborArg;
    const seen = this.seen;
    for (let k = 0; k <= K_SCOPES; k++) seen[k] = 0;
    for (let p = 0; p < pairs; p++) {
      const key = r.readUint();
      if (r.cborBad || key < K_ROLE || key > K_SCOPES) return TicketStatus.Malformed;
      seen[key] = 1;
      if (key === K_ROLE) out.role = r.readText();
      else if (key === K_SUBJECT) out.subject = r.readText();
      else if (key === K_ISSUED) out.issuedAtMs = r.readUint();
      else if (key === K_EXPIRES) out.expiresAtMs = r.readUint();
      else if (key === K_NONCE) {
        if (r.readHead() !== 2 || r.cborArg !== 8 || r.cborPos + 8 > r.cborEnd) return TicketStatus.Malformed;
        let hex = "";
        for (let i = 0; i < 8; i++) {
          const b = buf[r.cborPos + i];
          hex += HEX.charAt(Math.floor(b / 16));
          hex += HEX.charAt(b % 16);
        }
        r.cborPos += 8;
        out.nonce = hex;
      } else if (key === K_BUDGET || key === K_QUOTA) {
        if (!this.readTriple()) return TicketStatus.Malformed;
        const t = this.triple;
        if (key === K_BUDGET) {
          out.budgetTicks = t[0];
          out.budgetOps = t[1];
          out.budgetTtlS = t[2];
        } else {
          out.quotaOps = t[0];
          out.quotaBytes = t[1];
          out.quotaFids = t[2];
        }
      } else if (!this.readScopes(out)) return TicketStatus.Malformed;
      if (r.cborBad) return TicketStatus.Malformed;
    }
    if (r.cborPos !== r.cborEnd) return TicketStatus.Malformed; // trailing bytes
    // role, issued-at, expiry and nonce are required
    if (seen[K_ROLE] + seen[K_ISSUED] + seen[K_EXPIRES] + seen[K_NONCE] !== 4) return TicketStatus.Malformed;
    return TicketStatus.Ok;
  }

  readTriple(): boolean {
    const r = this.r;
    const t = this.triple;
    if (r.readArray() !== 3) return false;
    for (let i = 0; i < 3; i++) t[i] = r.readUint();
    return !r.cborBad;
  }

  readScopes(out: TicketClaims): boolean {
    const r = this.r;
    const n = r.readArray();
    if (n < 0 || n > MAX_SCOPES) return false;
    const paths = out.scopePaths;
    const modes = out.scopeModes;
    for (let i = 0; i < n; i++) {
      if (r.readArray() !== 2) return false;
      const path = r.readText();
      const mode = r.readText();
      if (r.cborBad || !(mode === "r" || mode === "w" || mode === "rw")) return false;
      paths[i] = path;
      modes[i] = mode;
    }
    out.scopeCount = n;
    return true;
  }
}
