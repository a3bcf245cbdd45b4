// SPDX-License-Identifier: GPL-2.0
/*
 * bench/xdp helper built by bench/xdp/run.mjs (libbpf). Two commands:
 *
 *   xdptool live OBJ IFNAME DSTMAC SRCMAC SRC_BASE DST DPORT FLOWS PORTS_PER_ADDR SECONDS MAX_PACKETS
 *     Traffic generator: xdp_gen run by BPF_PROG_TEST_RUN in live-frame mode with ingress IFNAME, so every
 *     repetition is a real frame sent out of IFNAME (XDP_TX). Stops after SECONDS or MAX_PACKETS, whichever
 *     comes first. Prints one JSON line: {"sent":N,"seconds":S}.
 *   xdptool redirect OBJ IFNAME OUT_IFNAME DSTMAC SRCMAC
 *     Attaches xdp_fwd (native) to IFNAME, sending every IPv4 frame out of OUT_IFNAME with the given MACs;
 *     prints "ready" and detaches on EOF on stdin.
 *   xdptool sink OBJ IFNAME
 *     Attaches xdp_sink (native mode) to IFNAME, prints "ready", then answers each line on stdin with the
 *     packet count summed over CPUs; detaches on EOF (so the bench's exit, even a killed one, ends it).
 */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int parse_mac(const char *s, uint8_t *m)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6 ? 0 : -1;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "xdptool: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* Ethernet + IPv4 + UDP + 18 bytes of payload = 60 bytes, the minimum frame without FCS. */
static size_t build_frame(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t src, uint32_t dst, uint16_t dport)
{
	const size_t len = 60, iplen = len - 14;
	memset(f, 0, len);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08; f[13] = 0x00;
	uint8_t *ip = f + 14;
	ip[0] = 0x45; ip[2] = iplen >> 8; ip[3] = iplen & 0xff; ip[8] = 64; ip[9] = 17;
	memcpy(ip + 12, &src, 4); memcpy(ip + 16, &dst, 4);
	uint8_t *udp = ip + 20;
	udp[0] = 1024 >> 8; udp[1] = 1024 & 0xff;
	udp[2] = dport >> 8; udp[3] = dport & 0xff;
	udp[4] = (iplen - 20) >> 8; udp[5] = (iplen - 20) & 0xff;
	return len;
}

/*
 * The address of one const volatile global in the object's .rodata, found through the section's BTF (the compiler
 * lays globals out in any order). Valid until load.
 */
static void *rodata_var(struct bpf_object *obj, const char *name, size_t size)
{
	struct bpf_map *m, *rodata = NULL;
	bpf_object__for_each_map(m, obj) if (strstr(bpf_map__name(m), ".rodata")) rodata = m;
	struct btf *btf = bpf_object__btf(obj);
	if (!rodata || !btf) return NULL;
	size_t sz;
	char *base = (char *)bpf_map__initial_value(rodata, &sz);
	int id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (!base || id < 0) return NULL;
	const struct btf_type *sec = btf__type_by_id(btf, id);
	const struct btf_var_secinfo *v = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type);
		if (!strcmp(btf__name_by_offset(btf, var->name_off), name))
			return v->size >= size && v->offset + size <= sz ? base + v->offset : NULL;
	}
	return NULL;
}

static void load_only(struct bpf_object *obj, const char *prog)
{
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), prog));
	int err = bpf_object__load(obj);
	if (err) die("load", err);
}

static struct bpf_object *open_obj(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj) die("open object", errno);
	return obj;
}

static int cmd_live(int argc, char **argv)
{
	if (argc != 13) { fprintf(stderr, "usage: xdptool live OBJ IFNAME DSTMAC SRCMAC SRC_BASE DST DPORT FLOWS PORTS_PER_ADDR SECONDS MAX_PACKETS\n"); return 2; }
	const char *ifname = argv[3];
	uint8_t dmac[6], smac[6];
	struct in_addr src, dst;
	if (parse_mac(argv[4], dmac) || parse_mac(argv[5], smac)) { fprintf(stderr, "xdptool: bad MAC\n"); return 2; }
	if (!inet_aton(argv[6], &src) || !inet_aton(argv[7], &dst)) { fprintf(stderr, "xdptool: bad address\n"); return 2; }
	uint16_t dport = atoi(argv[8]);
	uint32_t flows = strtoul(argv[9], NULL, 10), ppa = strtoul(argv[10], NULL, 10);
	double seconds = atof(argv[11]);
	uint64_t maxp = strtoull(argv[12], NULL, 10);
	int ifindex = if_nametoindex(ifname);
	if (!ifindex) die(ifname, errno);
	if (!flows || !ppa || seconds <= 0 || seconds > 600 || !maxp) { fprintf(stderr, "xdptool: bad bounds\n"); return 2; }

	struct bpf_object *obj = open_obj(argv[2]);
	struct gen_cfg {
		uint32_t flows, ports_per_addr, src_base, sport_base;
		uint32_t daddr;
		uint16_t dport;
		uint8_t dmac[6], smac[6], pad[2];
	} *ro = rodata_var(obj, "gen_cfg", 36);
	if (!ro) { fprintf(stderr, "xdptool: gen_cfg not found in .rodata\n"); return 1; }
	ro->flows = flows; ro->ports_per_addr = ppa; ro->src_base = ntohl(src.s_addr); ro->sport_base = 1024;
	ro->daddr = dst.s_addr; ro->dport = htons(dport);
	memcpy(ro->dmac, dmac, 6); memcpy(ro->smac, smac, 6);
	load_only(obj, "xdp_gen");
	int err;
	int fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "xdp_gen"));

	uint8_t frame[64];
	size_t len = build_frame(frame, dmac, smac, src.s_addr, dst.s_addr, dport);
	/* The kernel checks data_end == the frame length. */
	struct xdp_md ctx = { .data_end = (uint32_t)len, .ingress_ifindex = ifindex, .rx_queue_index = 0 };
	uint64_t sent = 0;
	const uint32_t chunk = 1u << 20; /* one syscall: ~0.1-1 s at the rates seen here */
	double t0 = now(), t;
	while ((t = now()) - t0 < seconds && sent < maxp) {
		uint64_t left = maxp - sent;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = left < chunk ? (uint32_t)left : chunk,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
		err = bpf_prog_test_run_opts(fd, &o);
		if (err) die("BPF_PROG_TEST_RUN (live frames)", err);
		sent += o.repeat;
	}
	printf("{\"sent\":%llu,\"seconds\":%.6f}\n", (unsigned long long)sent, now() - t0);
	bpf_object__close(obj);
	return 0;
}

static int cmd_sink(int argc, char **argv)
{
	if (argc != 4) { fprintf(stderr, "usage: xdptool sink OBJ IFNAME\n"); return 2; }
	int ifindex = if_nametoindex(argv[3]);
	if (!ifindex) die(argv[3], errno);
	struct bpf_object *obj = open_obj(argv[2]);
	load_only(obj, "xdp_sink");
	int pfd = bpf_program__fd(bpf_object__find_program_by_name(obj, "xdp_sink"));
	int err = bpf_xdp_attach(ifindex, pfd, XDP_FLAGS_DRV_MODE, NULL);
	if (err) die("attach xdp_sink (native)", err);
	int mfd = bpf_map__fd(bpf_object__find_map_by_name(obj, "sink_count"));
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v = calloc(ncpu, sizeof(*v));
	printf("ready\n");
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof line, stdin)) {
		uint32_t k = 0;
		uint64_t total = 0;
		if (bpf_map_lookup_elem(mfd, &k, v) == 0)
			for (int i = 0; i < ncpu; i++) total += v[i];
		printf("%llu\n", (unsigned long long)total);
		fflush(stdout);
	}
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	return 0;
}

static int cmd_redirect(int argc, char **argv)
{
	if (argc != 7) { fprintf(stderr, "usage: xdptool redirect OBJ IFNAME OUT_IFNAME DSTMAC SRCMAC\n"); return 2; }
	int ifindex = if_nametoindex(argv[3]), out = if_nametoindex(argv[4]);
	if (!ifindex || !out) die("interface", errno);
	struct { uint32_t ifindex; uint8_t dmac[6], smac[6]; } *cfg;
	struct bpf_object *obj = open_obj(argv[2]);
	if (!(cfg = rodata_var(obj, "fwd_cfg", 16))) { fprintf(stderr, "xdptool: fwd_cfg not found in .rodata\n"); return 1; }
	cfg->ifindex = out;
	if (parse_mac(argv[5], cfg->dmac) || parse_mac(argv[6], cfg->smac)) { fprintf(stderr, "xdptool: bad MAC\n"); return 2; }
	load_only(obj, "xdp_fwd");
	int err = bpf_xdp_attach(ifindex, bpf_program__fd(bpf_object__find_program_by_name(obj, "xdp_fwd")), XDP_FLAGS_DRV_MODE, NULL);
	if (err) die("attach xdp_fwd (native)", err);
	printf("ready\n");
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof line, stdin)) {
		printf("0\n"); /* same line protocol as sink; nothing is counted here */
		fflush(stdout);
	}
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(NULL);
	if (argc > 1 && !strcmp(argv[1], "live")) return cmd_live(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "sink")) return cmd_sink(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "redirect")) return cmd_redirect(argc, argv);
	fprintf(stderr, "usage: xdptool live|sink|redirect ...\n");
	return 2;
}
