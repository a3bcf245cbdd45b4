// Turns transmit checksum offload of an interface on or off through the legacy SIOCETHTOOL ioctl (this machine has
// no ethtool binary): `node test/lib/ethtool-ioctl.mjs IFACE tx on|off`, run inside the interface's namespace.
// Why the XDP namespace tests need it: a veth transmitting with checksum offload hands on CHECKSUM_PARTIAL packets,
// whose TCP checksum covers only the pseudo-header; a dispatcher's XDP_TX turns them into frames without that
// metadata, so the real server drops them as bad (TcpInCsumErrors: 6 of 6 SYNs, measured). A real NIC delivers
// complete checksums, so this is the veth lab's concern, not the dataplane's.
import { createRequire } from 'node:module';

const ETHTOOL_SET = { tx: 0x17 /* ETHTOOL_STXCSUM */ };
const SIOCETHTOOL = 0x8946;

const [dev, feature, state] = process.argv.slice(2);
if (!dev || !(feature in ETHTOOL_SET) || (state !== 'on' && state !== 'off')) {
  process.stderr.write('usage: ethtool-ioctl.mjs IFACE tx on|off\n');
  process.exit(2);
}
const koffi = createRequire(new URL('../../packages/core/package.json', import.meta.url))('koffi');
const libc = koffi.load('libc.so.6');
const socket = libc.func('int socket(int, int, int)');
const ioctl = libc.func('int ioctl(int, unsigned long, void *)');
const close = libc.func('int close(int)');
const value = Buffer.alloc(8); // struct ethtool_value { u32 cmd; u32 data; }
value.writeUInt32LE(ETHTOOL_SET[feature], 0);
value.writeUInt32LE(state === 'on' ? 1 : 0, 4);
const ifr = Buffer.alloc(40); // struct ifreq: ifr_name[16], then ifr_data
ifr.write(dev, 0, 15, 'latin1');
ifr.writeBigUInt64LE(BigInt(koffi.address(value)), 16);
const fd = socket(2, 2, 0); // AF_INET, SOCK_DGRAM
const rc = ioctl(fd, SIOCETHTOOL, ifr);
const errno = koffi.errno();
close(fd);
if (rc !== 0) {
  process.stderr.write(`SIOCETHTOOL ${feature} ${state} on ${dev}: errno ${errno}\n`);
  process.exit(1);
}
