/* Ticket seal checks for the native guest: the platform half of src/guest/tickets/platform_verifier.ts.
 * The guest parses the ticket and picks the trusted key; it hands over the claims bytes, the seal
 * (kid, claims digest, Ed25519 signature) and the key through the verify mailbox and prints the verify
 * line; this answers with libsodium (Debian's source package, built by the guest build): the
 * signature over DOMAIN || kid || digest, then sha256(claims)[0..16] against the digest. No curve or
 * hash arithmetic of our own. Mailbox layout: see platform_verifier.ts. */
#include <stdint.h>
#include <string.h>
#include "crypto_hash_sha256.h"
#include "crypto_sign_ed25519.h"
#include "platform.h"

#define VB_SIG 32
#define VB_ACK 32
#define VB_RESULT 33
#define VB_CLAIMS_LEN 36
#define VB_KEY 64
#define VB_KID 96
#define VB_DIGEST 100
#define VB_SEAL_SIG 116
#define VB_CLAIMS 192
#define VB_CLAIMS_CAP 1024
#define VB_BYTES (VB_CLAIMS + VB_CLAIMS_CAP)

#define RESULT_OK 0
#define RESULT_BAD_SIGNATURE 3 /* TicketStatus.BadSignature */
#define RESULT_TAMPERED 4      /* TicketStatus.TamperedClaims */

static const uint8_t DOMAIN[] = "cohesix-ticket-v1"; /* with its NUL: 18 bytes, as the host signs */

int coh_seal_check(const uint8_t* key, const uint8_t* kid, const uint8_t* digest, const uint8_t* sig,
                   const uint8_t* claims, uint32_t claims_len) {
  uint8_t msg[sizeof DOMAIN + 4 + 16];
  memcpy(msg, DOMAIN, sizeof DOMAIN);
  memcpy(msg + sizeof DOMAIN, kid, 4);
  memcpy(msg + sizeof DOMAIN + 4, digest, 16);
  if (crypto_sign_ed25519_verify_detached(sig, msg, sizeof msg, key) != 0) return RESULT_BAD_SIGNATURE;
  uint8_t h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, claims, claims_len);
  return memcmp(h, digest, 16) == 0 ? RESULT_OK : RESULT_TAMPERED;
}

static uint8_t* mailbox;

/* One verify request, when the guest printed the verify line. */
void coh_verify_request(void) {
  if (!mailbox) {
    uint8_t sig[VB_SIG];
    for (int i = 0; i < VB_SIG; i++) sig[i] = (uint8_t)((i * 59 + 17) % 256);
    mailbox = coh_find_signature(sig, VB_SIG, VB_BYTES, "ticket verify");
  }
  uint8_t* mb = mailbox;
  uint32_t len = mb[VB_CLAIMS_LEN] | mb[VB_CLAIMS_LEN + 1] << 8 | mb[VB_CLAIMS_LEN + 2] << 16 | (uint32_t)mb[VB_CLAIMS_LEN + 3] << 24;
  if (len > VB_CLAIMS_CAP) coh_trap("ticket verify: claims length out of range");
  mb[VB_RESULT] = (uint8_t)coh_seal_check(mb + VB_KEY, mb + VB_KID, mb + VB_DIGEST, mb + VB_SEAL_SIG, mb + VB_CLAIMS, len);
  mb[VB_ACK] = 1;
}
