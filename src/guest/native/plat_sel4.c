/* Cohesix guest native platform for the seL4 root task (QEMU virt, AArch64).
 * - serial output through seL4_DebugPutChar (the debug kernel's PL011 driver at 0x09000000);
 * - bootinfo parsing: the untyped list, the empty slot range, and the device untyped that covers
 *   the PL011 (the frame a user-level UART driver maps for the receive path);
 * - the Wasm arena: 2 MiB frames retyped from the boot untypeds and mapped at ARENA_VADDR (kept
 *   out of the ELF image: the kernel makes a cap per 4 KiB image frame, and the root CNode has 4096);
 * - serial input and the tick without polling: the PL011 RX interrupt and the tick timer
 *   (sel4_timer.c) are bound to one notification (sel4_events.c) that the pump waits on;
 * - traps and the end of the guest suspend the root thread after a report, never a silent hang. */
#include <stdint.h>
#include <sel4/sel4.h>
#include "platform.h"
#include "sel4_plat.h"
#include "net/net_bridge.h"
#include "net/net_plat.h"

seL4_IPCBuffer* __sel4_ipc_buffer;

#define PL011_PADDR 0x09000000ul
/* Inside the first GiB, whose level-2 table the image mapping already created: 2 MiB frames map
 * straight into it, no new paging objects needed. */
#define ARENA_VADDR 0x10000000ul
#define LARGE_BITS 21

const seL4_BootInfo* coh_bootinfo;
#define bootinfo coh_bootinfo
static seL4_CPtr next_slot;
static uint8_t* arena_base;

/* ---- devices: PL011 UART and PL031 RTC, mapped from the device untyped that covers them ---- */

#define PL031_PADDR 0x09010000ul
#define DEV_VADDR 0x0fe00000ul /* a 2 MiB slot below the arena, first GiB */
#define PL011_DR 0x000
#define PL011_FR 0x018
#define PL011_IMSC 0x038
#define PL011_ICR 0x044
#define PL011_FR_RXFE (1u << 4)
#define PL011_FR_TXFF (1u << 5)
#define PL011_INT_RX_RT ((1u << 4) | (1u << 6)) /* receive, receive timeout */
#define PL011_IRQ 33                           /* SPI 1 */

static volatile uint32_t* pl011;
static volatile uint32_t* pl031;
/* Whether the event loop is up (else serial input falls back to polling with seL4_Yield). */
static int events_ok;

/* Guest serial output: seL4_DebugPutChar until the PL011 is mapped, then the PL011 itself. */
void coh_plat_putc(int c) {
  if (!pl011) {
    seL4_DebugPutChar((char)c);
    return;
  }
  while (pl011[PL011_FR / 4] & PL011_FR_TXFF) {
  }
  pl011[PL011_DR / 4] = (uint32_t)(uint8_t)c;
}

/* The console and the guest's own lines share the one serial port. */
void coh_plat_serial_write(int c) { coh_plat_putc(c); }

uint64_t coh_plat_now_ms(void) { return coh_timer_now_ms(); }

/* Received bytes between the RX interrupt and the pump; when it is full the RX interrupt is masked
 * (the PL011 FIFO then fills and QEMU holds further input back) until the pump takes some. */
#define RX_RING 4096u
static uint8_t rx_ring[RX_RING];
static uint32_t rx_head, rx_tail;

static void uart_drain(void) {
  while (rx_head - rx_tail < RX_RING && !(pl011[PL011_FR / 4] & PL011_FR_RXFE)) {
    rx_ring[rx_head++ % RX_RING] = (uint8_t)pl011[PL011_DR / 4];
  }
  if (rx_head - rx_tail == RX_RING) pl011[PL011_IMSC / 4] = 0;
}

static void uart_irq(void) {
  uart_drain();
  pl011[PL011_ICR / 4] = PL011_INT_RX_RT;
}

/* The pump's wait: returns what has arrived (at most cap bytes) as soon as there is any, else
 * blocks in the event loop until input or until_ms (0: do not wait). */
uint32_t coh_plat_serial_read(uint8_t* buf, uint32_t cap, uint64_t until_ms, int* eof) {
  *eof = 0;
  if (!pl011 || cap == 0) return 0;
  for (;;) {
    uart_drain();
    uint32_t n = 0;
    while (n < cap && rx_tail != rx_head) buf[n++] = rx_ring[rx_tail++ % RX_RING];
    if (n > 0 && events_ok) pl011[PL011_IMSC / 4] = PL011_INT_RX_RT;
    /* The NIC (its interrupt is on the same notification) may have brought work for the guest. */
    int net = coh_net_service();
    if (net || n > 0 || until_ms == 0 || coh_timer_now_ms() >= until_ms) return n;
    if (events_ok) {
      /* Wake for lwIP's next timer too (retransmission, delayed ACK, DHCP), if it comes first. */
      uint64_t lwip = coh_net_next_timer_ms();
      coh_timer_arm(lwip != 0 && lwip < until_ms ? lwip : until_ms);
      coh_events_wait();
    } else {
      seL4_Yield();
    }
  }
}
void coh_plat_diag(int c) { seL4_DebugPutChar((char)c); }
void coh_plat_flush(void) {}

__attribute__((noreturn)) void coh_plat_exit(int code) {
  coh_diag_str("cohesix: root task stopped, code=");
  coh_diag_u64((uint64_t)code);
  coh_diag_str("\n");
  seL4_TCB_Suspend(seL4_CapInitThreadTCB);
  for (;;) seL4_Yield();
}

static void diag_hex(uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  coh_diag_str("0x");
  int shift = 60;
  while (shift > 0 && ((v >> shift) & 15) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) coh_plat_diag(digits[(v >> shift) & 15]);
}

/* Prints what the root task learns from bootinfo; returns the cap slot of the device untyped that
 * covers the PL011, or 0 when none does. */
static seL4_CPtr parse_bootinfo(const seL4_BootInfo* bi, seL4_Word* uart_paddr_out) {
  seL4_Word n = bi->untyped.end - bi->untyped.start;
  seL4_Word devices = 0;
  seL4_CPtr uart = 0;
  seL4_Word uart_paddr = 0, uart_bits = 0;
  for (seL4_Word i = 0; i < n && i < CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS; i++) {
    const seL4_UntypedDesc* d = &bi->untypedList[i];
    if (!d->isDevice) continue;
    devices++;
    seL4_Word end = d->paddr + ((seL4_Word)1 << d->sizeBits);
    if (d->paddr <= PL011_PADDR && PL011_PADDR < end && (uart == 0 || d->sizeBits < uart_bits)) {
      uart = bi->untyped.start + i;
      uart_paddr = d->paddr;
      uart_bits = d->sizeBits;
    }
  }
  coh_diag_str("cohesix: bootinfo untyped=");
  coh_diag_u64(n);
  coh_diag_str(" device=");
  coh_diag_u64(devices);
  coh_diag_str(" empty=[");
  coh_diag_u64(bi->empty.start);
  coh_diag_str(",");
  coh_diag_u64(bi->empty.end);
  coh_diag_str(") ipcbuf=");
  diag_hex((uint64_t)(uintptr_t)bi->ipcBuffer);
  coh_diag_str(" extra=");
  coh_diag_u64(bi->extraLen);
  coh_diag_str("\n");
  *uart_paddr_out = uart_paddr;
  if (uart) {
    coh_diag_str("cohesix: pl011 untyped slot=");
    coh_diag_u64(uart);
    coh_diag_str(" paddr=");
    diag_hex(uart_paddr);
    coh_diag_str(" bits=");
    coh_diag_u64(uart_bits);
    coh_diag_str("\n");
  } else {
    coh_diag_str("cohesix: no device untyped covers the pl011\n");
  }
  return uart;
}

void coh_sel4_error(const char* what, seL4_Error err) {
  coh_diag_str("cohesix: ");
  coh_diag_str(what);
  coh_diag_str(" failed, seL4 error ");
  coh_diag_u64((uint64_t)err);
  coh_diag_str("\n");
}

/* ---- allocation: every retype is checked against our own record of each untyped's watermark, so
 * none fails (the debug kernel prints each failed invocation on the serial line) ---- */

static seL4_Word untyped_used[CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS]; /* bytes, from the untyped's base */

/* Whether `count` empty slots remain (reported when not). */
static int slots_left(seL4_Word count, const char* what) {
  if (next_slot + count <= bootinfo->empty.end) return 1;
  coh_diag_str("cohesix: out of empty cap slots for ");
  coh_diag_str(what);
  coh_diag_str("\n");
  return 0;
}

seL4_CPtr coh_sel4_slot(const char* what) { return slots_left(1, what) ? next_slot++ : 0; }

static seL4_Word object_bits(seL4_Word type, seL4_Word size_bits) {
  switch (type) {
    case seL4_UntypedObject: return size_bits;
    case seL4_TCBObject: return seL4_TCBBits;
    case seL4_EndpointObject: return seL4_EndpointBits;
    case seL4_NotificationObject: return seL4_NotificationBits;
    case seL4_CapTableObject: return seL4_SlotBits + size_bits;
    case seL4_ARM_SmallPageObject: return seL4_PageBits;
    case seL4_ARM_LargePageObject: return seL4_LargePageBits;
    case seL4_ARM_PageTableObject: return seL4_PageTableBits;
    case seL4_ARM_VSpaceObject: return seL4_VSpaceBits;
    default: return 64; /* unknown: never fits */
  }
}

/* How many objects of 2^bits bytes still fit into untyped i (the kernel aligns each retype). */
static seL4_Word room(seL4_Word i, seL4_Word bits) {
  seL4_Word size_bits = bootinfo->untypedList[i].sizeBits;
  if (bits > size_bits) return 0;
  seL4_Word align = ((seL4_Word)1 << bits) - 1;
  seL4_Word at = (untyped_used[i] + align) & ~align;
  seL4_Word size = (seL4_Word)1 << size_bits;
  return at >= size ? 0 : (size - at) >> bits;
}

/* Retypes `count` objects from untyped i into the next slots; 0 (reported) on failure. */
static seL4_CPtr retype_from(seL4_Word i, seL4_Word type, seL4_Word size_bits, seL4_Word count, const char* what) {
  seL4_Word bits = object_bits(type, size_bits);
  if (!slots_left(count, what) || room(i, bits) < count) return 0;
  seL4_Error err = seL4_Untyped_Retype(bootinfo->untyped.start + i, type, size_bits, seL4_CapInitThreadCNode, 0, 0,
                                       next_slot, count);
  if (err != seL4_NoError) {
    coh_sel4_error(what, err);
    return 0;
  }
  seL4_Word align = ((seL4_Word)1 << bits) - 1;
  untyped_used[i] = ((untyped_used[i] + align) & ~align) + (count << bits);
  seL4_CPtr first = next_slot;
  next_slot += count;
  return first;
}

seL4_CPtr coh_sel4_alloc(seL4_Word type, seL4_Word size_bits, seL4_Word count, const char* what) {
  const seL4_BootInfo* bi = bootinfo;
  seL4_Word n = bi->untyped.end - bi->untyped.start;
  seL4_Word bits = object_bits(type, size_bits);
  /* Small untypeds first: those of 2 MiB and more hold the arena. */
  for (int pass = 0; pass < 2; pass++) {
    for (seL4_Word i = 0; i < n && i < CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS; i++) {
      const seL4_UntypedDesc* d = &bi->untypedList[i];
      if (d->isDevice || (pass == 0) != (d->sizeBits < LARGE_BITS) || room(i, bits) < count) continue;
      return retype_from(i, type, size_bits, count, what);
    }
  }
  coh_diag_str("cohesix: no untyped memory left for ");
  coh_diag_str(what);
  coh_diag_str("\n");
  return 0;
}

/* Retypes enough 2 MiB frames from the non-device untypeds and maps them contiguously. */
static uint8_t* map_arena(void) {
  const seL4_BootInfo* bi = bootinfo;
  seL4_Word need = (COH_ARENA_BYTES + (1ul << LARGE_BITS) - 1) >> LARGE_BITS;
  seL4_Word mapped = 0;
  seL4_Word n = bi->untyped.end - bi->untyped.start;
  for (seL4_Word i = 0; i < n && i < CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS && mapped < need; i++) {
    if (bi->untypedList[i].isDevice) continue;
    seL4_Word fit = room(i, LARGE_BITS);
    seL4_Word take = need - mapped < fit ? need - mapped : fit;
    if (take == 0) continue;
    seL4_CPtr first = retype_from(i, seL4_ARM_LargePageObject, 0, take, "arena frames");
    if (!first) return 0;
    for (seL4_Word k = 0; k < take; k++) {
      seL4_Error err = seL4_ARM_Page_Map(first + k, seL4_CapInitThreadVSpace, ARENA_VADDR + ((mapped + k) << LARGE_BITS),
                                         seL4_AllRights, seL4_ARM_Default_VMAttributes);
      if (err != seL4_NoError) {
        coh_sel4_error("arena: Page_Map", err);
        return 0;
      }
    }
    mapped += take;
  }
  if (mapped < need) {
    coh_diag_str("cohesix: arena: not enough untyped memory\n");
    return 0;
  }
  coh_diag_str("cohesix: arena ");
  coh_diag_u64(mapped << LARGE_BITS);
  coh_diag_str(" bytes at ");
  diag_hex(ARENA_VADDR);
  coh_diag_str("\n");
  return (uint8_t*)ARENA_VADDR;
}

uint8_t* coh_plat_arena(uint64_t* bytes) {
  if (!arena_base) arena_base = map_arena();
  *bytes = arena_base ? COH_ARENA_BYTES : 0;
  return arena_base;
}

/* Maps the PL011 (serial in and out) and the PL031 (the tick) from the device untyped at
 * uart_untyped, whose first frame is the PL011 (the PL031 is 16 frames on). */
static void map_devices(seL4_CPtr uart_untyped, seL4_Word uart_paddr) {
  if (!uart_untyped || uart_paddr != PL011_PADDR) {
    coh_diag_str("cohesix: serial input unavailable (no device untyped starting at the pl011)\n");
    return;
  }
  seL4_CPtr pt = coh_sel4_alloc(seL4_ARM_PageTableObject, 0, 1, "device page table");
  if (!pt) return;
  seL4_Error err = seL4_ARM_PageTable_Map(pt, seL4_CapInitThreadVSpace, DEV_VADDR, seL4_ARM_Default_VMAttributes);
  if (err != seL4_NoError) {
    coh_sel4_error("device PageTable_Map", err);
    return;
  }
  seL4_Word frames = (PL031_PADDR - PL011_PADDR) / 4096 + 1;
  seL4_CPtr f = retype_from(uart_untyped - bootinfo->untyped.start, seL4_ARM_SmallPageObject, 0, frames, "device frames");
  if (!f) return;
  err = seL4_ARM_Page_Map(f, seL4_CapInitThreadVSpace, DEV_VADDR, seL4_ReadWrite, seL4_ARM_ExecuteNever);
  if (err == seL4_NoError) {
    err = seL4_ARM_Page_Map(f + frames - 1, seL4_CapInitThreadVSpace, DEV_VADDR + 4096, seL4_ReadWrite, seL4_ARM_ExecuteNever);
  }
  if (err != seL4_NoError) {
    coh_sel4_error("device Page_Map", err);
    return;
  }
  pl011 = (volatile uint32_t*)DEV_VADDR;
  pl031 = (volatile uint32_t*)(DEV_VADDR + 4096);
  coh_diag_str("cohesix: pl011 mapped at ");
  diag_hex(DEV_VADDR);
  coh_diag_str(", pl031 tick at ");
  diag_hex(DEV_VADDR + 4096);
  coh_diag_str("\n");
}

/* The clock, then the event loop's sources: the tick timer and the PL011 receive interrupt. */
static void start_events(void) {
  int ok = coh_events_init() == 0;
  coh_timer_init(pl031);
  if (ok && pl011 && coh_events_add_irq(PL011_IRQ, 0, uart_irq, "pl011 rx") >= 0) {
    pl011[PL011_ICR / 4] = PL011_INT_RX_RT;
    pl011[PL011_IMSC / 4] = PL011_INT_RX_RT;
    events_ok = 1;
  }
  coh_diag_str("cohesix: clock ");
  coh_diag_str(coh_timer_kind());
  coh_diag_str(events_ok ? ", serial input and tick by interrupt (seL4_Wait)\n" : ", serial input polled\n");
}

/* ---- for the NIC (net/sel4_net.c): more device frames in the device page table, one DMA frame ---- */

static seL4_Word dev_next_vaddr = DEV_VADDR + 0x10000;

volatile void* coh_sel4_map_device(uint64_t paddr, uint32_t pages) {
  const seL4_BootInfo* bi = bootinfo;
  if (!pl011) return 0; /* no device page table */
  seL4_Word n = bi->untyped.end - bi->untyped.start;
  for (seL4_Word i = 0; i < n && i < CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS; i++) {
    const seL4_UntypedDesc* d = &bi->untypedList[i];
    if (!d->isDevice || d->paddr != paddr) continue;
    if (((seL4_Word)pages << 12) > ((seL4_Word)1 << d->sizeBits)) break;
    seL4_CPtr f = retype_from(i, seL4_ARM_SmallPageObject, 0, pages, "device frames");
    if (!f) return 0;
    seL4_Word va = dev_next_vaddr;
    for (uint32_t k = 0; k < pages; k++) {
      seL4_Error err = seL4_ARM_Page_Map(f + k, seL4_CapInitThreadVSpace, va + ((seL4_Word)k << 12), seL4_ReadWrite,
                                         seL4_ARM_ExecuteNever);
      if (err != seL4_NoError) {
        coh_sel4_error("device Page_Map", err);
        return 0;
      }
    }
    dev_next_vaddr += (seL4_Word)pages << 12;
    return (volatile void*)va;
  }
  coh_diag_str("cohesix: no device untyped starts at ");
  diag_hex(paddr);
  coh_diag_str("\n");
  return 0;
}

uint8_t* coh_sel4_map_scratch(seL4_CPtr frame) {
  if (!pl011) return 0; /* no device page table */
  seL4_Word va = dev_next_vaddr;
  seL4_Error err = seL4_ARM_Page_Map(frame, seL4_CapInitThreadVSpace, va, seL4_ReadWrite,
                                     seL4_ARM_Default_VMAttributes | seL4_ARM_ExecuteNever);
  if (err != seL4_NoError) {
    coh_sel4_error("scratch Page_Map", err);
    return 0;
  }
  dev_next_vaddr += 4096;
  return (uint8_t*)va;
}

uint8_t* coh_sel4_dma_frame(uint64_t* paddr) {
  seL4_Word va = ARENA_VADDR + COH_ARENA_BYTES; /* just above the arena, still in the first GiB */
  seL4_CPtr f = coh_sel4_alloc(seL4_ARM_LargePageObject, 0, 1, "NIC DMA frame");
  if (!f) return 0;
  seL4_Error err = seL4_ARM_Page_Map(f, seL4_CapInitThreadVSpace, va, seL4_ReadWrite, seL4_ARM_Default_VMAttributes);
  seL4_ARM_Page_GetAddress_t a = seL4_ARM_Page_GetAddress(f);
  if (err != seL4_NoError || a.error != seL4_NoError) {
    coh_sel4_error("NIC DMA frame map", err != seL4_NoError ? err : (seL4_Error)a.error);
    return 0;
  }
  *paddr = a.paddr;
  return (uint8_t*)va;
}

/* The first round's wait for an address: sleep until lwIP's next timer (at most 50 ms) or a frame. */
void coh_net_idle(void) {
  if (!events_ok) {
    seL4_Yield();
    return;
  }
  uint64_t next = coh_net_next_timer_ms(), cap = coh_timer_now_ms() + 50;
  coh_timer_arm(next != 0 && next < cap ? next : cap);
  coh_events_wait();
}

/* A zeroed thread block for TPIDR_EL0: libc's thread-local errno lands here (single thread). */
static uint8_t tls_block[4096] __attribute__((aligned(64)));

__attribute__((noreturn, used)) void coh_sel4_main(seL4_BootInfo* bi) {
  __asm__ volatile("msr tpidr_el0, %0" ::"r"(tls_block));
  seL4_SetIPCBuffer(bi->ipcBuffer);
  bootinfo = bi;
  next_slot = bi->empty.start;
  coh_diag_str("cohesix: seL4 root task up\n");
  seL4_Word uart_paddr = 0;
  seL4_CPtr uart = parse_bootinfo(bi, &uart_paddr);
  map_devices(uart, uart_paddr);
  start_events();
  coh_worker_boot();
  coh_net_boot();
  coh_plat_exit(coh_guest_run());
}
