/* What the network code needs from a platform (plat_sel4.c / net/sel4_net.c provide it). */
#ifndef COH_NET_PLAT_H
#define COH_NET_PLAT_H
#include <stdint.h>
#include "virtio_net.h"

/* The bridge serves this started device; `seed` stirs the ISN/xid generator. */
void coh_net_attach_nic(vnet* d, uint32_t seed);
/* seL4 only (plat_sel4.c): maps `pages` device frames starting at `paddr` from the device untyped
 * that covers them; NULL (reported) when it cannot. */
volatile void* coh_sel4_map_device(uint64_t paddr, uint32_t pages);
/* seL4 only: one physically contiguous 2 MiB frame from untyped memory, mapped, zeroed by the kernel;
 * sets *paddr. NULL (reported) when there is no memory left. */
uint8_t* coh_sel4_dma_frame(uint64_t* paddr);
/* Lets time pass while the first round waits for an address (seL4: yield). */
void coh_net_idle(void);
#endif
