/* The root task's event loop on seL4: one notification, one badge bit per interrupt source (see
 * sel4_plat.h for the contract). The IRQ handler caps come from seL4_CapIRQControl, which the
 * kernel hands the root task in its initial CSpace. */
#include "sel4_plat.h"
#include "platform.h"

#define MAX_SOURCES 8

typedef struct {
  seL4_CPtr handler; /* IRQHandler cap; 0: free */
  coh_irq_fn fn;
  uint64_t count;
} source_t;

static seL4_CPtr ntfn;
static source_t sources[MAX_SOURCES];

int coh_events_init(void) {
  ntfn = coh_sel4_alloc(seL4_NotificationObject, 0, 1, "event notification");
  return ntfn ? 0 : -1;
}

int coh_events_add_irq(seL4_Word irq, int edge, coh_irq_fn fn, const char* name) {
  int bit = 0;
  while (bit < MAX_SOURCES && sources[bit].handler) bit++;
  if (!ntfn || bit == MAX_SOURCES) {
    coh_diag_str("cohesix: no event slot for ");
    coh_diag_str(name);
    coh_diag_str("\n");
    return -1;
  }
  seL4_CPtr handler = coh_sel4_slot(name);
  seL4_CPtr badged = coh_sel4_slot(name);
  if (!handler || !badged) return -1;
  seL4_Error err = seL4_IRQControl_GetTrigger(seL4_CapIRQControl, irq, edge ? 1 : 0, seL4_CapInitThreadCNode, handler,
                                              seL4_WordBits);
  if (err == seL4_NoError) {
    err = seL4_CNode_Mint(seL4_CapInitThreadCNode, badged, seL4_WordBits, seL4_CapInitThreadCNode, ntfn, seL4_WordBits,
                          seL4_AllRights, (seL4_Word)1 << bit);
  }
  if (err == seL4_NoError) err = seL4_IRQHandler_SetNotification(handler, badged);
  /* The line starts masked at the GIC until the first ack. */
  if (err == seL4_NoError) err = seL4_IRQHandler_Ack(handler);
  if (err != seL4_NoError) {
    coh_sel4_error(name, err);
    return -1;
  }
  sources[bit].handler = handler;
  sources[bit].fn = fn;
  coh_diag_str("cohesix: irq ");
  coh_diag_u64(irq);
  coh_diag_str(" (");
  coh_diag_str(name);
  coh_diag_str(") -> notification bit ");
  coh_diag_u64((uint64_t)bit);
  coh_diag_str("\n");
  return bit;
}

seL4_Word coh_events_wait(void) {
  seL4_Word badge = 0;
  seL4_Wait(ntfn, &badge);
  for (int bit = 0; bit < MAX_SOURCES; bit++) {
    if (!(badge & ((seL4_Word)1 << bit)) || !sources[bit].handler) continue;
    sources[bit].count++;
    if (sources[bit].fn) sources[bit].fn();
    seL4_IRQHandler_Ack(sources[bit].handler);
  }
  return badge;
}

uint64_t coh_events_count(int bit) { return bit >= 0 && bit < MAX_SOURCES ? sources[bit].count : 0; }
