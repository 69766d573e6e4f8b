/* lwIP options for the Cohesix root task: NO_SYS (no threads, no OS), the raw callback API only,
 * IPv4 with ARP, DHCP and ICMP echo, TCP for the console and Secure9P listeners. Every pool is
 * static and sized for NET_SLOTS connections (net_bridge.h), so a peer that floods or never reads
 * exhausts its own window, not the stack's memory. */
#ifndef COH_LWIPOPTS_H
#define COH_LWIPOPTS_H
#include "net_bridge.h"

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_SINGLE_NETIF 1
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1

#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1 /* DHCP */
#define LWIP_TCP 1
#define LWIP_DHCP 1
#define DHCP_DOES_ARP_CHECK 0 /* QEMU's DHCP server owns the subnet; the probe would cost seconds */
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define IP_REASSEMBLY 0 /* fragments are dropped: nothing we serve needs them, and no reassembly memory */
#define IP_FRAG 0
#define LWIP_TCP_KEEPALIVE 1 /* a vanished peer frees its slot */
#define TCP_KEEPIDLE_DEFAULT 60000
#define TCP_KEEPINTVL_DEFAULT 10000
#define TCP_KEEPCNT_DEFAULT 6

#define MEM_ALIGNMENT 8
#define TCP_MSS 1460
#define TCP_WND (4 * TCP_MSS)           /* <= NET_RX_CAP: a slot's RX always has room for the window */
#define TCP_SND_BUF (4 * TCP_MSS)
#define TCP_SND_QUEUELEN (2 * TCP_SND_BUF / TCP_MSS + 4)
#define MEMP_NUM_TCP_PCB (NET_SLOTS + 8) /* slots plus TIME_WAIT; lwIP recycles the oldest TIME_WAIT */
#define MEMP_NUM_TCP_PCB_LISTEN 2
#define MEMP_NUM_TCP_SEG (NET_SLOTS * TCP_SND_QUEUELEN + 16)
#define MEMP_NUM_PBUF 32
#define MEMP_NUM_UDP_PCB 2
#define MEMP_NUM_SYS_TIMEOUT 8
#define MEMP_NUM_ARP_QUEUE 8
#define PBUF_POOL_SIZE 96
#define PBUF_POOL_BUFSIZE 1536
/* Unsent and unacknowledged TCP data of every slot, plus headers. */
#define MEM_SIZE (NET_SLOTS * TCP_SND_BUF * 2 + 32 * 1024)

#define LWIP_STATS 0
#define LWIP_STATS_DISPLAY 0
#define LWIP_NETIF_API 0
#define LWIP_CHECKSUM_CTRL_PER_NETIF 0
#endif
