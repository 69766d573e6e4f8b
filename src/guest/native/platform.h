/* Cohesix guest native platform: what a platform (Linux user mode for tests, the seL4 root task)
 * provides to the shared guest runtime, and what the runtime offers back. */
#ifndef COH_PLATFORM_H
#define COH_PLATFORM_H
#include <stdint.h>

#ifndef COH_ARENA_BYTES
#define COH_ARENA_BYTES (32ull << 20)
#endif

/* --- provided by the platform (plat_linux.c, plat_sel4.c) --- */
/* One byte of guest output (the transcript / console serial). */
void coh_plat_putc(int c);
/* One byte of serial console output from the event pump (the console the operator talks to). */
void coh_plat_serial_write(int c);
/* One byte of diagnostics (arena report, trap report): stderr on Linux, the serial line on seL4. */
void coh_plat_diag(int c);
/* Flush buffered output. */
void coh_plat_flush(void);
/* The zeroed memory for the Wasm linear memory: sets *bytes (COH_ARENA_BYTES), returns the base
 * or NULL when the platform cannot provide it. Called once, at instantiation. */
uint8_t* coh_plat_arena(uint64_t* bytes);
/* Serial input for the event pump: waits for input until the clock reaches until_ms (0: do not
 * wait), copies what is there (at most cap bytes) and returns the count; sets *eof when the input
 * has ended for good. */
uint32_t coh_plat_serial_read(uint8_t* buf, uint32_t cap, uint64_t until_ms, int* eof);
/* Unix milliseconds (wall time read once at start, then a monotonic clock): the injected clock. */
uint64_t coh_plat_now_ms(void);
/* Stop for good with an exit code (Linux: exit_group; seL4: suspend the root thread). */
__attribute__((noreturn)) void coh_plat_exit(int code);

/* --- provided by the runtime (guest_main.c, runtime.c) --- */
/* Instantiates the Wasm guest and runs its main to completion; returns 0, or traps (does not return). */
int coh_guest_run(void);
/* Where the guest is: "boot" (instantiation), "run" (main), "done". Named in trap reports. */
extern const char* coh_stage;
/* Trap report on the diagnostics channel, then coh_plat_exit(3). */
__attribute__((noreturn)) void coh_trap(const char* reason);
/* Diagnostics helpers. */
void coh_diag_str(const char* s);
void coh_diag_u64(uint64_t v);
void coh_out_str(const char* s);
void coh_out_u64(uint64_t v);
/* The mailbox the guest marked with `sig` (sig_len bytes, a mailbox of `bytes`) in the arena; traps
 * naming `what` when there is none or more than one. */
uint8_t* coh_find_signature(const uint8_t* sig, uint32_t sig_len, uint64_t bytes, const char* what);
/* Answers the guest's ticket seal check (ticket_seal.c). */
void coh_verify_request(void);
/* Answers the guest's update manifest signature check (update_seal.c). */
void coh_update_verify_request(void);
/* Arena (Wasm linear memory) statistics. */
uint64_t coh_arena_used(void);     /* the guest allocator's bump pointer: bytes handed out so far */
uint64_t coh_arena_pages(void);    /* Wasm pages grown so far */
uint64_t coh_arena_capacity(void); /* bytes reserved for the linear memory */
uint8_t* coh_arena_base(void);      /* start of the linear memory (NULL before instantiation) */
#endif
