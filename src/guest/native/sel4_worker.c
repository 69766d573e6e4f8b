/* The root task's second component (Milestone 1): worker 1, an seL4 thread in its own CSpace and
 * VSpace, built from untyped memory at boot, and one IPC ping-pong with it, logged as `PING 1` /
 * `PONG 1` once per boot. Its program is sel4_worker_code.S, copied into a fresh frame that only
 * the worker maps (read + execute); its CSpace holds one cap, the endpoint, with the receive right
 * only. After the ping-pong the root task times IPC_ROUNDS more round trips (the cost a heartbeat
 * worker in its own process would pay per message) and leaves the worker waiting on the endpoint. */
#include "sel4_plat.h"
#include "platform.h"

extern const uint8_t coh_worker_code[], coh_worker_code_end[];

#define WORKER_CNODE_BITS 4 /* 16 slots; slot 1 holds the endpoint */
#define WORKER_EP_SLOT 1
#define WORKER_CODE_VADDR 0x400000ul
#define WORKER_PRIORITY 255 /* the root task's: both IPC directions take the kernel's fastpath */
#define LABEL_PING 0x50494e47u
#define LABEL_PONG 0x504f4e47u
#define IPC_ROUNDS 1000u

static uint64_t untyped_bytes; /* kernel memory the worker costs, for the boot log */

static seL4_CPtr alloc(seL4_Word type, seL4_Word size_bits, seL4_Word bits, const char* what) {
  seL4_CPtr cap = coh_sel4_alloc(type, size_bits, 1, what);
  if (cap) untyped_bytes += (uint64_t)1 << bits;
  return cap;
}

static int check(seL4_Error err, const char* what) {
  if (err != seL4_NoError) coh_sel4_error(what, err);
  return err == seL4_NoError;
}

/* Maps `frame` at `vaddr` in `vspace`, adding the page tables the walk lacks (at most three). */
static int map_page(seL4_CPtr frame, seL4_CPtr vspace, seL4_Word vaddr, seL4_CapRights_t rights) {
  for (int tables = 0;; tables++) {
    seL4_Error err = seL4_ARM_Page_Map(frame, vspace, vaddr, rights, seL4_ARM_Default_VMAttributes);
    if (err != seL4_FailedLookup || tables == 3) return check(err, "worker Page_Map");
    seL4_CPtr pt = alloc(seL4_ARM_PageTableObject, 0, seL4_PageTableBits, "worker page table");
    if (!pt || !check(seL4_ARM_PageTable_Map(pt, vspace, vaddr, seL4_ARM_Default_VMAttributes), "worker PageTable_Map")) {
      return 0;
    }
  }
}

/* The worker's program in a frame of its own: written through a scratch mapping in the root task,
 * unmapped there, mapped read-only into the worker, then the instruction cache made coherent. */
static int load_program(seL4_CPtr vspace) {
  seL4_CPtr frame = alloc(seL4_ARM_SmallPageObject, 0, seL4_PageBits, "worker code frame");
  uint8_t* scratch = frame ? coh_sel4_map_scratch(frame) : 0;
  if (!scratch) return 0;
  uint64_t n = (uint64_t)(coh_worker_code_end - coh_worker_code);
  for (uint64_t i = 0; i < n; i++) scratch[i] = coh_worker_code[i];
  return check(seL4_ARM_Page_Unmap(frame), "worker code Unmap") &&
         map_page(frame, vspace, WORKER_CODE_VADDR, seL4_CanRead) &&
         check(seL4_ARM_Page_Unify_Instruction(frame, 0, n), "worker code Unify_Instruction");
}

/* Builds and starts worker 1; returns the root task's endpoint cap to it, or 0 (reported). */
static seL4_CPtr start_worker(void) {
  seL4_CPtr ep = alloc(seL4_EndpointObject, 0, seL4_EndpointBits, "worker endpoint");
  seL4_CPtr cnode = alloc(seL4_CapTableObject, WORKER_CNODE_BITS, seL4_SlotBits + WORKER_CNODE_BITS, "worker cnode");
  seL4_CPtr vspace = alloc(seL4_ARM_VSpaceObject, 0, seL4_VSpaceBits, "worker vspace");
  seL4_CPtr tcb = alloc(seL4_TCBObject, 0, seL4_TCBBits, "worker tcb");
  if (!ep || !cnode || !vspace || !tcb) return 0;
  if (!check(seL4_CNode_Copy(cnode, WORKER_EP_SLOT, WORKER_CNODE_BITS, seL4_CapInitThreadCNode, ep, seL4_WordBits,
                             seL4_CanRead),
             "worker endpoint Copy") ||
      !check(seL4_ARM_ASIDPool_Assign(seL4_CapInitThreadASIDPool, vspace), "worker ASIDPool_Assign") ||
      !load_program(vspace)) {
    return 0;
  }
  /* A guard of the remaining bits makes a whole 64-bit CPtr resolve in the 16-slot CNode. */
  seL4_Word guard = seL4_CNode_CapData_new(0, seL4_WordBits - WORKER_CNODE_BITS).words[0];
  seL4_UserContext regs = {0};
  regs.pc = WORKER_CODE_VADDR;
  if (!check(seL4_TCB_Configure(tcb, seL4_CapNull, cnode, guard, vspace, 0, 0, seL4_CapNull), "worker TCB_Configure") ||
      !check(seL4_TCB_SetPriority(tcb, seL4_CapInitThreadTCB, WORKER_PRIORITY), "worker TCB_SetPriority") ||
      !check(seL4_TCB_WriteRegisters(tcb, 1, 0, sizeof(regs) / sizeof(seL4_Word), &regs), "worker TCB_WriteRegisters")) {
    return 0;
  }
  return ep;
}

/* One call: PING n; 1 when the answer is PONG n. */
static int ping(seL4_CPtr ep, seL4_Word n) {
  seL4_SetMR(0, n);
  seL4_MessageInfo_t reply = seL4_Call(ep, seL4_MessageInfo_new(LABEL_PING, 0, 0, 1));
  return seL4_MessageInfo_get_label(reply) == LABEL_PONG && seL4_MessageInfo_get_length(reply) == 1 &&
         seL4_GetMR(0) == n;
}

#if defined(CONFIG_EXPORT_VCNT_USER)
/* The generic timer at EL0 (a kernel built with KernelArmExportVCNTUser; elsewhere reading it traps). */
static uint64_t counter(void) {
  uint64_t v;
  __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
  return v;
}

static uint64_t counter_hz(void) {
  uint64_t f;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
  return f;
}
#else
static uint64_t counter(void) { return 0; }
static uint64_t counter_hz(void) { return 0; }
#endif

void coh_worker_boot(void) {
  seL4_CPtr ep = start_worker();
  if (!ep) {
    coh_diag_str("cohesix: worker 1 not started\n");
    return;
  }
  coh_diag_str("PING 1\n");
  if (!ping(ep, 1)) {
    coh_diag_str("cohesix: worker 1 did not answer PONG 1\n");
    return;
  }
  coh_diag_str("PONG 1\n");
  uint64_t freq = counter_hz();
  uint64_t t0 = counter();
  seL4_Word ok = 0;
  for (seL4_Word n = 2; n < 2 + IPC_ROUNDS; n++) ok += (seL4_Word)ping(ep, n);
  uint64_t ticks = counter() - t0;
  coh_diag_str("cohesix: worker 1 in its own cspace and vspace, ");
  coh_diag_u64(untyped_bytes);
  coh_diag_str(" bytes of untyped; ");
  coh_diag_u64(ok);
  coh_diag_str("/");
  coh_diag_u64(IPC_ROUNDS);
  if (freq) {
    coh_diag_str(" round trips, ");
    coh_diag_u64(ticks * 1000000000u / freq / IPC_ROUNDS);
    coh_diag_str(" ns each\n");
  } else coh_diag_str(" round trips (untimed: no EL0 generic timer in this seL4 export)\n");
}
