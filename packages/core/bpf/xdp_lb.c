// SPDX-License-Identifier: GPL-2.0
/*
 * vsd's XDP dataplane: forwards packets for configured virtual services to real servers by direct routing
 * (destination MAC rewrite on the same L2) or IPIP tunnelling, and passes everything else to the stack.
 *
 * Scheduling is table lookup only: userspace builds each service's ring with vsd's TypeScript schedulers (an mh
 * Maglev table, or one rr/wrr cycle of destination indices), so the picks equal the proxy's. A connection table
 * keeps established flows on their real server whatever the tables become; any packet of an unknown flow (not
 * only a SYN) is scheduled, so a flow moved here from another dispatcher with the same mh table stays put.
 *
 * GPL because bpf_fib_lookup is a GPL-only helper.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdp_lb.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VSD_MAX_SERVICES);
	__type(key, struct vsd_svc_key);
	__type(value, struct vsd_svc);
} vsd_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VSD_MAX_SERVICES * VSD_RING_STRIDE);
	__type(key, __u32);
	__type(value, __u32);
} vsd_ring SEC(".maps");

/* rr/wrr position per service: one counter for all CPUs, so the picks make one sequence as the proxy's do. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VSD_MAX_SERVICES);
	__type(key, __u32);
	__type(value, __u64);
} vsd_seq_pos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VSD_MAX_DESTS);
	__type(key, __u32);
	__type(value, struct vsd_dest);
} vsd_dests SEC(".maps");

/*
 * One table shared by all CPUs with per-CPU LRU lists: a flow whose packets arrive on several CPUs (veth, RPS,
 * a moving sender) must find the same entry, which a per-CPU table would not guarantee under rr.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VSD_CONN_MAX_DEFAULT);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct vsd_conn_key);
	__type(value, struct vsd_conn);
} vsd_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VSD_MAX_SERVICES + VSD_MAX_DESTS);
	__type(key, __u32);
	__type(value, struct vsd_counter);
} vsd_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vsd_config);
} vsd_config SEC(".maps");

/* The fields of one parsed packet; addresses as on the wire. */
struct vsd_pkt {
	struct vsd_conn_key key;
	__u32 l3_len; /* IP total length, for counters, MTU checks and the outer header */
	__u8 tos;
	__u8 df;
};

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                                      \
	do {                                                                                                          \
		v0 += v1;                                                                                             \
		v1 = ROTL64(v1, 13);                                                                                  \
		v1 ^= v0;                                                                                             \
		v0 = ROTL64(v0, 32);                                                                                  \
		v2 += v3;                                                                                             \
		v3 = ROTL64(v3, 16);                                                                                  \
		v3 ^= v2;                                                                                             \
		v0 += v3;                                                                                             \
		v3 = ROTL64(v3, 21);                                                                                  \
		v3 ^= v0;                                                                                             \
		v2 += v1;                                                                                             \
		v1 = ROTL64(v1, 17);                                                                                  \
		v1 ^= v2;                                                                                             \
		v2 = ROTL64(v2, 32);                                                                                  \
	} while (0)

/*
 * hsiphash of a u32's 4 little-endian bytes on a 64-bit kernel (SipHash-1-3, low 32 bits of the result), with
 * both key words equal to mh's key 1 (2654435761): packages/core/src/scheduler/hash.ts computes the same.
 */
static __always_inline __u32 vsd_hsiphash_u32(__u32 value)
{
	const __u64 k = 2654435761ULL;
	__u64 v0 = 0x736f6d6570736575ULL ^ k;
	__u64 v1 = 0x646f72616e646f6dULL ^ k;
	__u64 v2 = 0x6c7967656e657261ULL ^ k;
	__u64 v3 = 0x7465646279746573ULL ^ k;
	__u64 b = ((__u64)4 << 56) | value;

	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return (__u32)(v0 ^ v1 ^ v2 ^ v3);
}

/* vsd's address fold (model/address.ts foldAddress): IPv4 as a host-order u32, IPv6 as the XOR of its words. */
static __always_inline __u32 vsd_fold(const __u8 *addr, __u8 family)
{
	const __u32 *w = (const __u32 *)addr;

	if (family == VSD_AF_INET)
		return bpf_ntohl(w[0]);
	return bpf_ntohl(w[0]) ^ bpf_ntohl(w[1]) ^ bpf_ntohl(w[2]) ^ bpf_ntohl(w[3]);
}

static __always_inline void vsd_count(__u32 slot, __u32 bytes, int new_conn)
{
	struct vsd_counter *c = bpf_map_lookup_elem(&vsd_stats, &slot);

	if (!c)
		return;
	c->packets++;
	c->bytes += bytes;
	if (new_conn)
		c->conns++;
}

/* A destination index for a new flow, or VSD_DEST_NONE when the service has none available. */
static __always_inline __u32 vsd_schedule(const struct vsd_svc *svc, const struct vsd_pkt *p)
{
	__u32 len = svc->ring_len;
	__u32 id = svc->id;
	__u32 slot, *dest;

	if (len == 0 || len > VSD_RING_STRIDE || id >= VSD_MAX_SERVICES)
		return VSD_DEST_NONE;
	if (svc->sched == VSD_SCHED_HASH) {
		__u32 v = vsd_fold(p->key.saddr, p->key.family);

		if (svc->flags & VSD_SVC_HASH_PORT)
			v += bpf_ntohs(p->key.sport);
		slot = vsd_hsiphash_u32(v) % len;
	} else if (svc->sched == VSD_SCHED_SH) {
		/* hash_32() of include/linux/hash.h, as scheduler/hash.ts hash32. */
		__u32 bits = (svc->flags >> VSD_SVC_BITS_SHIFT) & 0x1f;
		__u32 v = vsd_fold(p->key.saddr, p->key.family);

		if (bits == 0 || (1u << bits) != len)
			return VSD_DEST_NONE;
		if (svc->flags & VSD_SVC_HASH_PORT)
			v += bpf_ntohs(p->key.sport);
		slot = (v * 0x61c88647u) >> (32 - bits);
	} else if (svc->sched == VSD_SCHED_SEQ) {
		__u64 *pos = bpf_map_lookup_elem(&vsd_seq_pos, &id);

		if (!pos)
			return VSD_DEST_NONE;
		slot = (__u32)(__sync_fetch_and_add(pos, 1) % len);
	} else {
		return VSD_DEST_NONE;
	}
	slot += id * VSD_RING_STRIDE;
	dest = bpf_map_lookup_elem(&vsd_ring, &slot);
	return dest ? *dest : VSD_DEST_NONE;
}

static __always_inline __u16 vsd_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#define VSD_GUE_OVERHEAD (sizeof(struct iphdr) + 8 + 4)

/* An ECMP-friendly UDP source port for GUE (49152..65535), from the inner flow, as udp_flow_src_port() intends. */
static __always_inline __u16 vsd_gue_sport(const struct vsd_pkt *p)
{
	__u32 v = vsd_fold(p->key.saddr, p->key.family) ^ (((__u32)p->key.sport << 16) | p->key.dport);

	return 49152 + (vsd_hsiphash_u32(v) & 0x3fff);
}

/*
 * Prepend an outer IPv4 header (source from the config) in front of the IPv4 packet: IPIP, or with gue_port
 * (network order) UDP to that port and a 4-byte GUE version 0 header carrying IPPROTO_IPIP, as IPVS's GUE
 * tunnels send (UDP checksum 0: nocsum).
 */
static __always_inline int vsd_encap(struct xdp_md *ctx, const struct vsd_pkt *p, __be32 src, __be32 dst, __be16 gue_port)
{
	int extra = gue_port ? VSD_GUE_OVERHEAD : sizeof(struct iphdr);
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *outer;
	__u16 *words;
	__u32 sum = 0;
	int i;

	if (bpf_xdp_adjust_head(ctx, -extra))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	outer = data + sizeof(*eth);
	if ((void *)outer + VSD_GUE_OVERHEAD > data_end)
		return -1;
	eth->h_proto = bpf_htons(ETH_P_IP);
	outer->version = 4;
	outer->ihl = 5;
	outer->tos = p->tos;
	outer->tot_len = bpf_htons(p->l3_len + extra);
	outer->id = 0;
	outer->frag_off = p->df ? bpf_htons(IP_DF) : 0;
	outer->ttl = 64;
	outer->protocol = gue_port ? IPPROTO_UDP : IPPROTO_IPIP;
	outer->check = 0;
	outer->saddr = src;
	outer->daddr = dst;
	words = (__u16 *)outer;
#pragma unroll
	for (i = 0; i < (int)(sizeof(struct iphdr) / 2); i++)
		sum += words[i];
	outer->check = vsd_csum_fold(sum);
	if (gue_port) {
		__u8 *udp = (__u8 *)(outer + 1);
		__u16 *u = (__u16 *)udp;

		u[0] = bpf_htons(vsd_gue_sport(p));
		u[1] = gue_port;
		u[2] = bpf_htons(p->l3_len + 8 + 4);
		u[3] = 0;
		udp[8] = 0;            /* version 0, control 0, hlen 0 */
		udp[9] = IPPROTO_IPIP; /* proto_ctype */
		udp[10] = 0;
		udp[11] = 0;
	}
	return 0;
}

/* Rewrite the MACs for the next hop toward fib->ipv4_dst/ipv6_dst and send the frame there. */
static __always_inline int vsd_xmit(struct xdp_md *ctx, const struct bpf_fib_lookup *fib)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	if (fib->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib->ifindex, 0);
}

/*
 * Route lookup toward the real server (or its gateway). The kernel answers only when forwarding is on for the
 * ingress interface (net.ipv4.conf.IFACE.forwarding); the dataplane turns it on at start.
 */
static __always_inline long vsd_fib(struct xdp_md *ctx, struct bpf_fib_lookup *fib)
{
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/* The verdict for a fib lookup that did not succeed, or -1 when it did. */
static __always_inline int vsd_fib_verdict(long rc)
{
	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		return -1;
	/* The stack sees the VIP; userspace keeps the real servers' neighbours resolved. */
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS;
	return XDP_DROP;
}

static __always_inline int vsd_forward_dr(struct xdp_md *ctx, const struct vsd_pkt *p, const struct vsd_dest *d)
{
	struct bpf_fib_lookup fib = {};
	int v;

	if (d->family != p->key.family)
		return XDP_DROP;
	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = p->key.proto;
	fib.tot_len = p->l3_len;
	if (d->family == VSD_AF_INET) {
		fib.family = AF_INET;
		fib.tos = p->tos;
		__builtin_memcpy(&fib.ipv4_dst, d->addr, 4);
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_dst, d->addr, 16);
	}
	v = vsd_fib_verdict(vsd_fib(ctx, &fib));
	if (v >= 0)
		return v;
	return vsd_xmit(ctx, &fib);
}

static __always_inline int vsd_forward_tun(struct xdp_md *ctx, const struct vsd_pkt *p, const struct vsd_dest *d)
{
	struct bpf_fib_lookup fib = {};
	struct vsd_config *cfg;
	__u32 zero = 0;
	__be32 src, dst;
	int v;

	/* IPIP carries IPv4 only; the control plane refuses TUN for IPv6 services on xdp. */
	if (p->key.family != VSD_AF_INET || d->family != VSD_AF_INET)
		return XDP_DROP;
	cfg = bpf_map_lookup_elem(&vsd_config, &zero);
	if (!cfg)
		return XDP_DROP;
	src = cfg->tun_src4;
	if (src == 0)
		return XDP_DROP;
	__builtin_memcpy(&dst, d->addr, 4);
	fib.ifindex = ctx->ingress_ifindex;
	fib.family = AF_INET;
	fib.l4_protocol = d->tun_port ? IPPROTO_UDP : IPPROTO_IPIP;
	fib.tos = p->tos;
	fib.tot_len = p->l3_len + (d->tun_port ? VSD_GUE_OVERHEAD : sizeof(struct iphdr));
	fib.ipv4_src = src;
	fib.ipv4_dst = dst;
	/* Looked up before the packet is touched, so a pass to the stack hands it over unchanged. */
	v = vsd_fib_verdict(vsd_fib(ctx, &fib));
	if (v >= 0)
		return v;
	if (vsd_encap(ctx, p, src, dst, d->tun_port))
		return XDP_DROP;
	return vsd_xmit(ctx, &fib);
}

/* 0 = parsed a TCP or UDP packet into p; -1 = not ours to look at (pass). */
static __always_inline int vsd_parse(void *data, void *data_end, struct vsd_pkt *p)
{
	struct ethhdr *eth = data;
	__u16 *ports;
	void *l4;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return -1;
		/* Options and fragments go to the stack: no ports to match in a later fragment. */
		if (ip->ihl != 5 || (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return -1;
		if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
			return -1;
		p->key.family = VSD_AF_INET;
		p->key.proto = ip->protocol;
		__builtin_memcpy(p->key.saddr, &ip->saddr, 4);
		__builtin_memcpy(p->key.daddr, &ip->daddr, 4);
		p->l3_len = bpf_ntohs(ip->tot_len);
		p->tos = ip->tos;
		p->df = (ip->frag_off & bpf_htons(IP_DF)) != 0;
		l4 = ip + 1;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		/* Extension headers go to the stack. */
		if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP)
			return -1;
		p->key.family = VSD_AF_INET6;
		p->key.proto = ip6->nexthdr;
		__builtin_memcpy(p->key.saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->key.daddr, &ip6->daddr, 16);
		p->l3_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
		p->tos = 0;
		p->df = 1;
		l4 = ip6 + 1;
	} else {
		return -1;
	}
	ports = l4;
	if ((void *)(ports + 2) > data_end)
		return -1;
	p->key.sport = ports[0];
	p->key.dport = ports[1];
	return 0;
}

SEC("xdp")
int vsd_xdp_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct vsd_pkt p = {};
	struct vsd_svc_key sk = {};
	struct vsd_svc *svc;
	struct vsd_conn *conn;
	struct vsd_dest *d = NULL;
	__u32 idx = VSD_DEST_NONE, svc_id;
	__u64 now;
	int fresh = 0;

	if (vsd_parse(data, data_end, &p))
		return XDP_PASS;
	__builtin_memcpy(sk.addr, p.key.daddr, 16);
	sk.port = p.key.dport;
	sk.proto = p.key.proto;
	sk.family = p.key.family;
	svc = bpf_map_lookup_elem(&vsd_services, &sk);
	if (!svc)
		return XDP_PASS;
	svc_id = svc->id;
	if (svc_id >= VSD_MAX_SERVICES)
		return XDP_DROP;

	now = bpf_ktime_get_ns();
	conn = bpf_map_lookup_elem(&vsd_conns, &p.key);
	if (conn) {
		idx = conn->dest;
		d = bpf_map_lookup_elem(&vsd_dests, &idx);
		/* A removed destination's slot may hold another destination now: the generation tells them apart. */
		if (d && (d->gen == 0 || d->gen != conn->gen))
			d = NULL;
		else if (d && now - conn->seen_ns > 1000000000ULL)
			conn->seen_ns = now;
	}
	if (!d) {
		struct vsd_conn fresh_conn = {};

		idx = vsd_schedule(svc, &p);
		if (idx == VSD_DEST_NONE)
			goto none;
		d = bpf_map_lookup_elem(&vsd_dests, &idx);
		if (!d || d->gen == 0 || !d->available)
			goto none;
		fresh_conn.dest = idx;
		fresh_conn.gen = d->gen;
		fresh_conn.seen_ns = now;
		bpf_map_update_elem(&vsd_conns, &p.key, &fresh_conn, BPF_ANY);
		fresh = 1;
	}
	if (idx >= VSD_MAX_DESTS)
		return XDP_DROP;
	vsd_count(svc_id, p.l3_len, fresh);
	vsd_count(VSD_MAX_SERVICES + idx, p.l3_len, fresh);
	if (d->method == VSD_FWD_TUN)
		return vsd_forward_tun(ctx, &p, d);
	return vsd_forward_dr(ctx, &p, d);

none:
	/* No destination available: IPVS drops the packet too. Counted on the service only. */
	vsd_count(svc_id, p.l3_len, 0);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
