/* Update manifest signature checks for the native guest: the platform half of
 * src/guest/updates/platform_signature_check.ts. The guest picks the trusted key by the manifest's kid
 * and lays the key, the signature and the signed message ("cohesix-update-v1\0" || body, contiguous)
 * into its mailbox, then prints the update verify line; this answers with libsodium (Debian's source
 * package, built by the guest build): crypto_sign_ed25519_verify_detached over the message in place.
 * No curve or hash arithmetic of our own. A message that does not start with the update domain does
 * not verify; lengths outside the mailbox trap (a guest bug, never a verdict). Mailbox layout: see
 * platform_signature_check.ts. */
#include <stdint.h>
#include <string.h>
#include "crypto_sign_ed25519.h"
#include "platform.h"

#define UV_SIG 32
#define UV_ACK 32
#define UV_RESULT 33
#define UV_MSG_LEN 36
#define UV_MSG_CAP 40
#define UV_MICROS 44
#define UV_KEY 64
#define UV_SIGNATURE 96
#define UV_MSG 160

#define RESULT_OK 0
#define RESULT_BAD 1

static const uint8_t DOMAIN[] = "cohesix-update-v1"; /* with its NUL: 18 bytes, as the host signs */

static uint32_t uv_u32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* The generic timer (readable at EL0 under Linux and on the Cohesix seL4 kernel): the check's cost. */
static uint64_t uv_ticks(void) {
  uint64_t v;
  __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
  return v;
}

static uint64_t uv_freq(void) {
  uint64_t f;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
  return f;
}

int coh_update_check(const uint8_t* key, const uint8_t* sig, const uint8_t* msg, uint32_t msg_len) {
  if (msg_len < sizeof DOMAIN || memcmp(msg, DOMAIN, sizeof DOMAIN) != 0) return RESULT_BAD;
  return crypto_sign_ed25519_verify_detached(sig, msg, msg_len, key) == 0 ? RESULT_OK : RESULT_BAD;
}

static uint8_t* mailbox;

/* One update verify request, when the guest printed the update verify line. */
void coh_update_verify_request(void) {
  if (!mailbox) {
    uint8_t sig[UV_SIG];
    for (int i = 0; i < UV_SIG; i++) sig[i] = (uint8_t)((i * 83 + 29) % 256);
    mailbox = coh_find_signature(sig, UV_SIG, UV_MSG, "update verify");
  }
  uint8_t* mb = mailbox;
  uint64_t cap = uv_u32(mb + UV_MSG_CAP);
  uint64_t at = (uint64_t)(mb - coh_arena_base());
  if (cap < sizeof DOMAIN || at + UV_MSG + cap > coh_arena_used()) coh_trap("update verify: mailbox capacity out of range");
  uint32_t len = uv_u32(mb + UV_MSG_LEN);
  if (len < sizeof DOMAIN || len > cap) coh_trap("update verify: message length out of range");
  uint64_t t0 = uv_ticks();
  mb[UV_RESULT] = (uint8_t)coh_update_check(mb + UV_KEY, mb + UV_SIGNATURE, mb + UV_MSG, len);
  uint64_t t1 = uv_ticks(), freq = uv_freq();
  uint64_t micros = freq ? (t1 - t0) * 1000000 / freq : 0;
  if (micros > 0xffffffffu) micros = 0xffffffffu;
  mb[UV_MICROS] = (uint8_t)micros;
  mb[UV_MICROS + 1] = (uint8_t)(micros >> 8);
  mb[UV_MICROS + 2] = (uint8_t)(micros >> 16);
  mb[UV_MICROS + 3] = (uint8_t)(micros >> 24);
  mb[UV_ACK] = 1;
}
