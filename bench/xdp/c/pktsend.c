// SPDX-License-Identifier: GPL-2.0
/*
 * bench/xdp helper built by bench/xdp/run.mjs (no libbpf, so it also runs in the user-mode-linux guest):
 *
 *   pktsend send IFNAME DSTMAC SRCMAC SRC_BASE DST DPORT FLOWS PORTS_PER_ADDR SECONDS MAX_PACKETS
 *     Raw AF_PACKET sender: 60-byte UDP frames, 64 per sendmmsg(), qdisc bypassed, each frame the next flow
 *     of a fixed set (source address SRC_BASE + flow / PORTS_PER_ADDR, source port 1024 + flow % PORTS_PER_ADDR).
 *     Stops after SECONDS or MAX_PACKETS. Prints one JSON line: {"sent":N,"seconds":S,"errors":E}. With
 *     PKTSEND_MARKS set, appends "start" and "end" lines to that file right around the send loop (the UML guest's
 *     host sees them through hostfs and reads the guest's CPU time there).
 *   pktsend stats IFNAME
 *     Prints the driver's statistics (what `ethtool -S` shows) as one JSON object.
 *   pktsend gro|tso IFNAME on|off
 *     Sets GRO or TSO on IFNAME (legacy ETHTOOL_SGRO/STSO ioctls; this host has no ethtool binary). On a veth,
 *     GRO on puts the receive side in NAPI mode without an XDP program, so its work can run in a pinned NAPI
 *     thread; the sending veth takes that path for an skb only when TSO is off on it (veth_xmit's GRO check).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FLEN 60

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

static uint16_t ip_csum(const uint8_t *ip)
{
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		if (i != 10) sum += (ip[i] << 8) | ip[i + 1];
	while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static int cmd_feature(int argc, char **argv)
{
	if (argc != 4) { fprintf(stderr, "usage: pktsend gro|tso IFNAME on|off\n"); return 2; }
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ethtool_value ev = { .cmd = !strcmp(argv[1], "gro") ? ETHTOOL_SGRO : ETHTOOL_STSO, .data = !strcmp(argv[3], "on") };
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[2]);
	ifr.ifr_data = (void *)&ev;
	if (s < 0 || ioctl(s, SIOCETHTOOL, &ifr) < 0) { fprintf(stderr, "pktsend: %s %s on %s: %s\n", argv[1], argv[3], argv[2], strerror(errno)); return 1; }
	return 0;
}

static void mark(const char *what)
{
	const char *path = getenv("PKTSEND_MARKS");
	if (!path) return;
	FILE *f = fopen(path, "a");
	if (f) { fprintf(f, "%s\n", what); fclose(f); }
}

static int cmd_stats(int argc, char **argv)
{
	if (argc != 3) { fprintf(stderr, "usage: pktsend stats IFNAME\n"); return 2; }
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[2]);
	struct { struct ethtool_sset_info hdr; uint32_t len; } info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_STATS } };
	ifr.ifr_data = (void *)&info;
	if (s < 0 || ioctl(s, SIOCETHTOOL, &ifr) < 0 || !info.hdr.sset_mask) { fprintf(stderr, "pktsend: stats of %s: %s\n", argv[2], strerror(errno)); return 1; }
	uint32_t n = info.len;
	struct ethtool_gstrings *names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	struct ethtool_stats *vals = calloc(1, sizeof(*vals) + (size_t)n * 8);
	names->cmd = ETHTOOL_GSTRINGS; names->string_set = ETH_SS_STATS; names->len = n;
	vals->cmd = ETHTOOL_GSTATS; vals->n_stats = n;
	ifr.ifr_data = (void *)names;
	if (ioctl(s, SIOCETHTOOL, &ifr) < 0) { perror("pktsend: ETHTOOL_GSTRINGS"); return 1; }
	ifr.ifr_data = (void *)vals;
	if (ioctl(s, SIOCETHTOOL, &ifr) < 0) { perror("pktsend: ETHTOOL_GSTATS"); return 1; }
	printf("{");
	for (uint32_t i = 0; i < n; i++)
		printf("%s\"%.*s\":%llu", i ? "," : "", ETH_GSTRING_LEN, (char *)names->data + i * ETH_GSTRING_LEN, (unsigned long long)vals->data[i]);
	printf("}\n");
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	if (argc != 12) { fprintf(stderr, "usage: pktsend send IFNAME DSTMAC SRCMAC SRC_BASE DST DPORT FLOWS PORTS_PER_ADDR SECONDS MAX_PACKETS\n"); return 2; }
	uint8_t dmac[6], smac[6];
	struct in_addr src, dst;
	if (parse_mac(argv[3], dmac) || parse_mac(argv[4], smac) || !inet_aton(argv[5], &src) || !inet_aton(argv[6], &dst)) {
		fprintf(stderr, "pktsend: bad MAC or address\n");
		return 2;
	}
	uint16_t dport = atoi(argv[7]);
	uint32_t flows = strtoul(argv[8], NULL, 10), ppa = strtoul(argv[9], NULL, 10);
	double seconds = atof(argv[10]);
	uint64_t maxp = strtoull(argv[11], NULL, 10);
	if (!flows || !ppa || seconds <= 0 || seconds > 600 || !maxp) { fprintf(stderr, "pktsend: bad bounds\n"); return 2; }
	int ifindex = if_nametoindex(argv[2]);
	if (!ifindex) { fprintf(stderr, "pktsend: %s: %s\n", argv[2], strerror(errno)); return 1; }

	int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only, nothing is queued for reading */
	if (fd < 0) { perror("pktsend: socket"); return 1; }
	int one = 1;
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6, .sll_protocol = htons(ETH_P_IP) };
	memcpy(sll.sll_addr, dmac, 6);
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("pktsend: bind"); return 1; }

	static uint8_t frames[BATCH][FLEN];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	memset(msgs, 0, sizeof msgs);
	const uint32_t sbase = ntohl(src.s_addr);
	for (int i = 0; i < BATCH; i++) {
		uint8_t *f = frames[i];
		memset(f, 0, FLEN);
		memcpy(f, dmac, 6); memcpy(f + 6, smac, 6);
		f[12] = 0x08; f[13] = 0x00;
		uint8_t *ip = f + 14;
		ip[0] = 0x45; ip[2] = 0; ip[3] = FLEN - 14; ip[8] = 64; ip[9] = 17;
		memcpy(ip + 16, &dst.s_addr, 4);
		uint8_t *udp = ip + 20;
		udp[2] = dport >> 8; udp[3] = dport & 0xff;
		udp[5] = FLEN - 14 - 20;
		iov[i].iov_base = f;
		iov[i].iov_len = FLEN;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	uint64_t sent = 0, errors = 0, flow = 0;
	mark("start");
	double t0 = now();
	for (uint64_t round = 0; sent < maxp; round++) {
		/* The clock is read once per 16 calls: cheap, and still well inside the bound. */
		if ((round & 15) == 0 && now() - t0 >= seconds) break;
		for (int i = 0; i < BATCH; i++, flow = flow + 1 == flows ? 0 : flow + 1) {
			uint8_t *ip = frames[i] + 14;
			uint32_t s = htonl(sbase + (uint32_t)(flow / ppa));
			uint16_t sp = 1024 + flow % ppa;
			memcpy(ip + 12, &s, 4);
			ip[10] = ip[11] = 0;
			uint16_t c = ip_csum(ip);
			ip[10] = c >> 8; ip[11] = c & 0xff;
			ip[20] = sp >> 8; ip[21] = sp & 0xff;
		}
		int n = sendmmsg(fd, msgs, BATCH, 0);
		if (n < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) { perror("pktsend: sendmmsg"); return 1; }
			errors++;
			continue;
		}
		sent += n;
	}
	double secs = now() - t0;
	mark("end");
	printf("{\"sent\":%llu,\"seconds\":%.6f,\"errors\":%llu}\n", (unsigned long long)sent, secs, (unsigned long long)errors);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "send")) return cmd_send(argc, argv);
	if (argc > 1 && (!strcmp(argv[1], "gro") || !strcmp(argv[1], "tso"))) return cmd_feature(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "stats")) return cmd_stats(argc, argv);
	fprintf(stderr, "usage: pktsend send|stats|gro|tso ...\n");
	return 2;
}
