/* lwIP on the virtio-net driver, and the bridge between lwIP's TCP connections and the mailbox
 * slots the guest serves (see net_bridge.h for the slot protocol). Runs only inside a pump round:
 * coh_net_round applies what the guest did, coh_net_service moves frames and runs lwIP's timers.
 * NO_SYS lwIP, raw callback API; nothing here allocates after boot except lwIP's own static pools. */
#include <string.h>
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "net_bridge.h"
#include "net_plat.h"
#include "platform.h"
#include "virtio_net.h"

/* How long the first round waits for an address before the guest goes on (DHCP answers in
 * milliseconds under QEMU; a network that never answers must not keep the serial console down). */
#define ADDRESS_WAIT_MS 10000
/* Frames taken from the device per service call: a flood is worked off in bounded steps. */
#define RX_BUDGET 32

typedef struct {
  struct tcp_pcb* pcb; /* NULL once lwIP freed it (reset, error) */
  uint32_t rx_given;   /* RX length after our last append: what the guest consumed is acknowledged */
} slot_t;

static vnet* nic;            /* the started device (coh_net_attach_nic), or NULL */
static struct netif nif;
static uint8_t* area;        /* the mailbox's network area */
static int started;
static int changed;          /* a slot changed for the guest since the last service call */
static slot_t slots[NET_SLOTS];
static struct tcp_pcb* listeners[2];
static uint32_t rand_state;
static uint32_t accepted, resets;

static uint32_t get32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void put32(uint8_t* p, uint32_t v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
static uint8_t* slot_hdr(int i) { return area + NET_SLOT_HDR + i * NET_SLOT_HDR_BYTES; }
static uint8_t* slot_tx(int i) { return area + NET_DATA + i * NET_SLOT_BYTES; }
static uint8_t* slot_rx(int i) { return slot_tx(i) + NET_TX_CAP; }

void coh_net_attach_nic(vnet* d, uint32_t seed) {
  nic = d;
  rand_state = seed ^ 0x9e3779b9u;
  for (int i = 0; i < 6; i++) rand_state = rand_state * 33u + d->mac[i];
  if (rand_state == 0) rand_state = 1;
}

/* xorshift32: TCP initial sequence numbers and DHCP transaction ids (not a secret in QEMU's user
 * network, which is the only network this guest joins). */
uint32_t coh_net_rand(void) {
  uint32_t x = rand_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  rand_state = x;
  return x;
}

u32_t sys_now(void) { return (u32_t)coh_plat_now_ms(); }

/* ---- the netif -------------------------------------------------------------------------------- */

static err_t link_output(struct netif* n, struct pbuf* p) {
  (void)n;
  static uint8_t frame[VNET_MAX_FRAME];
  if (p->tot_len > sizeof frame) return ERR_IF;
  pbuf_copy_partial(p, frame, p->tot_len, 0);
  return vnet_send(nic, frame, p->tot_len) == 0 ? ERR_OK : ERR_MEM;
}

static err_t netif_setup(struct netif* n) {
  n->name[0] = 'v';
  n->name[1] = 'n';
  n->output = etharp_output;
  n->linkoutput = link_output;
  n->mtu = 1500;
  n->hwaddr_len = 6;
  memcpy(n->hwaddr, nic->mac, 6);
  n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  return ERR_OK;
}

/* One received frame into lwIP (copied into a pool pbuf; a full pool drops the frame). The device
 * hands over every frame on the wire (no VIRTIO_NET_F_CTRL_RX filter), and lwIP trusts its driver to
 * filter: unicast frames for another MAC stop here. */
static void deliver(void* ctx, const uint8_t* frame, uint32_t len) {
  (void)ctx;
  if (len < 14 || (!(frame[0] & 1) && memcmp(frame, nic->mac, 6) != 0)) {
    nic->rx_dropped++;
    return;
  }
  struct pbuf* p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
  if (!p) {
    nic->rx_dropped++;
    return;
  }
  pbuf_take(p, frame, (u16_t)len);
  if (nif.input(p, &nif) != ERR_OK) pbuf_free(p);
}

static void diag_ip(const uint8_t* a) {
  for (int i = 0; i < 4; i++) {
    if (i) coh_diag_str(".");
    coh_diag_u64(a[i]);
  }
}

static uint8_t prefix_of(uint32_t mask_be) {
  uint8_t n = 0;
  for (uint32_t m = lwip_ntohl(mask_be); m & 0x80000000u; m <<= 1) n++;
  return n;
}

static void publish_status(void) {
  if (!area) return;
  put32(area + NET_ST_ADDR, ip4_addr_get_u32(netif_ip4_addr(&nif)));
  area[NET_ST_PREFIX] = prefix_of(ip4_addr_get_u32(netif_ip4_netmask(&nif)));
  put32(area + NET_ST_GATEWAY, ip4_addr_get_u32(netif_ip4_gw(&nif)));
  if (nic) {
    put32(area + NET_ST_RX_FRAMES, nic->rx_frames);
    put32(area + NET_ST_RX_DROPPED, nic->rx_dropped);
    put32(area + NET_ST_TX_FRAMES, nic->tx_frames);
  }
  put32(area + NET_ST_ACCEPTED, accepted);
  put32(area + NET_ST_RESET, resets);
}

/* The address arrived (DHCP) or was set (static): the listeners already wait on any address. lwIP
 * reports the address before it sets the gateway, so the line is printed by the next service call. */
static int announce;
static void status_changed(struct netif* n) {
  if (ip4_addr_isany_val(*netif_ip4_addr(n)) || area[NET_ST_STATE] == NET_STATE_UP) return;
  area[NET_ST_STATE] = NET_STATE_UP;
  announce = 1;
}

static void announce_listening(void) {
  announce = 0;
  publish_status();
  uint8_t a[4], g[4];
  memcpy(a, area + NET_ST_ADDR, 4);
  memcpy(g, area + NET_ST_GATEWAY, 4);
  coh_diag_str("cohesix: net listening addr=");
  diag_ip(a);
  coh_diag_str("/");
  coh_diag_u64(area[NET_ST_PREFIX]);
  coh_diag_str(" gw=");
  diag_ip(g);
  coh_diag_str(area[NET_CFG_MODE] == NET_MODE_DHCP ? " via=dhcp" : " via=static");
  coh_diag_str(" console=");
  coh_diag_u64(area[NET_CFG_CONSOLE_PORT] | area[NET_CFG_CONSOLE_PORT + 1] << 8);
  coh_diag_str(" 9p=");
  coh_diag_u64(area[NET_CFG_NINEP_PORT] | area[NET_CFG_NINEP_PORT + 1] << 8);
  coh_diag_str("\n");
}

/* ---- TCP: listeners and the slots ---------------------------------------------------------------- */

static void slot_reset(int i) {
  uint8_t* h = slot_hdr(i);
  memset(h, 0, NET_SLOT_HDR_BYTES);
  slots[i].pcb = NULL;
  slots[i].rx_given = 0;
}

static void detach(struct tcp_pcb* pcb) {
  tcp_arg(pcb, NULL);
  tcp_recv(pcb, NULL);
  tcp_sent(pcb, NULL);
  tcp_err(pcb, NULL);
}

/* The peer's bytes go straight into the slot's RX; they are acknowledged (window reopened) only once
 * the guest has consumed them, so RX can never overflow: the window (TCP_WND) is below NET_RX_CAP. */
static err_t on_recv(void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t err) {
  int i = (int)(intptr_t)arg - 1;
  if (i < 0) { /* a slot we already let go of */
    if (p) {
      tcp_recved(pcb, p->tot_len);
      pbuf_free(p);
    }
    return ERR_OK;
  }
  uint8_t* h = slot_hdr(i);
  if (!p || err != ERR_OK) {
    if (p) pbuf_free(p);
    h[NET_SL_PSTATE] = NET_P_PEER_CLOSED;
    changed = 1;
    return ERR_OK;
  }
  uint32_t len = get32(h + NET_SL_RX_LEN);
  if (len + p->tot_len > NET_RX_CAP) return ERR_MEM; /* lwIP keeps it and offers it again */
  pbuf_copy_partial(p, slot_rx(i) + len, p->tot_len, 0);
  put32(h + NET_SL_RX_LEN, len + p->tot_len);
  slots[i].rx_given = len + p->tot_len;
  pbuf_free(p);
  changed = 1;
  return ERR_OK;
}

static err_t on_sent(void* arg, struct tcp_pcb* pcb, u16_t n) {
  (void)pcb;
  (void)n;
  if (arg) changed = 1; /* room for more of the guest's output */
  return ERR_OK;
}

static void on_err(void* arg, err_t err) {
  (void)err;
  int i = (int)(intptr_t)arg - 1;
  if (i < 0) return;
  slots[i].pcb = NULL; /* lwIP has freed it */
  slot_hdr(i)[NET_SL_PSTATE] = NET_P_PEER_CLOSED;
  changed = 1;
}

static err_t on_accept(void* arg, struct tcp_pcb* pcb, err_t err) {
  uint8_t kind = (uint8_t)(intptr_t)arg;
  if (err != ERR_OK || !pcb) return ERR_VAL;
  int free_slot = -1;
  for (int i = 0; i < NET_SLOTS && free_slot < 0; i++) {
    if (slot_hdr(i)[NET_SL_PSTATE] == NET_P_FREE && !slots[i].pcb) free_slot = i;
  }
  if (free_slot < 0) { /* every slot busy: a reset, the limit the guest enforces is lower anyway */
    resets++;
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  slot_reset(free_slot);
  slots[free_slot].pcb = pcb;
  uint8_t* h = slot_hdr(free_slot);
  h[NET_SL_KIND] = kind;
  h[NET_SL_PSTATE] = NET_P_NEW;
  tcp_arg(pcb, (void*)(intptr_t)(free_slot + 1));
  tcp_recv(pcb, on_recv);
  tcp_sent(pcb, on_sent);
  tcp_err(pcb, on_err);
  tcp_nagle_disable(pcb); /* console replies and 9P responses are small and wanted now */
  ip_set_option(pcb, SOF_KEEPALIVE);
  accepted++;
  changed = 1;
  return ERR_OK;
}

static int listen_on(int which, uint16_t port, uint8_t kind) {
  struct tcp_pcb* pcb = tcp_new();
  if (!pcb || tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) return -1;
  struct tcp_pcb* l = tcp_listen(pcb);
  if (!l) return -1;
  tcp_arg(l, (void*)(intptr_t)kind);
  tcp_accept(l, on_accept);
  listeners[which] = l;
  return 0;
}

/* Moves as much of the slot's TX into lwIP as its send buffer takes. */
static void push_tx(int i) {
  uint8_t* h = slot_hdr(i);
  struct tcp_pcb* pcb = slots[i].pcb;
  uint32_t len = get32(h + NET_SL_TX_LEN);
  if (len > NET_TX_CAP) coh_trap("net: a slot's TX length is out of range");
  if (!pcb) { /* the peer is gone: its output has nowhere to go */
    put32(h + NET_SL_TX_LEN, 0);
    return;
  }
  uint32_t room = tcp_sndbuf(pcb);
  uint32_t n = len < room ? len : room;
  if (n == 0 || tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 1) return;
  if (tcp_write(pcb, slot_tx(i), (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK) return; /* ERR_MEM: later */
  memmove(slot_tx(i), slot_tx(i) + n, len - n);
  put32(h + NET_SL_TX_LEN, len - n);
  tcp_output(pcb);
}

static void release(int i) {
  struct tcp_pcb* pcb = slots[i].pcb;
  if (pcb) {
    detach(pcb);
    if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb); /* no memory for the FIN: reset instead */
  }
  slot_reset(i);
}

/* ---- start and the pump's calls ------------------------------------------------------------------ */

static void start(void) {
  started = 1;
  uint8_t mode = area[NET_CFG_MODE];
  if (mode == NET_MODE_OFF) return;
  if (!nic) {
    area[NET_ST_STATE] = NET_STATE_NO_DEVICE;
    return;
  }
  area[NET_ST_TRANSPORT] = (uint8_t)nic->version;
  memcpy(area + NET_ST_MAC, nic->mac, 6);
  area[NET_ST_STATE] = NET_STATE_CONFIGURING;
  lwip_init();
  ip4_addr_t addr, mask, gw;
  ip4_addr_set_zero(&addr);
  ip4_addr_set_zero(&mask);
  ip4_addr_set_zero(&gw);
  if (mode == NET_MODE_STATIC) {
    uint8_t prefix = area[NET_CFG_PREFIX];
    ip4_addr_set_u32(&addr, get32(area + NET_CFG_ADDR));
    ip4_addr_set_u32(&mask, prefix == 0 ? 0 : lwip_htonl(0xffffffffu << (32 - prefix)));
    ip4_addr_set_u32(&gw, get32(area + NET_CFG_GATEWAY));
  }
  netif_add(&nif, &addr, &mask, &gw, NULL, netif_setup, ethernet_input);
  netif_set_default(&nif);
  netif_set_status_callback(&nif, status_changed);
  uint16_t console = area[NET_CFG_CONSOLE_PORT] | area[NET_CFG_CONSOLE_PORT + 1] << 8;
  uint16_t ninep = area[NET_CFG_NINEP_PORT] | area[NET_CFG_NINEP_PORT + 1] << 8;
  if (listen_on(0, console, NET_KIND_CONSOLE) < 0 || listen_on(1, ninep, NET_KIND_NINEP) < 0) {
    coh_diag_str("cohesix: net: cannot listen on the console and 9P ports\n");
    area[NET_ST_STATE] = NET_STATE_FAILED;
    return;
  }
  netif_set_up(&nif);
  if (mode == NET_MODE_DHCP && dhcp_start(&nif) != ERR_OK) {
    coh_diag_str("cohesix: net: DHCP did not start\n");
    area[NET_ST_STATE] = NET_STATE_FAILED;
    return;
  }
  /* Wait for the address here, so "listening" is on serial before the console says it is ready. */
  uint64_t until = coh_plat_now_ms() + ADDRESS_WAIT_MS;
  while (area[NET_ST_STATE] != NET_STATE_UP && coh_plat_now_ms() < until) {
    coh_net_service();
    coh_net_idle();
  }
  if (area[NET_ST_STATE] != NET_STATE_UP) {
    coh_diag_str("cohesix: net: no address yet (DHCP still asking); serving once it arrives\n");
  }
}

void coh_net_round(uint8_t* a) {
  area = a;
  if (!started) {
    if (!area[NET_CFG_SET]) return;
    start();
  }
  if (area[NET_ST_STATE] < NET_STATE_CONFIGURING) return;
  for (int i = 0; i < NET_SLOTS; i++) {
    uint8_t* h = slot_hdr(i);
    uint8_t p = h[NET_SL_PSTATE], g = h[NET_SL_GSTATE];
    if (p == NET_P_FREE) continue;
    uint32_t rx = get32(h + NET_SL_RX_LEN);
    if (rx > slots[i].rx_given) coh_trap("net: the guest grew a slot's RX");
    if (slots[i].pcb && rx < slots[i].rx_given) tcp_recved(slots[i].pcb, (u16_t)(slots[i].rx_given - rx));
    slots[i].rx_given = rx;
    if (g == NET_G_DONE) {
      release(i);
      continue;
    }
    if (g == NET_G_NONE) continue; /* not seen by the guest yet */
    if (p == NET_P_NEW) h[NET_SL_PSTATE] = NET_P_OPEN;
    push_tx(i);
    if (g == NET_G_CLOSING && get32(h + NET_SL_TX_LEN) == 0) release(i);
  }
  publish_status();
}

int coh_net_service(void) {
  if (!started || !nic || area[NET_ST_STATE] < NET_STATE_CONFIGURING) return 0;
  vnet_receive(nic, deliver, NULL, RX_BUDGET);
  sys_check_timeouts();
  if (announce) announce_listening();
  /* Output that was waiting for send-buffer room goes out as acknowledgements free it. */
  for (int i = 0; i < NET_SLOTS; i++) {
    uint8_t* h = slot_hdr(i);
    uint8_t g = h[NET_SL_GSTATE];
    if (g != NET_G_OPEN && g != NET_G_CLOSING) continue;
    if (get32(h + NET_SL_TX_LEN) > 0) push_tx(i);
    if (g == NET_G_CLOSING && get32(h + NET_SL_TX_LEN) == 0) {
      release(i);
      changed = 1;
    }
  }
  publish_status();
  int c = changed;
  changed = 0;
  return c;
}

int coh_net_guest_busy(void) { return area && area[NET_GUEST_BUSY]; }

uint64_t coh_net_next_timer_ms(void) {
  if (!started || !nic || area[NET_ST_STATE] < NET_STATE_CONFIGURING) return 0;
  u32_t sleep = sys_timeouts_sleeptime();
  return sleep == SYS_TIMEOUTS_SLEEPTIME_INFINITE ? 0 : coh_plat_now_ms() + sleep;
}
