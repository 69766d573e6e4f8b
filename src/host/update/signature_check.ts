/**
 * The hosted runtime's UpdateSignatureCheck (@noble/ed25519), the counterpart of the native verifier:
 * picks the trusted key by kid and verifies the manifest body under the update domain.
 */
import * as ed from "@noble/ed25519";
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js";
import { UST_BAD_SIGNATURE, UST_OK, UST_UNTRUSTED, type UpdateSignatureCheck } from "../../guest/updates/update_store.ts";
import { type TrustedUpdateKey, UPDATE_DOMAIN } from "./manifest.ts";

export class HostedUpdateSignatureCheck implements UpdateSignatureCheck {
  constructor(private readonly trusted: TrustedUpdateKey[]) {}

  uscVerify(src: Uint8Array, kidOff: number, bodyOff: number, bodyLen: number, sigOff: number): number {
    const kid = bytesToHex(src.subarray(kidOff, kidOff + 4));
    const key = this.trusted.find((k) => k.kid === kid);
    if (!key) return UST_UNTRUSTED;
    try {
      const msg = concatBytes(UPDATE_DOMAIN, src.subarray(bodyOff, bodyOff + bodyLen));
      return ed.verify(src.subarray(sigOff, sigOff + 64), msg, hexToBytes(key.publicKey)) ? UST_OK : UST_BAD_SIGNATURE;
    } catch {
      return UST_BAD_SIGNATURE;
    }
  }
}
