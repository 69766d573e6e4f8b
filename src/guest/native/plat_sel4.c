/* Cohesix guest native platform for the seL4 root task (QEMU virt, AArch64).
 * - serial output through seL4_DebugPutChar (the debug kernel's PL011 driver at 0x09000000);
 * - bootinfo parsing: the untyped list, the empty slot range, and the device untyped that covers
 *   the PL011 (the frame a user-level UART driver maps for the receive path);
 * - the Wasm arena: 2 MiB frames retyped from the boot untypeds and mapped at ARENA_VADDR (kept
 *   out of the ELF image: the kernel makes a cap per 4 KiB image frame, and the root CNode has 4096);
 * - traps and the end of the guest suspend the root thread after a report, never a silent hang. */
#include <stdint.h>
#include <sel4/sel4.h>
#include "platform.h"
#include "net/net_bridge.h"
#include "net/net_plat.h"

seL4_IPCBuffer* __sel4_ipc_buffer;

#define PL011_PADDR 0x09000000ul
/* Inside the first GiB, whose level-2 table the image mapping already created: 2 MiB frames map
 * straight into it, no new paging objects needed. */
#define ARENA_VADDR 0x10000000ul
#define LARGE_BITS 21

static const seL4_BootInfo* bootinfo;
static seL4_CPtr next_slot;
static uint8_t* arena_base;

/* ---- devices: PL011 UART and PL031 RTC, mapped from the device untyped that covers them ---- */

#define PL031_PADDR 0x09010000ul
#define DEV_VADDR 0x0fe00000ul /* a 2 MiB slot below the arena, first GiB */
#define PL011_DR 0x000
#define PL011_FR 0x018
#define PL011_FR_RXFE (1u << 4)
#define PL011_FR_TXFF (1u << 5)
#define PL031_DR 0x000

static volatile uint32_t* pl011;
static volatile uint32_t* pl031;
static uint32_t rtc_start;

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

uint64_t coh_plat_now_ms(void) {
  if (!pl031) return 0;
  return (uint64_t)(pl031[PL031_DR / 4] - rtc_start) * 1000u;
}

/* Polls the PL011 receive FIFO. Without a user-level sub-second timer the wait ends at input or at
 * the next PL031 second, the guest's tick (the manifest's tick_ms is 1000). */
uint32_t coh_plat_serial_read(uint8_t* buf, uint32_t cap, uint32_t wait_ms, int* eof) {
  *eof = 0;
  if (!pl011 || cap == 0) return 0;
  uint32_t second = pl031 ? pl031[PL031_DR / 4] : 0;
  uint32_t n = 0;
  for (;;) {
    while (n < cap && !(pl011[PL011_FR / 4] & PL011_FR_RXFE)) buf[n++] = (uint8_t)pl011[PL011_DR / 4];
    /* The NIC is polled here until its interrupt joins an event loop. */
    if (coh_net_service() || n > 0 || wait_ms == 0) return n;
    if (pl031 && pl031[PL031_DR / 4] != second) return 0;
    seL4_Yield();
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

static void diag_error(const char* what, seL4_Error err) {
  coh_diag_str("cohesix: ");
  coh_diag_str(what);
  coh_diag_str(" failed, seL4 error ");
  coh_diag_u64((uint64_t)err);
  coh_diag_str("\n");
}

/* Retypes enough 2 MiB frames from the non-device untypeds and maps them contiguously. */
static uint8_t* map_arena(void) {
  const seL4_BootInfo* bi = bootinfo;
  seL4_Word need = (COH_ARENA_BYTES + (1ul << LARGE_BITS) - 1) >> LARGE_BITS;
  seL4_Word mapped = 0;
  seL4_Word n = bi->untyped.end - bi->untyped.start;
  for (seL4_Word i = 0; i < n && mapped < need; i++) {
    const seL4_UntypedDesc* d = &bi->untypedList[i];
    if (d->isDevice || d->sizeBits < LARGE_BITS) continue;
    seL4_Word fit = (seL4_Word)1 << (d->sizeBits - LARGE_BITS);
    seL4_Word take = need - mapped < fit ? need - mapped : fit;
    if (next_slot + take > bi->empty.end) {
      coh_diag_str("cohesix: arena: out of empty cap slots\n");
      return 0;
    }
    seL4_Error err = seL4_Untyped_Retype(bi->untyped.start + i, seL4_ARM_LargePageObject, 0, seL4_CapInitThreadCNode, 0, 0,
                                         next_slot, take);
    if (err != seL4_NoError) {
      diag_error("arena: Untyped_Retype", err);
      return 0;
    }
    for (seL4_Word k = 0; k < take; k++) {
      err = seL4_ARM_Page_Map(next_slot + k, seL4_CapInitThreadVSpace, ARENA_VADDR + ((mapped + k) << LARGE_BITS),
                              seL4_AllRights, seL4_ARM_Default_VMAttributes);
      if (err != seL4_NoError) {
        diag_error("arena: Page_Map", err);
        return 0;
      }
    }
    next_slot += take;
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

static seL4_CPtr retype(seL4_CPtr untyped, seL4_Word type, seL4_Word count, const char* what) {
  if (next_slot + count > bootinfo->empty.end) {
    coh_diag_str("cohesix: out of empty cap slots for ");
    coh_diag_str(what);
    coh_diag_str("\n");
    return 0;
  }
  seL4_Error err = seL4_Untyped_Retype(untyped, type, 0, seL4_CapInitThreadCNode, 0, 0, next_slot, count);
  if (err != seL4_NoError) {
    diag_error(what, err);
    return 0;
  }
  seL4_CPtr first = next_slot;
  next_slot += count;
  return first;
}

/* Maps the PL011 (serial in and out) and the PL031 (the tick) from the device untyped at
 * uart_untyped, whose first frame is the PL011 (the PL031 is 16 frames on). */
static void map_devices(seL4_CPtr uart_untyped, seL4_Word uart_paddr) {
  const seL4_BootInfo* bi = bootinfo;
  if (!uart_untyped || uart_paddr != PL011_PADDR) {
    coh_diag_str("cohesix: serial input unavailable (no device untyped starting at the pl011)\n");
    return;
  }
  seL4_CPtr pt = 0;
  seL4_Word n = bi->untyped.end - bi->untyped.start;
  for (seL4_Word i = 0; i < n && !pt; i++) {
    const seL4_UntypedDesc* d = &bi->untypedList[i];
    if (!d->isDevice && d->sizeBits >= seL4_PageTableBits) pt = retype(bi->untyped.start + i, seL4_ARM_PageTableObject, 1, "device page table");
  }
  if (!pt) return;
  seL4_Error err = seL4_ARM_PageTable_Map(pt, seL4_CapInitThreadVSpace, DEV_VADDR, seL4_ARM_Default_VMAttributes);
  if (err != seL4_NoError) {
    diag_error("device PageTable_Map", err);
    return;
  }
  seL4_Word frames = (PL031_PADDR - PL011_PADDR) / 4096 + 1;
  seL4_CPtr f = retype(uart_untyped, seL4_ARM_SmallPageObject, frames, "device frames");
  if (!f) return;
  err = seL4_ARM_Page_Map(f, seL4_CapInitThreadVSpace, DEV_VADDR, seL4_ReadWrite, seL4_ARM_ExecuteNever);
  if (err == seL4_NoError) {
    err = seL4_ARM_Page_Map(f + frames - 1, seL4_CapInitThreadVSpace, DEV_VADDR + 4096, seL4_ReadWrite, seL4_ARM_ExecuteNever);
  }
  if (err != seL4_NoError) {
    diag_error("device Page_Map", err);
    return;
  }
  pl011 = (volatile uint32_t*)DEV_VADDR;
  pl031 = (volatile uint32_t*)(DEV_VADDR + 4096);
  rtc_start = pl031[PL031_DR / 4];
  coh_diag_str("cohesix: pl011 mapped at ");
  diag_hex(DEV_VADDR);
  coh_diag_str(", pl031 tick at ");
  diag_hex(DEV_VADDR + 4096);
  coh_diag_str("\n");
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
    seL4_CPtr f = retype(bi->untyped.start + i, seL4_ARM_SmallPageObject, pages, "device frames");
    if (!f) return 0;
    seL4_Word va = dev_next_vaddr;
    for (uint32_t k = 0; k < pages; k++) {
      seL4_Error err = seL4_ARM_Page_Map(f + k, seL4_CapInitThreadVSpace, va + ((seL4_Word)k << 12), seL4_ReadWrite,
                                         seL4_ARM_ExecuteNever);
      if (err != seL4_NoError) {
        diag_error("device Page_Map", err);
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

uint8_t* coh_sel4_dma_frame(uint64_t* paddr) {
  const seL4_BootInfo* bi = bootinfo;
  seL4_Word n = bi->untyped.end - bi->untyped.start;
  seL4_Word va = ARENA_VADDR + COH_ARENA_BYTES; /* just above the arena, still in the first GiB */
  /* From the end of the list: the arena took its frames from the front. */
  for (seL4_Word k = n; k > 0; k--) {
    seL4_Word i = k - 1;
    const seL4_UntypedDesc* d = &bi->untypedList[i];
    if (d->isDevice || d->sizeBits <= LARGE_BITS || i >= CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS) continue;
    seL4_CPtr f = retype(bi->untyped.start + i, seL4_ARM_LargePageObject, 1, "DMA frame");
    if (!f) return 0;
    seL4_Error err = seL4_ARM_Page_Map(f, seL4_CapInitThreadVSpace, va, seL4_ReadWrite, seL4_ARM_Default_VMAttributes);
    seL4_ARM_Page_GetAddress_t a = seL4_ARM_Page_GetAddress(f);
    if (err != seL4_NoError || a.error != seL4_NoError) {
      diag_error("DMA frame map", err != seL4_NoError ? err : (seL4_Error)a.error);
      return 0;
    }
    *paddr = a.paddr;
    return (uint8_t*)va;
  }
  coh_diag_str("cohesix: no untyped memory for the NIC's DMA frame\n");
  return 0;
}

void coh_net_idle(void) { seL4_Yield(); }

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
  coh_net_boot();
  coh_plat_exit(coh_guest_run());
}
