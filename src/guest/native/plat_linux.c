/* Cohesix guest native platform for Linux user mode (the qemu-aarch64 test ELF): the same guest
 * runtime as the seL4 root task, with output on stdout, diagnostics on stderr, serial input on
 * stdin, and raw syscalls only: read, write, ppoll, clock_gettime, exit_group. */
#include <stdint.h>
#include "platform.h"

static long syscall3(long nr, long a, long b, long c) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}
#define SYS_READ 63
#define SYS_WRITE 64
#define SYS_PPOLL 73
#define SYS_EXIT_GROUP 94
#define SYS_CLOCK_GETTIME 113

static void write_all(int fd, const char* p, unsigned long n) {
  while (n > 0) {
    long w = syscall3(SYS_WRITE, fd, (long)p, (long)n);
    if (w <= 0) return;
    p += w;
    n -= (unsigned long)w;
  }
}

static char out_buf[8192];
static unsigned out_len;
/* --serial-only: stdout carries only the serial console (what cohsh --serial-cmd talks to); the
 * guest's other lines (banner, replay transcript) go to stderr. */
static int serial_only;

void coh_plat_flush(void) {
  write_all(1, out_buf, out_len);
  out_len = 0;
}
void coh_plat_serial_write(int c) {
  if (out_len == sizeof out_buf) coh_plat_flush();
  out_buf[out_len++] = (char)c;
}
void coh_plat_putc(int c) {
  if (serial_only) {
    char b = (char)c;
    write_all(2, &b, 1);
    return;
  }
  coh_plat_serial_write(c);
}
void coh_plat_diag(int c) {
  char b = (char)c;
  write_all(2, &b, 1);
}
__attribute__((noreturn)) void coh_plat_exit(int code) {
  coh_plat_flush();
  for (;;) syscall3(SYS_EXIT_GROUP, code, 0, 0);
}

struct timespec64 { long sec; long nsec; };
struct pollfd64 { int fd; short events; short revents; };

static long syscall5(long nr, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}

static uint64_t start_ms, epoch_ms;
static int stdin_done;

static uint64_t clock_ms(long clock) {
  struct timespec64 ts = {0, 0};
  syscall3(SYS_CLOCK_GETTIME, clock, (long)&ts, 0);
  return (uint64_t)ts.sec * 1000u + (uint64_t)ts.nsec / 1000000u;
}
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1

/* Like the hosted runtime and the seL4 root task: wall time once, then a monotonic clock. */
uint64_t coh_plat_now_ms(void) { return epoch_ms + clock_ms(CLOCK_MONOTONIC) - start_ms; }

uint32_t coh_plat_serial_read(uint8_t* buf, uint32_t cap, uint64_t until_ms, int* eof) {
  *eof = stdin_done;
  if (stdin_done || cap == 0) return 0;
  uint64_t now = coh_plat_now_ms();
  uint64_t wait_ms = until_ms > now ? until_ms - now : 0;
  struct pollfd64 p = {0, 1 /* POLLIN */, 0};
  struct timespec64 t = {(long)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000L};
  long r = syscall5(SYS_PPOLL, (long)&p, 1, (long)&t, 0);
  if (r <= 0) return 0;
  long n = syscall3(SYS_READ, 0, (long)buf, cap);
  if (n <= 0) {
    stdin_done = 1;
    *eof = 1;
    return 0;
  }
  return (uint32_t)n;
}

static uint8_t arena[COH_ARENA_BYTES] __attribute__((aligned(65536)));
uint8_t* coh_plat_arena(uint64_t* bytes) {
  *bytes = sizeof arena;
  return arena;
}

/* A zeroed thread block for TPIDR_EL0: libc's thread-local errno lands here (single thread). */
static uint8_t tls_block[4096] __attribute__((aligned(64)));

static int same(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

/* sp: the initial process stack, argc then argv[]. */
__attribute__((noreturn, used)) void coh_linux_main(const long* sp) {
  __asm__ volatile("msr tpidr_el0, %0" ::"r"(tls_block));
  long argc = sp[0];
  const char* const* argv = (const char* const*)(sp + 1);
  for (long i = 1; i < argc; i++) {
    if (same(argv[i], "--serial-only")) serial_only = 1;
    else {
      const char* msg = "usage: guest-linux.elf [--serial-only]\n";
      unsigned n = 0;
      while (msg[n]) n++;
      write_all(2, msg, n);
      coh_plat_exit(2);
    }
  }
  start_ms = clock_ms(CLOCK_MONOTONIC);
  epoch_ms = clock_ms(CLOCK_REALTIME);
  coh_plat_exit(coh_guest_run());
}

/* Linux enters with sp valid and 16-byte aligned. */
__asm__(".section .text.coh_start,\"ax\"\n"
        ".global _start\n"
        "_start:\n"
        "  mov x0, sp\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  b coh_linux_main\n");
