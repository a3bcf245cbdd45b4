// SPDX-License-Identifier: GPL-2.0
/*
 * Two XDP programs for bench/xdp (not part of vsd):
 *  - xdp_gen: run by BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES in the generator namespace. Each run
 *    gets a copy of one UDP frame and stamps it with the next flow of a fixed set (source address and port from
 *    a shared counter), then XDP_TX, which test_run turns into a transmit on the ingress interface (the veth
 *    toward the dispatcher). Pages are recycled without being reset and whoever handled the frame before may
 *    have changed it (a forwarding hop lowers the TTL and rewrites the MACs in place, a tunnel moves the start),
 *    so every header byte is written absolutely on each run.
 *  - xdp_sink: on the real server's veth; counts per CPU and drops (the cheapest end point, so the real
 *    server's work never limits what the dispatcher can deliver). Also the receive-only floor on the dispatcher.
 *  - xdp_fwd: the redirect floor on the dispatcher: fixed MACs and bpf_redirect to the real server's side, no
 *    lookup at all (what any XDP forwarder pays for moving a frame veth to veth).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Set by the loader before load (read-only data); one struct so its layout is fixed (see xdptool.c). */
struct gen_cfg {
	__u32 flows;
	__u32 ports_per_addr;
	__u32 src_base;   /* host order */
	__u32 sport_base;
	__be32 daddr;
	__be16 dport;
	__u8 dmac[6];
	__u8 smac[6];
	__u8 pad[2];
};
const volatile struct gen_cfg gen_cfg = { .flows = 1, .ports_per_addr = 1, .sport_base = 1024 };

struct fwd_cfg {
	__u32 ifindex;
	__u8 dmac[6];
	__u8 smac[6];
};
const volatile struct fwd_cfg fwd_cfg = {};

__u64 gen_seq = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

static __always_inline __u16 ip_csum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		if (i != 5)
			sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > end)
		return XDP_ABORTED;
	/* test_run runs the repetitions on one CPU; the add is atomic anyway so two generators could share it. */
	__u64 n = __sync_fetch_and_add(&gen_seq, 1);
	__u32 flows = gen_cfg.flows ? gen_cfg.flows : 1;
	__u32 ppa = gen_cfg.ports_per_addr ? gen_cfg.ports_per_addr : 1;
	__u32 flow = (__u32)(n % flows);
	/* Byte by byte through the volatile struct: a memcpy would drop the qualifier and fold the zero initialiser. */
#pragma unroll
	for (int i = 0; i < 6; i++) {
		eth->h_dest[i] = gen_cfg.dmac[i];
		eth->h_source[i] = gen_cfg.smac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons((__u16)((long)end - (long)ip));
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = bpf_htonl(gen_cfg.src_base + flow / ppa);
	ip->daddr = gen_cfg.daddr;
	ip->check = 0;
	ip->check = ip_csum(ip);
	udp->source = bpf_htons((__u16)(gen_cfg.sport_base + flow % ppa));
	udp->dest = gen_cfg.dport;
	udp->len = bpf_htons((__u16)((long)end - (long)udp));
	udp->check = 0; /* optional for IPv4 */
	return XDP_TX;
}

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 k = 0;

	/* ARP goes on to the stack: the dispatcher must resolve this address (the bench also sets it statically). */
	if ((void *)(eth + 1) <= end && eth->h_proto == bpf_htons(ETH_P_ARP))
		return XDP_PASS;
	__u64 *c = bpf_map_lookup_elem(&sink_count, &k);
	if (c)
		*c += 1;
	return XDP_DROP;
}

SEC("xdp")
int xdp_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
#pragma unroll
	for (int i = 0; i < 6; i++) {
		eth->h_dest[i] = fwd_cfg.dmac[i];
		eth->h_source[i] = fwd_cfg.smac[i];
	}
	return bpf_redirect(fwd_cfg.ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
