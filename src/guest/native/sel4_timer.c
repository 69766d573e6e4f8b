/* The root task's clock and tick interrupt on seL4 (QEMU virt).
 *
 * Wall time is read from the PL031 RTC once at boot (whole seconds since the epoch); from then on
 * the ARM generic timer counts: CNTVCT_EL0 at CNTFRQ_EL0 Hz gives millisecond resolution, and the
 * EL1 physical timer (CNTP_TVAL_EL0 / CNTP_CTL_EL0, PPI INTID 30) is the one-shot tick interrupt
 * (the kernel's own preemption tick uses the virtual timer, INTID 27). EL0 may touch these only
 * when the kernel is configured with KernelArmExportVCNTUser and KernelArmExportPTMRUser, as the
 * Cohesix seL4 export is (images/sel4/kernel-settings.cmake). Built against an export without
 * them, the clock is the PL031's seconds and the tick is the PL031 match interrupt (SPI 2, INTID
 * 34): whole seconds, the behaviour before the generic timer. */
#include "sel4_plat.h"
#include "platform.h"

#define PL031_DR 0x00
#define PL031_MR 0x04
#define PL031_IMSC 0x10
#define PL031_ICR 0x1c

static volatile uint32_t* rtc;

#if defined(CONFIG_EXPORT_VCNT_USER) && defined(CONFIG_EXPORT_PTMR_USER)

#define TIMER_IRQ 30 /* non-secure EL1 physical timer PPI */
#define CNTP_CTL_ENABLE 1u
static uint64_t freq, count0;
static uint64_t epoch_ms; /* wall time at boot */

static uint64_t counter(void) {
  uint64_t v;
  __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
  return v;
}

static void timer_irq(void) { __asm__ volatile("msr cntp_ctl_el0, %0; isb" ::"r"((uint64_t)0)); }

void coh_timer_init(volatile uint32_t* pl031) {
  rtc = pl031;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
  count0 = counter();
  epoch_ms = rtc ? (uint64_t)rtc[PL031_DR / 4] * 1000u : 0;
  if (freq == 0) freq = 1; /* never divide by zero; a zero CNTFRQ is a broken machine */
  timer_irq();
  coh_events_add_irq(TIMER_IRQ, 0, timer_irq, "generic timer");
}

uint64_t coh_timer_now_ms(void) {
  uint64_t d = counter() - count0;
  return epoch_ms + d / freq * 1000u + d % freq * 1000u / freq;
}

void coh_timer_arm(uint64_t deadline_ms) {
  if (deadline_ms == 0) {
    timer_irq();
    return;
  }
  /* The counter value of the deadline, rounded up, relative to now: CNTP_TVAL is a signed 32-bit
   * down-count (about 34 s at 62.5 MHz), so far deadlines are clamped and the loop re-arms. */
  uint64_t ms = deadline_ms - epoch_ms;
  uint64_t due = count0 + ms / 1000u * freq + (ms % 1000u * freq + 999u) / 1000u;
  uint64_t now = counter();
  uint64_t ticks = due > now ? due - now : 1;
  if (ticks > 0x7fffffffu) ticks = 0x7fffffffu;
  __asm__ volatile("msr cntp_tval_el0, %0; msr cntp_ctl_el0, %1; isb" ::"r"(ticks), "r"((uint64_t)CNTP_CTL_ENABLE));
}

const char* coh_timer_kind(void) { return "generic timer (CNTVCT_EL0, CNTP irq 30)"; }

#else

#define TIMER_IRQ 34 /* PL031 (SPI 2) */

static void timer_irq(void) {
  if (!rtc) return;
  rtc[PL031_IMSC / 4] = 0;
  rtc[PL031_ICR / 4] = 1;
}

void coh_timer_init(volatile uint32_t* pl031) {
  rtc = pl031;
  if (rtc) {
    timer_irq();
    coh_events_add_irq(TIMER_IRQ, 0, timer_irq, "pl031 alarm");
  }
}

uint64_t coh_timer_now_ms(void) { return rtc ? (uint64_t)rtc[PL031_DR / 4] * 1000u : 0; }

void coh_timer_arm(uint64_t deadline_ms) {
  if (!rtc) return;
  if (deadline_ms == 0) {
    timer_irq();
    return;
  }
  uint32_t now = rtc[PL031_DR / 4];
  uint32_t at = (uint32_t)((deadline_ms + 999u) / 1000u);
  rtc[PL031_MR / 4] = at > now ? at : now + 1;
  rtc[PL031_IMSC / 4] = 1;
}

const char* coh_timer_kind(void) { return "pl031 seconds (this seL4 export gives EL0 no generic timer)"; }

#endif
