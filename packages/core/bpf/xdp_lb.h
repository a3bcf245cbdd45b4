/*
 * Map layouts shared by xdp_lb.c and its TypeScript driver (packages/core/src/dataplane/xdp/layout.ts).
 * Every struct is packed by hand to a multiple of 4 bytes with explicit padding, so the TypeScript side can
 * encode it with fixed offsets; change both files together.
 */
#ifndef VSD_XDP_LB_H
#define VSD_XDP_LB_H

#include <linux/types.h>

#define VSD_MAX_SERVICES 256
#define VSD_MAX_DESTS 4096
/* Ring slots reserved per service: an mh table up to index 13 (8191 slots), an rr/wrr cycle up to 8192 picks. */
#define VSD_RING_STRIDE 8192
#define VSD_CONN_MAX_DEFAULT 65536
#define VSD_DEST_NONE 0xffffffffu

/* vsd_svc.sched */
#define VSD_SCHED_HASH 1 /* ring indexed by hsiphash(source) % ring_len (mh) */
#define VSD_SCHED_SEQ 2  /* ring indexed by a shared counter % ring_len (rr, wrr; dh: one slot) */
#define VSD_SCHED_SH 3   /* ring indexed by hash_32(source, bits) (sh); bits in vsd_svc.flags >> 8 */

/* vsd_svc.flags */
#define VSD_SVC_HASH_PORT 1 /* mh-port, sh-port: the source port is added to the hashed value */
#define VSD_SVC_BITS_SHIFT 8 /* sh: the table's bits (ring_len = 1 << bits) */

/* vsd_dest.method */
#define VSD_FWD_DR 1
#define VSD_FWD_TUN 2

#define VSD_AF_INET 2
#define VSD_AF_INET6 10

/* Virtual service: address (IPv4 in the first 4 bytes), port and protocol, network byte order. 20 bytes. */
struct vsd_svc_key {
	__u8 addr[16];
	__be16 port;
	__u8 proto;
	__u8 family;
};

/* 16 bytes. */
struct vsd_svc {
	__u32 id;       /* < VSD_MAX_SERVICES: ring region, sequence counter and counter slot */
	__u32 sched;    /* VSD_SCHED_* */
	__u32 ring_len; /* used slots of the ring region, <= VSD_RING_STRIDE; 0 = no destination */
	__u32 flags;    /* VSD_SVC_* */
};

/* A real server of one service, at a stable index. 28 bytes. */
struct vsd_dest {
	__u8 addr[16];
	__u32 gen;       /* bumped whenever the index is given to another destination; 0 = free slot */
	__be16 port;
	__u8 family;
	__u8 method;     /* VSD_FWD_* */
	__u8 available;  /* weight > 0: may take new connections */
	__u8 pad;
	__be16 tun_port; /* VSD_FWD_TUN: 0 = IPIP, else GUE to this UDP port */
};

/* A flow, as the client sent it. 40 bytes. */
struct vsd_conn_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

/* 16 bytes. */
struct vsd_conn {
	__u32 dest;
	__u32 gen;     /* vsd_dest.gen when the flow was scheduled: a mismatch means the destination is gone */
	__u64 seen_ns; /* bpf_ktime_get_ns() of a recent packet (refreshed at most once a second) */
};

/* Per-CPU counters: slot svc.id for a service, VSD_MAX_SERVICES + dest index for a destination. 24 bytes. */
struct vsd_counter {
	__u64 packets;
	__u64 bytes;
	__u64 conns;
};

/* 24 bytes. */
struct vsd_config {
	__be32 tun_src4;   /* outer source of IPIP packets */
	__u8 tun_src6[16];
	__u32 flags;
};

#endif
