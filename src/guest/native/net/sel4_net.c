/* The NIC on seL4 under QEMU `virt`: finds the virtio-net device among the 32 virtio-mmio
 * transports (0x0a000000, 0x200 apart; QEMU fills them from the top), maps its registers and one
 * 2 MiB DMA frame, starts it and hands it to the lwIP bridge. No NIC on the command line (the
 * default) is a normal boot: the network state says so. */
#include "net_plat.h"
#include "platform.h"
#include "sel4_plat.h"
#include "virtio_net.h"

#define VIRTIO_MMIO_BASE 0x0a000000ull
#define VIRTIO_MMIO_SLOTS 32
#define VIRTIO_MMIO_STRIDE 0x200
#define VIRTIO_MMIO_PAGES (VIRTIO_MMIO_SLOTS * VIRTIO_MMIO_STRIDE / 4096)

static vnet device;

/* The device's interrupt: the used rings are read by coh_net_service, which the event loop runs
 * after every wake-up; here the device is only told its interrupt was seen (it drops the line). */
static void net_irq(void) { vnet_ack_irq(&device); }

void coh_net_boot(void) {
  volatile uint8_t* mmio = coh_sel4_map_device(VIRTIO_MMIO_BASE, VIRTIO_MMIO_PAGES);
  if (!mmio) return;
  int found = -1;
  for (int j = VIRTIO_MMIO_SLOTS - 1; j >= 0 && found < 0; j--) {
    if (vnet_probe((volatile uint32_t*)(mmio + j * VIRTIO_MMIO_STRIDE))) found = j;
  }
  if (found < 0) {
    coh_diag_str("cohesix: net: no virtio-net device (boot with a NIC for the network console)\n");
    return;
  }
  uint64_t pa = 0;
  uint8_t* dma = coh_sel4_dma_frame(&pa);
  if (!dma) return;
  const char* why = "";
  if (vnet_start(&device, (volatile uint32_t*)(mmio + found * VIRTIO_MMIO_STRIDE), dma, pa, &why) < 0) {
    coh_diag_str("cohesix: net: virtio-net did not start: ");
    coh_diag_str(why);
    coh_diag_str("\n");
    return;
  }
  coh_diag_str("cohesix: net: virtio-net at 0x");
  static const char hex[] = "0123456789abcdef";
  uint64_t at = VIRTIO_MMIO_BASE + (uint64_t)found * VIRTIO_MMIO_STRIDE;
  for (int s = 28; s >= 0; s -= 4) coh_plat_diag(hex[(at >> s) & 15]);
  coh_diag_str(device.version == 2 ? " (modern)" : " (legacy)");
  coh_diag_str(" mac=");
  for (int i = 0; i < 6; i++) {
    if (i) coh_plat_diag(':');
    coh_plat_diag(hex[device.mac[i] >> 4]);
    coh_plat_diag(hex[device.mac[i] & 15]);
  }
  coh_diag_str("\n");
  coh_net_attach_nic(&device, (uint32_t)coh_plat_now_ms() ^ (uint32_t)pa);
  /* The virtio-mmio transport j raises SPI 16 + j, GIC interrupt 48 + j (level). Without it the
   * pump still polls the rings each round, only later. */
  coh_events_add_irq(48 + (seL4_Word)found, 0, net_irq, "virtio-net");
}
