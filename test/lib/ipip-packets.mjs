// Hand-made tunnelled packets for the namespace tests of the real-server decapsulator: IPv4 + UDP inside IPIP
// (IP protocol 4) or GUE, built byte by byte, and a raw-socket sender (run as a script inside a namespace) so the
// decapsulator can be tested before anything in vsd encapsulates.
//   node test/lib/ipip-packets.mjs send '{"outerSrc":..,"outerDst":..,"innerSrc":..,"innerDst":..,"sport":..,"dport":..,"payload":"..","encap":"ipip"|"gue0"|"gue1","guePort":..}'
import { createRequire } from 'node:module';

const ip4 = (s) => Buffer.from(s.split('.').map(Number));

function sum16(buf, init = 0) {
  let s = init;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length % 2) s += buf[buf.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

export function ipv4Header({ src, dst, proto, payloadLength, tos = 0, ttl = 64, id = 0, fragOff = 0 }) {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = tos;
  h.writeUInt16BE(20 + payloadLength, 2);
  h.writeUInt16BE(id, 4);
  h.writeUInt16BE(fragOff, 6);
  h[8] = ttl;
  h[9] = proto;
  ip4(src).copy(h, 12);
  ip4(dst).copy(h, 16);
  h.writeUInt16BE(~sum16(h) & 0xffff, 10);
  return h;
}

export function udpDatagram({ src, dst, sport, dport, payload }) {
  const u = Buffer.alloc(8 + payload.length);
  u.writeUInt16BE(sport, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(u.length, 4);
  payload.copy(u, 8);
  const pseudo = Buffer.concat([ip4(src), ip4(dst), Buffer.from([0, 17]), Buffer.from([u.length >> 8, u.length & 0xff])]);
  const c = ~sum16(u, sum16(pseudo)) & 0xffff;
  u.writeUInt16BE(c === 0 ? 0xffff : c, 6);
  return u;
}

/** The inner IPv4/UDP packet: client -> VIP. */
export function innerPacket({ innerSrc, innerDst, sport, dport, payload, tos = 0 }) {
  const udp = udpDatagram({ src: innerSrc, dst: innerDst, sport, dport, payload: Buffer.from(payload) });
  return Buffer.concat([ipv4Header({ src: innerSrc, dst: innerDst, proto: 17, payloadLength: udp.length, tos }), udp]);
}

/** Outer IPv4 header + encapsulation + inner packet. encap: ipip (proto 4), gue0 (GUE version 0, proto 4), gue1 (direct IPv4). */
export function tunnelled(o) {
  const inner = innerPacket(o);
  let body = inner;
  let proto = 4;
  if (o.encap === 'gue0' || o.encap === 'gue1') {
    const gue = o.encap === 'gue0' ? Buffer.from([0, 4, 0, 0]) : Buffer.alloc(0);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(o.gueSport ?? 40000, 0);
    udp.writeUInt16BE(o.guePort, 2);
    udp.writeUInt16BE(8 + gue.length + inner.length, 4); // checksum 0: allowed for UDP over IPv4
    body = Buffer.concat([udp, gue, inner]);
    proto = 17;
  }
  return Buffer.concat([
    ipv4Header({ src: o.outerSrc, dst: o.outerDst, proto, payloadLength: body.length, tos: o.outerTos ?? 0, fragOff: o.outerFragOff ?? 0 }),
    body,
  ]);
}

/** An Ethernet frame around an IPv4 packet (for BPF_PROG_TEST_RUN). */
export function ethernet(packet, dstMac = '02:00:00:00:00:02', srcMac = '02:00:00:00:00:01') {
  const mac = (m) => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));
  return Buffer.concat([mac(dstMac), mac(srcMac), Buffer.from([0x08, 0x00]), packet]);
}

/** Send one packet with its own IPv4 header through a raw IPPROTO_RAW socket (the kernel fills in nothing we set). */
function sendRaw(packet, dst) {
  const koffi = createRequire(new URL('../../packages/core/package.json', import.meta.url))('koffi');
  const libc = koffi.load('libc.so.6');
  const socket = libc.func('int socket(int, int, int)');
  const sendto = libc.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)');
  const close = libc.func('int close(int)');
  const fd = socket(2, 3, 255); // AF_INET, SOCK_RAW, IPPROTO_RAW
  if (fd < 0) throw new Error(`socket(AF_INET, SOCK_RAW, IPPROTO_RAW): errno ${koffi.errno()}`);
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(2, 0);
  ip4(dst).copy(sa, 4);
  const n = sendto(fd, packet, packet.length, 0, sa, sa.length);
  const err = koffi.errno();
  close(fd);
  if (n !== packet.length) throw new Error(`sendto: ${n} (errno ${err})`);
}

if (process.argv[2] === 'send') {
  const o = JSON.parse(process.argv[3]);
  const count = o.count ?? 1;
  for (let i = 0; i < count; i++) sendRaw(tunnelled({ ...o, sport: o.sport + (o.sportStep ?? 0) * i }), o.outerDst);
  process.stdout.write(`sent ${count}\n`);
}
