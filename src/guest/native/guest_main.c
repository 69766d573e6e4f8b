/* Cohesix guest native main: instantiates the wasm2c-translated Porffor module, implements its
 * two imports (print a JS number, print one UTF-16 code unit), watches the output for "@mark"
 * lines to sample the arena, and reports traps with the stage they happened in.
 * Build-time macros (set by `cohesix guest build`):
 *   COH_MODULE_H         the wasm2c header, e.g. "guest.h"
 *   COH_ARENA_PTR_FIELD  the instance field holding Porffor's allocator bump pointer, e.g. w2c_g0 */
#include <stdint.h>
#include <string.h>
#include "wasm-rt.h"
#include COH_MODULE_H
#include "platform.h"
#include "net/net_bridge.h"

struct w2c_ { int unused; };

const char* coh_stage = "boot";
static w2c_guest instance;
static struct w2c_ imports;

uint64_t coh_arena_used(void) { return instance.COH_ARENA_PTR_FIELD; }

/* ---- output helpers ---------------------------------------------------------------------- */

static void put_u64(void (*put)(int), uint64_t v) {
  char d[24];
  int n = 0;
  do { d[n++] = (char)('0' + v % 10); v /= 10; } while (v != 0);
  while (n > 0) put(d[--n]);
}
void coh_diag_str(const char* s) { while (*s) coh_plat_diag((unsigned char)*s++); }
void coh_diag_u64(uint64_t v) { put_u64(coh_plat_diag, v); }
void coh_out_str(const char* s) { while (*s) coh_plat_putc((unsigned char)*s++); }
void coh_out_u64(uint64_t v) { put_u64(coh_plat_putc, v); }

/* ---- arena marks ------------------------------------------------------------------------- */

#define MAX_MARKS 16
static uint64_t mark_used[MAX_MARKS], mark_pages[MAX_MARKS];
static int marks;
static char line[8];
static int line_len; /* -1 once the current line is longer than `line` */

/* One "arena: mark N used=… pages=…" line on the diagnostics channel, as the mark happens (a guest
 * that ends in the event pump never reaches the end report). On seL4 it lands between transcript
 * lines; the host drops "arena: " lines when it extracts the transcript. */
static void report_mark(int i) {
  coh_plat_flush();
  coh_diag_str("arena: mark ");
  coh_diag_u64((uint64_t)i);
  coh_diag_str(" used=");
  coh_diag_u64(mark_used[i]);
  coh_diag_str(" pages=");
  coh_diag_u64(mark_pages[i]);
  coh_diag_str("\n");
}

static void watch(int c) {
  if (c == '\n') {
    if (line_len == 5 && memcmp(line, "@mark", 5) == 0 && marks < MAX_MARKS) {
      mark_used[marks] = coh_arena_used();
      mark_pages[marks] = coh_arena_pages();
      marks++;
      report_mark(marks - 1);
    }
    line_len = 0;
  } else if (line_len >= 0) {
    if (line_len < (int)sizeof line) line[line_len++] = (char)c;
    else line_len = -1;
  }
}

/* ---- event pump mailbox (see pump.ts for the layout) --------------------------------------- */

#define MB_SIG 32
#define MB_ACK 32
#define MB_EOF 33
#define MB_TX_LEN 36
#define MB_RX_LEN 40
#define MB_NOW_LO 44
#define MB_NOW_HI 48
#define MB_RX_KEEP 52
#define MB_WAKE_LO 56
#define MB_WAKE_HI 60
#define MB_TX 64
#define TX_CAP 4096
#define MB_RX (MB_TX + TX_CAP)
#define RX_CAP 1024
/* The network area (net/net_bridge.h) follows at NET_AREA. */
#define MB_BYTES (NET_AREA + NET_AREA_BYTES)
static uint8_t* mailbox;

static uint32_t get_u32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void put_u32(uint8_t* p, uint32_t v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }

uint8_t* coh_find_signature(const uint8_t* sig, uint32_t sig_len, uint64_t bytes, const char* what) {
  uint8_t* base = coh_arena_base();
  uint64_t end = coh_arena_used();
  uint8_t* found = 0;
  if (!base || end > coh_arena_capacity()) coh_trap("mailbox search: no arena");
  for (uint64_t at = 0; at + bytes <= end; at++) {
    if (base[at] == sig[0] && memcmp(base + at, sig, sig_len) == 0) {
      if (found) {
        coh_diag_str("cohesix: two signatures of the ");
        coh_diag_str(what);
        coh_diag_str(" mailbox\n");
        coh_trap("mailbox search: two signatures in the arena");
      }
      found = base + at;
    }
  }
  if (!found) {
    coh_diag_str("cohesix: no signature of the ");
    coh_diag_str(what);
    coh_diag_str(" mailbox\n");
    coh_trap("mailbox search: no signature in the arena");
  }
  return found;
}

/* One round of the event pump, when the guest printed the poll line. */
static void poll(void) {
  if (!mailbox) {
    uint8_t sig[MB_SIG];
    for (int i = 0; i < MB_SIG; i++) sig[i] = (uint8_t)((i * 73 + 41) % 256);
    mailbox = coh_find_signature(sig, MB_SIG, MB_BYTES, "event pump");
  }
  uint8_t* mb = mailbox;
  mb[MB_ACK] = 1;
  uint32_t tx = get_u32(mb + MB_TX_LEN), keep = get_u32(mb + MB_RX_KEEP);
  if (tx > TX_CAP || keep > RX_CAP) coh_trap("event pump: mailbox lengths out of range");
  coh_net_round(mb + NET_AREA);
  for (uint32_t i = 0; i < tx; i++) coh_plat_serial_write(mb[MB_TX + i]);
  coh_plat_flush();
  int eof = 0;
  /* An idle guest (no output, no kept input, no network work) sleeps until input, a network event
   * or its next tick (wake). */
  int busy = tx > 0 || keep > 0 || coh_net_guest_busy();
  uint64_t wake = get_u32(mb + MB_WAKE_LO) | (uint64_t)get_u32(mb + MB_WAKE_HI) << 32;
  uint32_t got = coh_plat_serial_read(mb + MB_RX + keep, RX_CAP - keep, busy ? 0 : wake, &eof);
  if (busy) coh_net_service();
  put_u32(mb + MB_RX_LEN, keep + got);
  mb[MB_EOF] = eof ? 1 : 0;
  uint64_t now = coh_plat_now_ms();
  put_u32(mb + MB_NOW_LO, (uint32_t)now);
  put_u32(mb + MB_NOW_HI, (uint32_t)(now >> 32));
}

/* Platforms without a network (the Linux test ELF): the network area stays zero, state "none". */
__attribute__((weak)) void coh_net_boot(void) {}
__attribute__((weak)) void coh_net_round(uint8_t* area) { (void)area; }
__attribute__((weak)) int coh_net_service(void) { return 0; }
__attribute__((weak)) int coh_net_guest_busy(void) { return 0; }

/* A guest line starting with \001 is a platform request, swallowed, never sent to the serial port:
 * "\001cohesix-poll" (a round of the event pump), "\001cohesix-verify" (a ticket seal check) or
 * "\001cohesix-verupd" (an update manifest signature check). */
static int in_request;
static int at_line_start = 1;
static char request[24];
static int request_len;

static void serve_request(void) {
  if (request_len == 13 && memcmp(request, "\001cohesix-poll", 13) == 0) poll();
  else if (request_len == 15 && memcmp(request, "\001cohesix-verify", 15) == 0) coh_verify_request();
  else if (request_len == 15 && memcmp(request, "\001cohesix-verupd", 15) == 0) coh_update_verify_request();
  else coh_trap("platform request: unknown request line");
}

static void out_byte(int c) {
  if (at_line_start && c == 1) {
    in_request = 1;
    request_len = 0;
  }
  at_line_start = c == '\n';
  if (in_request) {
    if (c == '\n') {
      in_request = 0;
      serve_request();
    } else if (request_len < (int)sizeof request) {
      request[request_len++] = (char)c;
    }
    return;
  }
  coh_plat_putc(c);
  watch(c);
}

/* ---- Porffor imports --------------------------------------------------------------------- */

static void out_utf8(uint32_t cp) {
  if (cp < 0x80) out_byte((int)cp);
  else if (cp < 0x800) { out_byte(0xc0 + (int)(cp >> 6)); out_byte(0x80 + (int)(cp & 63)); }
  else if (cp < 0x10000) {
    out_byte(0xe0 + (int)(cp >> 12)); out_byte(0x80 + (int)((cp >> 6) & 63)); out_byte(0x80 + (int)(cp & 63));
  } else {
    out_byte(0xf0 + (int)(cp >> 18)); out_byte(0x80 + (int)((cp >> 12) & 63));
    out_byte(0x80 + (int)((cp >> 6) & 63)); out_byte(0x80 + (int)(cp & 63));
  }
}

static uint32_t high_surrogate;

/* import "b": one UTF-16 code unit of a printed string, sent as UTF-8. */
void w2c__b(struct w2c_* env, f64 unit) {
  (void)env;
  uint32_t u = (uint32_t)unit & 0xffff;
  if (u >= 0xd800 && u < 0xdc00) { high_surrogate = u; return; }
  if (u >= 0xdc00 && u < 0xe000 && high_surrogate) {
    out_utf8(0x10000 + ((high_surrogate - 0xd800) << 10) + (u - 0xdc00));
  } else out_utf8(u);
  high_surrogate = 0;
}

/* import "a": a printed JS number. Integers print exactly; other finite values print with up to
 * 17 significant digits, trimmed, in plain decimal (the guest prints numbers through its own byte
 * writers, so this path only serves diagnostics). */
void w2c__a(struct w2c_* env, f64 x) {
  (void)env;
  if (x != x) { coh_out_str("NaN"); return; }
  if (x < 0) { out_byte('-'); x = -x; }
  if (x > 1.7976931348623157e308) { coh_out_str("Infinity"); return; }
  if (x < 9007199254740992.0 && x == (f64)(uint64_t)x) {
    uint64_t v = (uint64_t)x;
    char d[24]; int n = 0;
    do { d[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n > 0) out_byte(d[--n]);
    return;
  }
  if (x >= 9007199254740992.0) {
    /* Large integers: scale to 17 digits and an exponent. */
    int e = 0;
    while (x >= 1e17) { x /= 10; e++; }
    uint64_t v = (uint64_t)x;
    char d[24]; int n = 0;
    do { d[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n > 0) out_byte(d[--n]);
    if (e) { out_byte('e'); out_byte('+'); coh_out_u64((uint64_t)e); }
    return;
  }
  uint64_t ip = (uint64_t)x;
  f64 frac = x - (f64)ip;
  coh_out_u64(ip);
  out_byte('.');
  char d[17]; int n = 0;
  for (int i = 0; i < 17 && (n == 0 || frac > 0); i++) {
    frac *= 10;
    int digit = (int)frac;
    d[n++] = (char)('0' + digit);
    frac -= digit;
  }
  while (n > 1 && d[n - 1] == '0') n--;
  for (int i = 0; i < n; i++) out_byte(d[i]);
}

/* ---- run --------------------------------------------------------------------------------- */

__attribute__((noreturn)) void coh_trap(const char* reason) {
  coh_plat_flush();
  coh_diag_str("\n*** cohesix guest trap: stage=");
  coh_diag_str(coh_stage);
  coh_diag_str(" reason=");
  coh_diag_str(reason);
  coh_diag_str(" arena_used=");
  coh_diag_u64(coh_arena_used());
  coh_diag_str("\n");
  coh_plat_flush();
  coh_plat_exit(3);
}

static void report_arena(void) {
  coh_diag_str("arena: end used=");
  coh_diag_u64(coh_arena_used());
  coh_diag_str(" pages=");
  coh_diag_u64(coh_arena_pages());
  coh_diag_str(" capacity=");
  coh_diag_u64(coh_arena_capacity());
  coh_diag_str("\n");
}

int coh_guest_run(void) {
  coh_stage = "boot";
  wasm_rt_init();
  wasm2c_guest_instantiate(&instance, &imports);
  coh_stage = "run";
  w2c_guest_m(&instance);
  coh_stage = "done";
  coh_plat_flush();
  report_arena();
  coh_plat_flush();
  return 0;
}
