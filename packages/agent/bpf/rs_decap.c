// SPDX-License-Identifier: GPL-2.0
/*
 * vsd-agent's real-server decapsulator for LVS TUN on kernels without the ipip module (docs/ARCHITECTURE.md,
 * "Real-server BPF decapsulation").
 *
 * XDP on the real server's interface: an IPv4 packet carrying IPv4 (IP protocol 4), or optionally GUE over UDP,
 * whose outer destination is one of this server's addresses and whose inner destination is one of the configured
 * VIPs, loses its outer headers here; the inner packet goes up the stack as if it had arrived on the interface, and
 * the VIP on lo accepts it. Everything else passes untouched. XDP rather than tc: it sees every frame before GRO and
 * before an skb exists, so there is exactly one outer header to strip per frame; and attaching it to a veth turns on
 * that veth's NAPI, which an XDP dispatcher redirecting into the link needs anyway.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ADDR_VIP 1   /* inner destination we accept */
#define ADDR_LOCAL 2 /* outer destination: one of this server's addresses */

enum decap_stat {
	STAT_DECAP_IPIP = 0, /* stripped an IPIP outer header */
	STAT_DECAP_GUE,      /* stripped IPv4 + UDP (+ GUE header) */
	STAT_NOT_OURS,       /* an encapsulated packet for another address or VIP: passed untouched */
	STAT_FRAGMENT,       /* outer fragment: passed (the kernel reassembles nothing it has no tunnel for) */
	STAT_MALFORMED,      /* truncated or not IPv4 inside: passed */
	STAT_ECN_DROP,       /* outer CE over a not-ECT inner packet: dropped, as RFC 6040 asks */
	STAT_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);   /* IPv4 address, network byte order */
	__type(value, __u32); /* ADDR_VIP | ADDR_LOCAL */
} vsd_decap_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32); /* GUE UDP destination port, host byte order; 0: GUE off */
} vsd_decap_conf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vsd_decap_stats SEC(".maps");

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&vsd_decap_stats, &stat);

	if (v)
		*v += 1;
}

static __always_inline int addr_has(__u32 addr, __u32 kind)
{
	__u32 *v = bpf_map_lookup_elem(&vsd_decap_addrs, &addr);

	return v && (*v & kind);
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* RFC 6040 decapsulation: CE on the outer header marks an ECN-capable inner packet CE, and drops a not-ECT one. */
static __always_inline int ecn_decap(struct iphdr *outer, struct iphdr *inner)
{
	__u16 old, new;

	if ((outer->tos & 3) != 3 || (inner->tos & 3) == 3)
		return 0;
	if ((inner->tos & 3) == 0)
		return -1;
	old = *(__u16 *)inner;
	inner->tos |= 3;
	new = *(__u16 *)inner;
	/* RFC 1624 incremental update: HC' = ~(~HC + ~m + m') */
	inner->check = csum_fold((__u16)~inner->check + (__u32)(__u16)~old + (__u32)new);
	return 0;
}

SEC("xdp")
int vsd_rs_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ethhdr saved;
	struct iphdr *outer, *inner;
	__u32 strip, ihl, key = 0, *gue_port;
	__u32 stat = STAT_DECAP_IPIP;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	outer = (void *)(eth + 1);
	if ((void *)(outer + 1) > data_end || outer->version != 4 || outer->ihl < 5)
		return XDP_PASS;
	ihl = outer->ihl * 4;
	strip = ihl;
	if (outer->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)outer + ihl;
		__u8 *gue;

		gue_port = bpf_map_lookup_elem(&vsd_decap_conf, &key);
		if (!gue_port || *gue_port == 0)
			return XDP_PASS;
		if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(*gue_port))
			return XDP_PASS;
		gue = (void *)(udp + 1);
		if ((void *)(gue + 4) > data_end) {
			count(STAT_MALFORMED);
			return XDP_PASS;
		}
		strip += sizeof(*udp);
		if ((gue[0] >> 6) == 0) {
			/* GUE version 0: 4-byte header, Hlen 32-bit words of options, proto 4 (IPv4); not control */
			if ((gue[0] & 0x20) || gue[1] != IPPROTO_IPIP) {
				count(STAT_MALFORMED);
				return XDP_PASS;
			}
			strip += 4 + (gue[0] & 0x1f) * 4;
		} else if ((gue[0] >> 4) != 4) {
			/* GUE version 1 is the bare inner IP header; only IPv4 (first nibble 4) is handled */
			count(STAT_MALFORMED);
			return XDP_PASS;
		}
		stat = STAT_DECAP_GUE;
	} else if (outer->protocol != IPPROTO_IPIP) {
		return XDP_PASS;
	}
	if (outer->frag_off & bpf_htons(0x3fff)) {
		count(STAT_FRAGMENT);
		return XDP_PASS;
	}
	if (strip > 60 + 8 + 4 + 124)
		return XDP_PASS;
	inner = (void *)outer + strip;
	if ((void *)(inner + 1) > data_end || inner->version != 4) {
		count(STAT_MALFORMED);
		return XDP_PASS;
	}
	if (!addr_has(outer->daddr, ADDR_LOCAL) || !addr_has(inner->daddr, ADDR_VIP)) {
		count(STAT_NOT_OURS);
		return XDP_PASS;
	}
	if (ecn_decap(outer, inner) < 0) {
		count(STAT_ECN_DROP);
		return XDP_DROP;
	}
	__builtin_memcpy(&saved, eth, sizeof(saved));
	if (bpf_xdp_adjust_head(ctx, (int)strip))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth, &saved, sizeof(saved));
	count(stat);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
