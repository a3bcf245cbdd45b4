// Round-trip timing of the raw VRRP transport (koffi poll on the libuv pool) against Node's own UDP (epoll),
// between two lab hosts. Usage: node io-echo.mjs echo|ping IFACE SRC [PEER] [COUNT]. Prints one JSON line.
import dgram from 'node:dgram';
import { openVrrpTransport } from '../../dist/io/vrrp-socket.js';
import { sys } from '@vsd/core';

const [role, dev, src, peer, countText] = process.argv.slice(2);
const count = Number(countText ?? 300);
const transport = openVrrpTransport({ family: 4, interface: dev, ifindex: sys.ifIndex(dev), src });
const udp = dgram.createSocket('udp4');

if (role === 'echo') {
  transport.onPacket((p) => p.ok && transport.send(p.payload, p.src));
  udp.on('message', (m, r) => udp.send(m, r.port, r.address));
  udp.bind(9999, src, () => process.stdout.write('{"ready":true}\n'));
  process.on('SIGTERM', async () => {
    const t0 = performance.now();
    await transport.close();
    udp.close();
    process.stdout.write(JSON.stringify({ closeMs: performance.now() - t0 }) + '\n');
    process.exit(0);
  });
} else {
  const payload = Buffer.from('31336401000574ad0a4d0064', 'hex');
  const stats = (xs) => {
    xs.sort((a, b) => a - b);
    return { p50: xs[Math.floor(xs.length / 2)], p99: xs[Math.floor(xs.length * 0.99)] };
  };
  const rawRtts = [];
  const udpRtts = [];
  const once = (send, wait) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const timer = setTimeout(() => resolve(undefined), 200);
      wait(() => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      });
      send();
    });
  let onRaw = () => {};
  transport.onPacket(() => onRaw());
  let onUdp = () => {};
  udp.on('message', () => onUdp());
  udp.bind(0, src, async () => {
    for (let i = 0; i < count; i++) {
      const r = await once(
        () => transport.send(payload, peer),
        (f) => (onRaw = f),
      );
      if (r !== undefined) rawRtts.push(r);
      const u = await once(
        () => udp.send(payload, 9999, peer),
        (f) => (onUdp = f),
      );
      if (u !== undefined) udpRtts.push(u);
    }
    const t0 = performance.now();
    await transport.close();
    const closeMs = performance.now() - t0;
    udp.close();
    process.stdout.write(JSON.stringify({ raw: { n: rawRtts.length, ...stats(rawRtts) }, udp: { n: udpRtts.length, ...stats(udpRtts) }, closeMs }) + '\n');
    process.exit(0);
  });
}
