/* The network half of the event pump mailbox (pump.ts has the same layout) and the bridge between
 * lwIP's TCP connections and the hive's connections.
 *
 * The guest (TypeScript, compiled by Porffor) can only print; it shares a mailbox in linear memory
 * with the platform (guest_main.c). Its network area starts at NET_AREA, with:
 *   - a config block the guest writes once (ports, connection limits, address mode), from the manifest;
 *   - a status block the platform keeps current (state, address, MAC, counters);
 *   - NET_SLOTS connection slots, each a small header plus a TX and an RX byte buffer.
 * The two sides never run at the same time (the platform only runs inside a pump round), so each
 * buffer has one length: the guest appends to TX and the platform consumes its front; the platform
 * appends to RX and the guest consumes its front. Whoever consumes moves the rest to the start.
 *
 * Slot life: the platform accepts a connection into a free slot (P_NEW); the guest opens a hive
 * connection for it (G_OPEN) or refuses it (G_CLOSING, after an explanation in TX). A peer that
 * closes or resets is P_PEER_CLOSED; the guest then closes the hive connection and says G_DONE. A
 * hive that ends a connection says G_CLOSING: the platform sends what is left in TX and closes.
 * The platform frees the slot (P_FREE, G_NONE). Back-pressure: TX is taken only as fast as lwIP's
 * send buffer drains, and RX bytes are acknowledged to the peer (tcp_recved) only once the guest
 * has consumed them, so a peer that floods or never reads fills its own window and nothing else. */
#ifndef COH_NET_BRIDGE_H
#define COH_NET_BRIDGE_H
#include <stdint.h>

#define NET_AREA 8192 /* offset of the network area in the mailbox */
#define NET_SLOTS 24  /* the hive's 16 Secure9P sessions + 7 TCP consoles + 1: limits are the guest's to enforce */
#define NET_TX_CAP 8192
#define NET_RX_CAP 8192

/* config (guest) */
#define NET_CFG_SET 0 /* u8: 1 once the guest wrote the config */
#define NET_CFG_MODE 1 /* u8: NET_MODE_* */
#define NET_CFG_CONSOLE_PORT 2 /* u16 */
#define NET_CFG_NINEP_PORT 4  /* u16 */
#define NET_CFG_ADDR 8        /* 4 bytes, static address a.b.c.d */
#define NET_CFG_PREFIX 12     /* u8 */
#define NET_CFG_GATEWAY 16    /* 4 bytes */
#define NET_GUEST_BUSY 20     /* u8: the guest has work for the next round, do not wait */
#define NET_MODE_OFF 0
#define NET_MODE_DHCP 1
#define NET_MODE_STATIC 2

/* status (platform) */
#define NET_ST_STATE 32 /* u8: NET_STATE_* */
#define NET_ST_TRANSPORT 33 /* u8: virtio-mmio version, 1 legacy, 2 modern */
#define NET_ST_ADDR 36  /* 4 bytes */
#define NET_ST_PREFIX 40
#define NET_ST_GATEWAY 44
#define NET_ST_MAC 48 /* 6 bytes */
#define NET_ST_RX_FRAMES 56 /* u32 counters */
#define NET_ST_RX_DROPPED 60
#define NET_ST_TX_FRAMES 64
#define NET_ST_ACCEPTED 68
#define NET_ST_RESET 72 /* connections refused for want of a slot (answered with a reset) */
#define NET_STATE_NONE 0 /* no config yet, or networking off */
#define NET_STATE_NO_DEVICE 1
#define NET_STATE_CONFIGURING 2
#define NET_STATE_UP 3
#define NET_STATE_FAILED 4

/* slots */
#define NET_SLOT_HDR 128
#define NET_SLOT_HDR_BYTES 16
#define NET_SL_PSTATE 0 /* u8 (platform) */
#define NET_SL_KIND 1   /* u8 (platform): NET_KIND_* */
#define NET_SL_GSTATE 2 /* u8 (guest) */
#define NET_SL_RX_LEN 4 /* u32 */
#define NET_SL_TX_LEN 8 /* u32 */
#define NET_DATA 512
#define NET_SLOT_BYTES (NET_TX_CAP + NET_RX_CAP) /* TX, then RX */
#define NET_AREA_BYTES (NET_DATA + NET_SLOTS * NET_SLOT_BYTES)

#define NET_P_FREE 0
#define NET_P_NEW 1
#define NET_P_OPEN 2
#define NET_P_PEER_CLOSED 3
#define NET_G_NONE 0
#define NET_G_OPEN 1
#define NET_G_CLOSING 2
#define NET_G_DONE 3
#define NET_KIND_CONSOLE 1
#define NET_KIND_NINEP 2

/* --- the platform's side, called by the pump (guest_main.c); weak no-ops where there is no network --- */
/* At boot, before the guest runs: finds and starts the NIC (prints what it found). */
void coh_net_boot(void);
/* Start of a pump round: the guest's changes (config, TX, consumed RX, closes) go to lwIP. */
void coh_net_round(uint8_t* area);
/* Runs the NIC and lwIP's timers; nonzero when a slot changed for the guest (the pump stops waiting). */
int coh_net_service(void);
/* Whether the guest asked not to wait this round. */
int coh_net_guest_busy(void);
/* When lwIP's next timer is due (coh_plat_now_ms units), 0 when none: an idle wait ends by then. */
uint64_t coh_net_next_timer_ms(void);
#endif
