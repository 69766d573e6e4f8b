/**
 * `PlatformUpdateSignatureCheck`: the update store's signature check on the native build. The guest
 * picks the trusted key by the manifest's kid and lays the key, the signature and the signed message
 * (`"cohesix-update-v1\0" ‖ body`, contiguous) into a mailbox in linear memory, then prints the
 * verify line; the platform answers before the print returns (src/guest/native/update_seal.c:
 * libsodium; under porf Wasm runs src/host/guest_build/wasm_pump.ts: @noble/ed25519). The same
 * design as the ticket verifier (src/guest/tickets/platform_verifier.ts), with its own mailbox.
 * Porffor cannot run Ed25519 (no BigInt) and no curve or hash arithmetic is written here. With no
 * platform behind the mailbox (plain Deno, porf) every manifest is refused as UST_NO_VERIFIER
 * ("no-verifier"), so nothing is ever marked ready unverified.
 *
 * The mailbox holds the longest body the store's manifest reader can accept (umrBodyCap of the
 * store's maxChunks and UMR_MAX_FILES files; default PUS_MAX_CHUNKS, the most `cohesix update pack`
 * writes: 279,690 B). A longer body is refused (UMR_TOO_BIG) before anything is copied.
 *
 * Mailbox layout (u32 little-endian):
 *   [0, 32)   signature, (i * 83 + 29) % 256 (the pump uses i * 73 + 41, the ticket check i * 59 + 17)
 *   32 ack (platform, 1)   33 result (platform: 0 verifies, 1 does not)
 *   36 message length (guest, domain included)   40 message capacity (guest, set once)
 *   44 the platform's time for the last check in microseconds (diagnostics; 0 when unknown)
 *   [64, 96) public key   [96, 160) signature   [160, 160 + capacity) "cohesix-update-v1\0" ‖ body
 * Porffor rules: allocated in the constructor only, no closures, fields prefixed `pus`, typed-array
 * fields written through a local alias.
 */
import { newU8 } from "../../secure9p/alloc.ts";
import { hexInto } from "../lib/hex.ts";
import { UMR_MAX_FILES, UMR_TOO_BIG, umrBodyCap } from "./manifest_reader.ts";
import {
  UST_BAD_SIGNATURE,
  UST_NO_VERIFIER,
  UST_OK,
  UST_UNTRUSTED,
  type UpdateSignatureCheck,
} from "./update_store.ts";

/** A trusted update key, as the manifest compiler gives it (the shape of TicketKeySpec). */
export interface UpdateKeySpec {
  /** 8 lowercase hex digits: the first 4 bytes of sha256(publicKey). */
  kid: string;
  /** Raw 32-byte Ed25519 public key, 64 hex digits. */
  publicKey: string;
}

export const PUS_SIG = 32;
export const PUS_ACK = 32;
export const PUS_RESULT = 33;
export const PUS_MSG_LEN = 36;
export const PUS_MSG_CAP = 40;
export const PUS_MICROS = 44;
export const PUS_KEY = 64;
export const PUS_SIGNATURE = 96;
export const PUS_MSG = 160;
/** "cohesix-update-v1" and its NUL: the domain the update key signs under (written as hex once). */
export const PUS_DOMAIN = "cohesix-update-v1";
export const PUS_DOMAIN_HEX = "636f68657369782d7570646174652d763100";
export const PUS_DOMAIN_BYTES = 18;
/** The chunk count the default mailbox is sized for: MAX_CHUNKS of src/host/update/manifest.ts. */
export const PUS_MAX_CHUNKS = 8192;
/** The line the platform intercepts (≤ 23 bytes: the native request buffer); it never reaches the serial port. */
export const UPDATE_VERIFY_LINE = "\u0001cohesix-verupd";

const KEY_BYTES = 32;
const KID_BYTES = 4;
const SIGNATURE_BYTES = 64;

/** The i-th byte of the mailbox signature. */
export function pusSignatureByte(i: number): number {
  return (i * 83 + 29) % 256;
}

/** src[sOff..sOff+n) into dst[dOff..]: one copy loop for the key, the signature and the body. */
function pusCopy(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i];
}

/** v as u32 little-endian at dst[off..off+4). */
function pusPutU32(dst: Uint8Array, off: number, v: number): void {
  let x = v;
  for (let i = 0; i < 4; i++) {
    dst[off + i] = x % 256;
    x = Math.floor(x / 256);
  }
}

/** The u32 little-endian at src[off..off+4). */
function pusU32(src: Uint8Array, off: number): number {
  let v = 0;
  for (let i = 3; i >= 0; i--) v = v * 256 + src[off + i];
  return v;
}

export class PlatformUpdateSignatureCheck implements UpdateSignatureCheck {
  pusMailbox: Uint8Array;
  /** Longest body the mailbox takes. */
  pusBodyCap: number;
  pusKeyCount = 0;
  /** pusKeyCount public keys (KEY_BYTES each) and their kids (KID_BYTES each). */
  pusKeys: Uint8Array;
  pusKids: Uint8Array;

  constructor(keys: UpdateKeySpec[], maxChunks = PUS_MAX_CHUNKS) {
    const n = keys.length;
    const pk = newU8(n * KEY_BYTES + 1);
    const kids = newU8(n * KID_BYTES + 1);
    let good = 0;
    for (let i = 0; i < n; i++) {
      // A malformed entry is skipped (the manifest compiler refuses such keys anyway).
      if (!hexInto(keys[i].publicKey, pk, good * KEY_BYTES, KEY_BYTES)) continue;
      if (!hexInto(keys[i].kid, kids, good * KID_BYTES, KID_BYTES)) continue;
      good++;
    }
    this.pusKeys = pk;
    this.pusKids = kids;
    this.pusKeyCount = good;
    const cap = umrBodyCap(maxChunks, UMR_MAX_FILES);
    this.pusBodyCap = cap;
    const msgCap = PUS_DOMAIN_BYTES + cap;
    const mb = newU8(PUS_MSG + msgCap);
    for (let i = 0; i < PUS_SIG; i++) mb[i] = pusSignatureByte(i);
    pusPutU32(mb, PUS_MSG_CAP, msgCap);
    hexInto(PUS_DOMAIN_HEX, mb, PUS_MSG, PUS_DOMAIN_BYTES);
    this.pusMailbox = mb;
  }

  /** The index of the trusted key with the kid at src[kidOff..], or -1. */
  pusKeyOf(src: Uint8Array, kidOff: number): number {
    const kids = this.pusKids;
    for (let k = 0; k < this.pusKeyCount; k++) {
      let same = true;
      for (let i = 0; i < KID_BYTES && same; i++) if (kids[k * KID_BYTES + i] !== src[kidOff + i]) same = false;
      if (same) return k;
    }
    return -1;
  }

  uscVerify(src: Uint8Array, kidOff: number, bodyOff: number, bodyLen: number, sigOff: number): number {
    const k = this.pusKeyOf(src, kidOff);
    if (k < 0) return UST_UNTRUSTED;
    if (bodyLen > this.pusBodyCap) return UMR_TOO_BIG;
    if (bodyOff < 0 || bodyOff + bodyLen > src.length || sigOff < 0 || sigOff + SIGNATURE_BYTES > src.length) {
      return UST_BAD_SIGNATURE;
    }
    const mb = this.pusMailbox;
    pusCopy(mb, PUS_KEY, this.pusKeys, k * KEY_BYTES, KEY_BYTES);
    pusCopy(mb, PUS_SIGNATURE, src, sigOff, SIGNATURE_BYTES);
    pusCopy(mb, PUS_MSG + PUS_DOMAIN_BYTES, src, bodyOff, bodyLen);
    pusPutU32(mb, PUS_MSG_LEN, PUS_DOMAIN_BYTES + bodyLen);
    pusPutU32(mb, PUS_MICROS, 0);
    pusPutU32(mb, PUS_ACK, 255 * 256); // ack 0, result 255 (bytes 34, 35 unused)
    console.log(UPDATE_VERIFY_LINE);
    const answer = pusU32(mb, PUS_ACK); // ack + 256 * result
    if (answer % 256 !== 1) return UST_NO_VERIFIER; // no platform behind the mailbox (Deno, porf)
    return Math.floor(answer / 256) % 256 === 0 ? UST_OK : UST_BAD_SIGNATURE;
  }

  /** The platform's time for the last check in microseconds (0 when it did not say). */
  pusLastMicros(): number {
    return pusU32(this.pusMailbox, PUS_MICROS);
  }
}
