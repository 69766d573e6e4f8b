/**
 * The hosted runtime's UpdateSignatureCheck (@noble/ed25519), the counterpart of the native verifier:
 * picks the trusted key by kid and verifies the manifest body under the update domain.
 * `verifyUpdateMessage` is the one Ed25519 call, shared with the porf Wasm platform
 * (src/host/guest_build/wasm_pump.ts), which answers PlatformUpdateSignatureCheck's mailbox with it.
 */
import * as ed from "@noble/ed25519";
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js";
import { UMR_TOO_BIG } from "../../guest/updates/manifest_reader.ts";
import { UST_BAD_SIGNATURE, UST_OK, UST_UNTRUSTED, type UpdateSignatureCheck } from "../../guest/updates/update_store.ts";
import { type TrustedUpdateKey, UPDATE_DOMAIN } from "./manifest.ts";

/**
 * Ed25519 over `message`, which must be `UPDATE_DOMAIN ‖ body` (anything else does not verify):
 * UST_OK or UST_BAD_SIGNATURE; a malformed key or signature is a bad signature, never a throw.
 */
export function verifyUpdateMessage(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): number {
  if (message.length < UPDATE_DOMAIN.length) return UST_BAD_SIGNATURE;
  for (let i = 0; i < UPDATE_DOMAIN.length; i++) if (message[i] !== UPDATE_DOMAIN[i]) return UST_BAD_SIGNATURE;
  try {
    return ed.verify(signature, message, publicKey) ? UST_OK : UST_BAD_SIGNATURE;
  } catch {
    return UST_BAD_SIGNATURE;
  }
}

export class HostedUpdateSignatureCheck implements UpdateSignatureCheck {
  /**
   * `maxBodyBytes`: bodies longer than this are refused (UMR_TOO_BIG), like the native check's
   * mailbox cap (umrBodyCap); unbounded by default (the host decoder has its own limit).
   */
  constructor(private readonly trusted: TrustedUpdateKey[], private readonly maxBodyBytes = Infinity) {}

  uscVerify(src: Uint8Array, kidOff: number, bodyOff: number, bodyLen: number, sigOff: number): number {
    const kid = bytesToHex(src.subarray(kidOff, kidOff + 4));
    const key = this.trusted.find((k) => k.kid === kid);
    if (!key) return UST_UNTRUSTED;
    if (bodyLen > this.maxBodyBytes) return UMR_TOO_BIG;
    let publicKey: Uint8Array;
    try {
      publicKey = hexToBytes(key.publicKey);
    } catch {
      return UST_BAD_SIGNATURE;
    }
    const msg = concatBytes(UPDATE_DOMAIN, src.subarray(bodyOff, bodyOff + bodyLen));
    return verifyUpdateMessage(msg, src.subarray(sigOff, sigOff + 64), publicKey);
  }
}
