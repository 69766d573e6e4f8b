/* Hooks libc would otherwise pull from stdio, signals or an OS: every failure is a guest trap. */
#include "platform.h"

__attribute__((noreturn)) void abort(void) { coh_trap("abort called"); }
__attribute__((noreturn)) void _exit(int code) { coh_plat_exit(code); }
__attribute__((noreturn)) void __assert_func(const char* file, int line, const char* fn, const char* expr) {
  (void)file; (void)line; (void)fn; (void)expr;
  coh_trap("assertion failed in the translated module");
}
