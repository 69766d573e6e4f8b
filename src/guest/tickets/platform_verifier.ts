/**
 * `PlatformTicketVerifier`: the guest's TicketVerifier on the native build. The guest splits the
 * ticket and decodes it (wire.ts), picks the trusted key by the seal's key id, and hands the claims
 * bytes, the seal (kid, claims digest, Ed25519 signature) and the key to the platform through a
 * mailbox in linear memory, like the event pump (src/guest/native/pump.ts): it prints the verify line,
 * and the platform (src/guest/native/ticket_seal.c: libsodium) answers before the print returns —
 * ok, bad-signature or tampered-claims. Then the guest decodes the claims. Porffor cannot run
 * Ed25519 (no BigInt), and no curve or hash arithmetic is written by hand; the hosted runtime keeps
 * its own verifier (@noble/ed25519, src/host/ticket/codec.ts). With no platform behind the mailbox
 * (under Deno or porf) every signed ticket is refused as `missing`, like a hive without a verifier.
 *
 * Mailbox layout (u32 little-endian):
 *   [0, 32)     signature, (i * 59 + 17) % 256
 *   32 ack (platform, 1)     33 result (platform: 0 ok, 3 bad-signature, 4 tampered-claims)
 *   36 claims length (guest) 40 key index (guest)
 *   [64, 96) public key   [96, 100) kid   [100, 116) claims digest   [116, 180) signature
 *   [192, 192 + CLAIMS_CAP) claims bytes
 */
import { newU8 } from "../../secure9p/alloc.ts";
import { hexInto } from "../lib/hex.ts";
import type { TicketKeySpec } from "../boot.ts";
import { type TicketClaims, TicketStatus, type TicketVerifier } from "./ticket.ts";
import { CLAIMS_CAP, ClaimsDecoder, KID_BYTES, SEAL_BYTES, TicketWire } from "./wire.ts";

export const VB_SIG = 32;
export const VB_ACK = 32;
export const VB_RESULT = 33;
export const VB_CLAIMS_LEN = 36;
export const VB_KEY_INDEX = 40;
export const VB_KEY = 64;
/** kid, digest and signature follow each other as in the seal. */
export const VB_SEAL = 96;
export const VB_CLAIMS = 192;
export const VB_BYTES = VB_CLAIMS + 1024;
/** The line the platform intercepts; it never reaches the serial port. */
export const VERIFY_LINE = "\u0001cohesix-verify";

const KEY_BYTES = 32;

export class PlatformTicketVerifier implements TicketVerifier {
  mailbox: Uint8Array;
  wire: TicketWire = new TicketWire();
  decoder: ClaimsDecoder = new ClaimsDecoder();
  keyCount = 0;
  /** keyCount public keys, KEY_BYTES each, and their kids */
  keyBytes: Uint8Array;
  kidBytes: Uint8Array;

  constructor(keys: TicketKeySpec[]) {
    const n = keys.length;
    const pk = newU8(n * KEY_BYTES + 1);
    const kid = newU8(n * KID_BYTES + 1);
    let good = 0;
    for (let i = 0; i < n; i++) {
      // A malformed key in the table is skipped (the manifest compiler refuses such keys anyway).
      if (!hexInto(keys[i].publicKey, pk, good * KEY_BYTES, KEY_BYTES)) continue;
      if (!hexInto(keys[i].kid, kid, good * KID_BYTES, KID_BYTES)) continue;
      good++;
    }
    this.keyBytes = pk;
    this.kidBytes = kid;
    this.keyCount = good;
    const mb = newU8(VB_BYTES);
    for (let i = 0; i < VB_SIG; i++) mb[i] = (i * 59 + 17) % 256;
    this.mailbox = mb;
  }

  /** The index of the trusted key whose kid the seal carries, or -1. */
  keyOfSeal(): number {
    const seal = this.wire.seal;
    const kids = this.kidBytes;
    for (let k = 0; k < this.keyCount; k++) {
      let same = true;
      for (let i = 0; i < KID_BYTES; i++) if (kids[k * KID_BYTES + i] !== seal[i]) same = false;
      if (same) return k;
    }
    return -1;
  }

  verify(ticket: string, out: TicketClaims): number {
    const wire = this.wire;
    const st = wire.openWire(ticket);
    if (st !== TicketStatus.Ok) return st;
    const k = this.keyOfSeal();
    if (k < 0) return TicketStatus.UnknownKey;
    const mb = this.mailbox;
    const len = wire.claimsLen;
    if (len > CLAIMS_CAP) return TicketStatus.Malformed;
    const pk = this.keyBytes;
    for (let i = 0; i < KEY_BYTES; i++) mb[VB_KEY + i] = pk[k * KEY_BYTES + i];
    const seal = wire.seal;
    for (let i = 0; i < SEAL_BYTES; i++) mb[VB_SEAL + i] = seal[i];
    const claims = wire.claims;
    for (let i = 0; i < len; i++) mb[VB_CLAIMS + i] = claims[i];
    mb[VB_CLAIMS_LEN] = len % 256;
    mb[VB_CLAIMS_LEN + 1] = Math.floor(len / 256);
    mb[VB_CLAIMS_LEN + 2] = 0;
    mb[VB_CLAIMS_LEN + 3] = 0;
    mb[VB_KEY_INDEX] = k;
    mb[VB_ACK] = 0;
    mb[VB_RESULT] = 255;
    console.log(VERIFY_LINE);
    if (mb[VB_ACK] !== 1) return TicketStatus.Missing; // no platform behind the mailbox (Deno, porf)
    const result = mb[VB_RESULT];
    if (result !== TicketStatus.Ok) {
      return result === TicketStatus.BadSignature || result === TicketStatus.TamperedClaims
        ? result
        : TicketStatus.Malformed;
    }
    return this.decoder.decodeClaimsInto(claims, len, out);
  }
}
