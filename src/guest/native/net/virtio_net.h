/* A virtio-net driver for the virtio-mmio transport (QEMU `virt`): legacy (version 1) and modern
 * (version 2, VIRTIO_F_VERSION_1) devices, one RX and one TX queue, no offloads. Platform-neutral:
 * the platform maps the device registers and hands over one physically contiguous DMA region. */
#ifndef COH_VIRTIO_NET_H
#define COH_VIRTIO_NET_H
#include <stdint.h>

#define VNET_QUEUE 64     /* descriptors per queue */
#define VNET_BUF 2048     /* bytes per RX/TX buffer: virtio-net header + a 1514-byte frame */
#define VNET_MAX_FRAME 1514
/* DMA bytes the driver needs: two queues of 8 KiB (legacy puts the used ring on the next page)
 * plus VNET_QUEUE buffers for each direction. */
#define VNET_DMA_BYTES (2 * 8192 + 2 * VNET_QUEUE * VNET_BUF)

typedef struct {
  volatile uint8_t* desc;  /* 16 bytes each */
  volatile uint16_t* avail; /* flags, idx, ring[VNET_QUEUE], used_event */
  volatile uint16_t* used;  /* flags, idx, then {u32 id, u32 len}[VNET_QUEUE] */
  uint16_t num;             /* queue size in use */
  uint16_t avail_idx;       /* next avail index we publish */
  uint16_t used_seen;       /* used entries consumed */
} vnet_queue;

typedef struct {
  volatile uint32_t* regs;
  uint32_t version; /* 1 legacy, 2 modern */
  uint32_t hdr_len; /* 10 (legacy, no mergeable buffers) or 12 (modern) */
  uint8_t mac[6];
  uint8_t* dma;     /* virtual address of the DMA region */
  uint64_t dma_pa;  /* its physical address */
  vnet_queue rx, tx;
  uint16_t tx_free[VNET_QUEUE]; /* stack of free TX descriptor ids */
  uint16_t tx_free_n;
  uint32_t rx_frames, rx_dropped, tx_frames, tx_full;
} vnet;

/* Reads the device at `regs`: 1 (net, version 1 or 2), 0 (another device or an empty slot). */
int vnet_probe(volatile uint32_t* regs);
/* Resets and starts the device: feature negotiation, both queues, RX buffers posted.
 * 0 on success, else a negative code and *why names the step that failed. */
int vnet_start(vnet* d, volatile uint32_t* regs, uint8_t* dma, uint64_t dma_pa, const char** why);
/* Queues one Ethernet frame (copied); 0, or -1 when all TX descriptors are in flight or len is bad. */
int vnet_send(vnet* d, const uint8_t* frame, uint32_t len);
/* Hands each received frame to `deliver` (at most `budget`), reposts the buffers; returns the count. */
typedef void (*vnet_deliver_fn)(void* ctx, const uint8_t* frame, uint32_t len);
int vnet_receive(vnet* d, vnet_deliver_fn deliver, void* ctx, int budget);
/* Acknowledges the device's interrupt status (for an interrupt-driven loop). */
void vnet_ack_irq(vnet* d);
#endif
