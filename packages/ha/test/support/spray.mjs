// Sends COUNT malformed or spoofed protocol-112 packets to 224.0.0.18 as fast as the socket takes them.
// Usage: node spray.mjs IFACE SRC COUNT. Prints {"sent":N}.
import { openVrrpTransport } from '../../dist/io/vrrp-socket.js';
import { sys } from '@vsd/core';
import { encodeAdvert } from '../../dist/vrrp/codec.js';

const [dev, src, countText] = process.argv.slice(2);
const count = Number(countText);
const t = openVrrpTransport({ family: 4, interface: dev, ifindex: sys.ifIndex(dev), src });
let seed = 7;
const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
const kinds = [
  () => Buffer.from(Array.from({ length: Math.floor(rand() * 60) }, () => Math.floor(rand() * 256))),
  // Valid checksum, wrong VIP list: a spoof attempt with a higher priority must be dropped (addr_list).
  () => encodeAdvert({ version: 3, vrid: 51, priority: 254, intervalCs: 5, addresses: ['10.77.0.200'] }, { family: 4, src, dst: '224.0.0.18' }),
  // Right list, bad checksum.
  () => {
    const p = encodeAdvert({ version: 3, vrid: 51, priority: 254, intervalCs: 5, addresses: ['10.77.0.100'] }, { family: 4, src, dst: '224.0.0.18' });
    p[7] ^= 0xff;
    return p;
  },
  // Truncated address list and a v2 packet to a v3 router.
  () => Buffer.from([0x31, 51, 254, 4, 0, 5, 0, 0, 10, 77]),
  () => encodeAdvert({ version: 2, vrid: 51, priority: 254, intervalCs: 100, addresses: ['10.77.0.100'] }, { family: 4 }),
];
let sent = 0;
for (let i = 0; i < count; i++) {
  try {
    t.send(kinds[i % kinds.length](), '224.0.0.18');
    sent++;
  } catch {
    /* ENOBUFS under flood: keep going */
  }
  if (i % 500 === 0) await new Promise((r) => setImmediate(r));
}
await t.close();
process.stdout.write(JSON.stringify({ sent }) + '\n');
