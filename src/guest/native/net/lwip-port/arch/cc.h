/* lwIP architecture header for the Cohesix seL4 root task: AArch64, little endian, freestanding
 * with picolibc's headers. An lwIP assertion is a bug in our use of the stack: it becomes a guest
 * trap with a report (never a silent hang); lwIP's debug output is compiled out. */
#ifndef COH_LWIP_ARCH_CC_H
#define COH_LWIP_ARCH_CC_H
#include <stdint.h>
#include <stddef.h>

#define BYTE_ORDER LITTLE_ENDIAN
#define LWIP_NO_CTYPE_H 1

void coh_trap(const char* reason) __attribute__((noreturn));
#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
  } while (0)
#define LWIP_PLATFORM_ASSERT(x) coh_trap("lwIP assertion: " x)

/* Initial sequence numbers and DHCP transaction ids (net_lwip.c). */
uint32_t coh_net_rand(void);
#define LWIP_RAND() coh_net_rand()
#endif
