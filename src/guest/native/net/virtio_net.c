/* virtio-net over virtio-mmio (virtio 1.2, sections 4.2 and 5.1; legacy layout per 4.2.4).
 * Both transports share one ring layout in the DMA region:
 *   [0, 8K)      RX queue: descriptors at 0, available ring at 16 * VNET_QUEUE, used ring at 4096
 *   [8K, 16K)    TX queue: the same
 *   then VNET_QUEUE RX buffers and VNET_QUEUE TX buffers of VNET_BUF bytes.
 * Legacy devices find the rings from one page number (used ring on the next 4096 boundary, which is
 * why it sits at 4096); modern devices take the three addresses. QEMU `virt` declares the transport
 * dma-coherent, so cacheable memory and barriers suffice. */
#include "virtio_net.h"
#include <string.h>

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEVICE_FEATURES 0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_GUEST_PAGE_SIZE 0x028 /* legacy */
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_ALIGN 0x03c /* legacy */
#define R_QUEUE_PFN 0x040   /* legacy */
#define R_QUEUE_READY 0x044 /* modern */
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_STATUS 0x060
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC_LOW 0x080
#define R_QUEUE_DESC_HIGH 0x084
#define R_QUEUE_DRIVER_LOW 0x090
#define R_QUEUE_DRIVER_HIGH 0x094
#define R_QUEUE_DEVICE_LOW 0x0a0
#define R_QUEUE_DEVICE_HIGH 0x0a4
#define R_CONFIG 0x100

#define MAGIC 0x74726976u /* "virt" */
#define DEVICE_NET 1u
#define S_ACKNOWLEDGE 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_FAILED 128u
#define F_NET_MAC 5           /* feature bit: config space has the MAC */
#define F_VERSION_1 32        /* modern device */
#define DESC_F_WRITE 2u       /* the device writes this buffer */
#define RING_BYTES 8192
#define USED_OFFSET 4096
#define RX_QUEUE 0
#define TX_QUEUE 1

static inline uint32_t rd(vnet* d, uint32_t off) { return d->regs[off / 4]; }
static inline void wr(vnet* d, uint32_t off, uint32_t v) { d->regs[off / 4] = v; }
/* Ring writes must be visible to the device before the index or the notify that publishes them. */
static inline void dma_barrier(void) { __asm__ volatile("dmb sy" ::: "memory"); }

int vnet_probe(volatile uint32_t* regs) {
  uint32_t version = regs[R_VERSION / 4];
  return regs[R_MAGIC / 4] == MAGIC && (version == 1 || version == 2) && regs[R_DEVICE_ID / 4] == DEVICE_NET;
}

static void set_desc(vnet_queue* q, uint16_t i, uint64_t pa, uint32_t len, uint16_t flags) {
  volatile uint8_t* e = q->desc + 16u * i;
  *(volatile uint64_t*)e = pa;
  *(volatile uint32_t*)(e + 8) = len;
  *(volatile uint16_t*)(e + 12) = flags;
  *(volatile uint16_t*)(e + 14) = 0;
}

static void publish(vnet_queue* q, uint16_t desc_id) {
  q->avail[2 + q->avail_idx % q->num] = desc_id;
  q->avail_idx++;
}

static void flush_avail(vnet* d, vnet_queue* q, uint32_t queue) {
  dma_barrier();
  q->avail[1] = q->avail_idx;
  dma_barrier();
  wr(d, R_QUEUE_NOTIFY, queue);
}

static uint8_t* rx_buf(vnet* d, uint16_t i) { return d->dma + 2 * RING_BYTES + (uint32_t)i * VNET_BUF; }
static uint8_t* tx_buf(vnet* d, uint16_t i) { return rx_buf(d, VNET_QUEUE) + (uint32_t)i * VNET_BUF; }
static uint64_t pa_of(vnet* d, const uint8_t* p) { return d->dma_pa + (uint64_t)(p - d->dma); }

static int setup_queue(vnet* d, vnet_queue* q, uint32_t queue, uint8_t* mem, const char** why) {
  wr(d, R_QUEUE_SEL, queue);
  if (d->version == 2 && rd(d, R_QUEUE_READY) != 0) {
    *why = "queue already in use";
    return -1;
  }
  uint32_t max = rd(d, R_QUEUE_NUM_MAX);
  if (max == 0) {
    *why = "queue not available";
    return -1;
  }
  q->num = max < VNET_QUEUE ? (uint16_t)max : VNET_QUEUE;
  if (q->num & (q->num - 1)) { /* split rings want a power of two */
    *why = "queue size is not a power of two";
    return -1;
  }
  memset(mem, 0, RING_BYTES);
  q->desc = mem;
  q->avail = (volatile uint16_t*)(mem + 16 * VNET_QUEUE);
  q->used = (volatile uint16_t*)(mem + USED_OFFSET);
  q->avail_idx = 0;
  q->used_seen = 0;
  wr(d, R_QUEUE_NUM, q->num);
  uint64_t pa = pa_of(d, mem);
  if (d->version == 1) {
    wr(d, R_QUEUE_ALIGN, 4096);
    wr(d, R_QUEUE_PFN, (uint32_t)(pa >> 12));
  } else {
    uint64_t avail = pa + 16 * VNET_QUEUE, used = pa + USED_OFFSET;
    wr(d, R_QUEUE_DESC_LOW, (uint32_t)pa);
    wr(d, R_QUEUE_DESC_HIGH, (uint32_t)(pa >> 32));
    wr(d, R_QUEUE_DRIVER_LOW, (uint32_t)avail);
    wr(d, R_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    wr(d, R_QUEUE_DEVICE_LOW, (uint32_t)used);
    wr(d, R_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    wr(d, R_QUEUE_READY, 1);
  }
  return 0;
}

static int fail(vnet* d, const char** why, const char* what) {
  wr(d, R_STATUS, rd(d, R_STATUS) | S_FAILED);
  *why = what;
  return -1;
}

int vnet_start(vnet* d, volatile uint32_t* regs, uint8_t* dma, uint64_t dma_pa, const char** why) {
  memset(d, 0, sizeof *d);
  d->regs = regs;
  d->dma = dma;
  d->dma_pa = dma_pa;
  if (!vnet_probe(regs)) {
    *why = "not a virtio-net device";
    return -1;
  }
  d->version = rd(d, R_VERSION);
  d->hdr_len = d->version == 2 ? 12 : 10;
  wr(d, R_STATUS, 0); /* reset */
  while (rd(d, R_STATUS) != 0) {
  }
  wr(d, R_STATUS, S_ACKNOWLEDGE);
  wr(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER);
  wr(d, R_DEVICE_FEATURES_SEL, 0);
  uint32_t lo = rd(d, R_DEVICE_FEATURES);
  uint32_t hi = 0;
  if (d->version == 2) {
    wr(d, R_DEVICE_FEATURES_SEL, 1);
    hi = rd(d, R_DEVICE_FEATURES);
    if (!(hi & (1u << (F_VERSION_1 - 32)))) return fail(d, why, "modern transport without VIRTIO_F_VERSION_1");
  }
  /* Only the MAC: no checksum offload, no segmentation, no mergeable buffers, no control queue. */
  uint32_t want_lo = lo & (1u << F_NET_MAC);
  uint32_t want_hi = d->version == 2 ? 1u << (F_VERSION_1 - 32) : 0;
  wr(d, R_DRIVER_FEATURES_SEL, 0);
  wr(d, R_DRIVER_FEATURES, want_lo);
  if (d->version == 2) {
    wr(d, R_DRIVER_FEATURES_SEL, 1);
    wr(d, R_DRIVER_FEATURES, want_hi);
    wr(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    if (!(rd(d, R_STATUS) & S_FEATURES_OK)) return fail(d, why, "device refused our features");
  } else {
    wr(d, R_GUEST_PAGE_SIZE, 4096);
  }
  if (setup_queue(d, &d->rx, RX_QUEUE, dma, why) < 0 || setup_queue(d, &d->tx, TX_QUEUE, dma + RING_BYTES, why) < 0) {
    return fail(d, why, *why);
  }
  for (uint16_t i = 0; i < d->rx.num; i++) {
    set_desc(&d->rx, i, pa_of(d, rx_buf(d, i)), VNET_BUF, DESC_F_WRITE);
    publish(&d->rx, i);
  }
  for (uint16_t i = 0; i < d->tx.num; i++) d->tx_free[d->tx_free_n++] = (uint16_t)(d->tx.num - 1 - i);
  if (want_lo & (1u << F_NET_MAC)) {
    volatile uint8_t* cfg = (volatile uint8_t*)regs + R_CONFIG;
    for (int i = 0; i < 6; i++) d->mac[i] = cfg[i];
  } else {
    /* A locally administered address, as QEMU would pick (52:54:00:12:34:56). */
    static const uint8_t fallback[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    memcpy(d->mac, fallback, 6);
  }
  wr(d, R_STATUS, rd(d, R_STATUS) | S_DRIVER_OK);
  flush_avail(d, &d->rx, RX_QUEUE);
  return 0;
}

/* Takes back TX descriptors the device has finished with. */
static void reclaim_tx(vnet* d) {
  vnet_queue* q = &d->tx;
  dma_barrier();
  uint16_t used_idx = q->used[1];
  while (q->used_seen != used_idx) {
    volatile uint32_t* e = (volatile uint32_t*)(q->used + 2) + 2u * (q->used_seen % q->num);
    uint32_t id = e[0];
    if (id < q->num && d->tx_free_n < q->num) d->tx_free[d->tx_free_n++] = (uint16_t)id;
    q->used_seen++;
  }
}

int vnet_send(vnet* d, const uint8_t* frame, uint32_t len) {
  if (len == 0 || len > VNET_MAX_FRAME) return -1;
  reclaim_tx(d);
  if (d->tx_free_n == 0) {
    d->tx_full++;
    return -1;
  }
  uint16_t id = d->tx_free[--d->tx_free_n];
  uint8_t* b = tx_buf(d, id);
  memset(b, 0, d->hdr_len); /* no offloads: flags 0, gso_type NONE */
  memcpy(b + d->hdr_len, frame, len);
  set_desc(&d->tx, id, pa_of(d, b), d->hdr_len + len, 0);
  publish(&d->tx, id);
  flush_avail(d, &d->tx, TX_QUEUE);
  d->tx_frames++;
  return 0;
}

int vnet_receive(vnet* d, vnet_deliver_fn deliver, void* ctx, int budget) {
  vnet_queue* q = &d->rx;
  int n = 0;
  dma_barrier();
  uint16_t used_idx = q->used[1];
  while (q->used_seen != used_idx && n < budget) {
    volatile uint32_t* e = (volatile uint32_t*)(q->used + 2) + 2u * (q->used_seen % q->num);
    uint32_t id = e[0], len = e[1];
    q->used_seen++;
    if (id >= q->num) { /* a device bug; nothing to repost */
      d->rx_dropped++;
      continue;
    }
    dma_barrier();
    if (len > d->hdr_len && len <= VNET_BUF) {
      d->rx_frames++;
      deliver(ctx, rx_buf(d, (uint16_t)id) + d->hdr_len, len - d->hdr_len);
    } else {
      d->rx_dropped++;
    }
    set_desc(q, (uint16_t)id, pa_of(d, rx_buf(d, (uint16_t)id)), VNET_BUF, DESC_F_WRITE);
    publish(q, (uint16_t)id);
    n++;
  }
  if (n > 0) flush_avail(d, q, RX_QUEUE);
  return n;
}

void vnet_ack_irq(vnet* d) { wr(d, R_INTERRUPT_ACK, rd(d, R_INTERRUPT_STATUS)); }
