/* Internal interface of the seL4 platform layer (plat_sel4.c and the files beside it): cap slot and
 * kernel-object allocation from the bootinfo untypeds, and the event loop every driver hooks into. */
#ifndef COH_SEL4_PLAT_H
#define COH_SEL4_PLAT_H
#include <stdint.h>
#include <sel4/sel4.h>

/* ---- allocation (plat_sel4.c) ---- */
extern const seL4_BootInfo* coh_bootinfo;
/* The next empty slot of the root CNode; 0 when the bootinfo range is used up (reported). */
seL4_CPtr coh_sel4_slot(const char* what);
/* `count` objects of `type` (size_bits for variable-size objects, else 0) retyped from the first
 * non-device untyped with room, in consecutive slots; returns the first slot or 0 (reported). */
seL4_CPtr coh_sel4_alloc(seL4_Word type, seL4_Word size_bits, seL4_Word count, const char* what);
/* "cohesix: <what> failed, seL4 error <n>" on the diagnostics channel. */
void coh_sel4_error(const char* what, seL4_Error err);

/* Maps a normal-memory 4 KiB `frame` read-write, never executable, at the next free address of the
 * device page table (one-shot: the address is not reused); NULL when there is no device table. */
uint8_t* coh_sel4_map_scratch(seL4_CPtr frame);

/* ---- the second component (sel4_worker.c) ---- */
/* Starts worker 1 in its own CSpace and VSpace and does the boot's PING 1 / PONG 1 with it. */
void coh_worker_boot(void);

/* ---- event loop (sel4_events.c) ----
 * The root task blocks in seL4_Wait on ONE notification. Every interrupt source is an IRQ handler
 * cap bound to that notification through its own badged copy (one badge bit per source), so one
 * seL4_Wait returns the set of sources that fired; the loop calls each source's handler, then acks
 * its IRQ handler cap (the kernel keeps the line masked until then, so a level interrupt that is
 * still asserted after the handler simply fires again). Adding a device (the UART RX and the tick
 * timer today; a virtio-net queue next) is one coh_events_add_irq call at init with a handler that
 * quiets the device; no change to the loop. */
typedef void (*coh_irq_fn)(void);
/* Creates the notification; 0 on success. */
int coh_events_init(void);
/* Binds interrupt `irq` (GIC INTID; edge = 1 for edge-triggered) to the notification under the
 * next free badge bit and enables it; returns the bit (>= 0) or -1 (reported). */
int coh_events_add_irq(seL4_Word irq, int edge, coh_irq_fn handler, const char* name);
/* Blocks until at least one source fires, runs the handlers of those that did and acks them;
 * returns the badge bits. */
seL4_Word coh_events_wait(void);
/* Interrupts taken per source since boot (diagnostics). */
uint64_t coh_events_count(int bit);

/* ---- the clock and the tick timer (sel4_timer.c) ---- */
/* Reads the wall clock from the PL031 once and starts the millisecond clock; binds the timer IRQ.
 * `pl031` is the mapped RTC (NULL: the clock starts at 0). */
void coh_timer_init(volatile uint32_t* pl031);
/* Unix milliseconds: the PL031's wall time at boot plus the time since boot. */
uint64_t coh_timer_now_ms(void);
/* Arms the one-shot tick interrupt for `deadline_ms` (coh_timer_now_ms units); it fires at or after
 * it. 0 disarms. */
void coh_timer_arm(uint64_t deadline_ms);
/* Which clock drives the tick, for the boot log. */
const char* coh_timer_kind(void);
#endif
