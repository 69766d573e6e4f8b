/* Cohesix guest native runtime: the part of the wasm2c runtime contract (wasm-rt.h) that a
 * Porffor module needs, written for a single-threaded, syscall-free guest.
 * - Linear memory lives in one arena of COH_ARENA_BYTES that the platform provides (coh_plat_arena:
 *   static .bss on Linux, frames retyped from untyped memory on seL4); memory.grow fails once it is full.
 * - Function tables live in a static pool; nothing is ever freed back to an allocator.
 * - Every trap goes to coh_trap() with wabt's trap reason, so a fault prints a report, never hangs.
 * Build with -DWASM_RT_USE_MMAP=0 -DWASM_RT_MEMCHECK_BOUNDS_CHECK=1 (explicit bounds checks). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "wasm-rt.h"
#include "platform.h"

#ifndef COH_TABLE_SLOTS
#define COH_TABLE_SLOTS 8192u
#endif

static uint8_t* arena;
static uint64_t arena_bytes;
static bool arena_taken;
static wasm_rt_memory_t* arena_memory;
static wasm_rt_funcref_t table_pool[COH_TABLE_SLOTS];
static uint32_t table_used;
static bool rt_ready;

#if WASM_RT_STACK_DEPTH_COUNT
WASM_RT_THREAD_LOCAL uint32_t wasm_rt_call_stack_depth;
#endif

void wasm_rt_init(void) { rt_ready = true; }
bool wasm_rt_is_initialized(void) { return rt_ready; }
void wasm_rt_free(void) { rt_ready = false; }

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return "no trap";
    case WASM_RT_TRAP_OOB: return "linear memory or table access out of bounds (or stack exhausted)";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow in division or truncation";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer division by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "NaN converted to an integer";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable executed (a JavaScript throw, or a Porffor internal error)";
    case WASM_RT_TRAP_CALL_INDIRECT: return "bad indirect call";
    case WASM_RT_TRAP_NULL_REF: return "null reference";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught exception";
    case WASM_RT_TRAP_UNALIGNED: return "unaligned atomic access";
    default: return "unknown trap";
  }
}

void wasm_rt_trap(wasm_rt_trap_t code) { coh_trap(wasm_rt_strerror(code)); }

void wasm_rt_allocate_memory(wasm_rt_memory_t* m, uint64_t initial_pages, uint64_t max_pages, bool is64,
                             uint32_t page_size) {
  uint64_t bytes = initial_pages * page_size;
  if (arena_taken) coh_trap("a second linear memory was requested (one arena only)");
  arena = coh_plat_arena(&arena_bytes);
  if (!arena) coh_trap("the platform has no memory for the Wasm arena");
  if (bytes > arena_bytes) coh_trap("initial linear memory is larger than the arena");
  arena_taken = true;
  arena_memory = m;
  m->data = arena;
  m->data_end = arena + bytes;
  m->page_size = page_size;
  m->pages = initial_pages;
  m->max_pages = max_pages;
  m->size = bytes;
  m->is64 = is64;
}

uint64_t wasm_rt_grow_memory(wasm_rt_memory_t* m, uint64_t delta) {
  uint64_t old = m->pages;
  uint64_t want = old + delta;
  if (want < old || want > m->max_pages || want * m->page_size > arena_bytes) return (uint64_t)-1;
  /* The arena starts zeroed (.bss, or frames fresh from seL4_Untyped_Retype) and memory never
   * shrinks, so new pages are already zero. */
  m->pages = want;
  m->size = want * m->page_size;
  m->data_end = m->data + m->size;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t* m) {
  m->data = m->data_end = NULL;
  m->pages = m->size = 0;
}

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* t, uint32_t elements, uint32_t max_elements) {
  if (elements > COH_TABLE_SLOTS - table_used) coh_trap("function table larger than the static pool");
  t->data = table_pool + table_used;
  table_used += elements;
  t->size = elements;
  t->max_size = max_elements;
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* t) { t->data = NULL; t->size = 0; }

uint64_t coh_arena_pages(void) { return arena_memory ? arena_memory->pages : 0; }
uint64_t coh_arena_capacity(void) { return arena_bytes; }
uint8_t* coh_arena_base(void) { return arena; }
