/**
 * Gateway witnesses: ICMP echo requests over raw sockets (real packets, through @vsd/core's libc door), one
 * socket per address family, replies matched by identifier and sequence. A gateway counts as reached while it
 * answered within the witness window. Raw sockets see every ICMP packet the host receives, so replies are
 * filtered by our identifier and by the gateways we asked.
 */
import { randomInt } from 'node:crypto';
import { sys } from '@vsd/core';
import { addressBytes, bytesToAddress, familyOf } from '../vrrp/addr.js';
import { internetChecksum } from '../vrrp/checksum.js';

const { AF_INET, AF_INET6, EAGAIN, FdWatcher, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW, checkSyscall, libc, libcErrno, sockaddrIn, sockaddrIn6 } =
  sys;

const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const ECHO_REQUEST_V4 = 8;
const ECHO_REPLY_V4 = 0;
const ECHO_REQUEST_V6 = 128;
const ECHO_REPLY_V6 = 129;
const PAYLOAD = Buffer.from('vsd-witness');
const RECV_BUF = 2048;

/** What the witness needs of gateway probes; tests pass a fake. */
export interface GatewayProber {
  /** Send one probe to `gateway`. */
  probe(gateway: string): void;
  /** `gateway` answered. */
  onReply(handler: (gateway: string) => void): void;
  close(): Promise<void>;
}

/** An ICMP echo request (IPv4: with its checksum; IPv6: the kernel fills it in for ICMPv6 raw sockets). */
export function buildEchoRequest(family: 4 | 6, id: number, seq: number): Buffer {
  const b = Buffer.alloc(8 + PAYLOAD.length);
  b[0] = family === 4 ? ECHO_REQUEST_V4 : ECHO_REQUEST_V6;
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  PAYLOAD.copy(b, 8);
  if (family === 4) b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/** The identifier of an echo reply, or undefined when it is something else. IPv4 raw reads start at the IP header. */
export function parseEchoReply(family: 4 | 6, packet: Buffer): { id: number; seq: number } | undefined {
  let icmp = packet;
  if (family === 4) {
    if (packet.length < 20 || packet[0]! >> 4 !== 4) return undefined;
    icmp = packet.subarray((packet[0]! & 0x0f) * 4);
  }
  if (icmp.length < 8 || icmp[0] !== (family === 4 ? ECHO_REPLY_V4 : ECHO_REPLY_V6) || icmp[1] !== 0) return undefined;
  return { id: icmp.readUInt16BE(4), seq: icmp.readUInt16BE(6) };
}

export function openIcmpProber(gateways: readonly string[]): GatewayProber {
  return new IcmpProber(gateways);
}

class IcmpProber implements GatewayProber {
  private readonly id = randomInt(1, 0xffff);
  private seq = 0;
  private readonly sockets = new Map<4 | 6, { fd: number; watcher: sys.FdWatcher }>();
  private handler: (gateway: string) => void = () => {};
  private readonly buf = Buffer.alloc(RECV_BUF);
  private readonly name = Buffer.alloc(28);
  private readonly nameLen = new Uint32Array(1);

  constructor(private readonly gateways: readonly string[]) {
    const families = new Set(gateways.map((g) => familyOf(g)!));
    try {
      for (const f of families) {
        const fd = checkSyscall(
          `socket(SOCK_RAW, ${f === 4 ? 'ICMP' : 'ICMPv6'})`,
          libc().socket(f === 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, f === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6),
        );
        const watcher = new FdWatcher(fd, () => this.drain(f, fd));
        this.sockets.set(f, { fd, watcher });
        watcher.start();
      }
    } catch (err) {
      void this.close();
      throw err;
    }
  }

  onReply(handler: (gateway: string) => void): void {
    this.handler = handler;
  }

  probe(gateway: string): void {
    const f = familyOf(gateway)!;
    const s = this.sockets.get(f);
    if (!s) return;
    this.seq = (this.seq + 1) & 0xffff;
    const pkt = buildEchoRequest(f, this.id, this.seq);
    const sa = f === 4 ? sockaddrIn(addressBytes(gateway)) : sockaddrIn6(addressBytes(gateway));
    const n = Number(libc().sendto(s.fd, pkt, pkt.length, 0, sa, sa.length));
    // No route / host unreachable are the very conditions being probed: an unanswered probe says it already.
    if (n < 0 && libcErrno() !== EAGAIN) return;
  }

  private drain(f: 4 | 6, fd: number): void {
    for (let i = 0; i < 256; i++) {
      this.nameLen[0] = 28;
      const n = Number(libc().recvfrom(fd, this.buf, RECV_BUF, MSG_DONTWAIT, this.name, this.nameLen));
      if (n < 0) return;
      const r = parseEchoReply(f, this.buf.subarray(0, n));
      if (!r || r.id !== this.id) continue;
      const src = bytesToAddress(f === 4 ? this.name.subarray(4, 8) : this.name.subarray(8, 24));
      if (this.gateways.includes(src)) this.handler(src);
    }
  }

  async close(): Promise<void> {
    const all = [...this.sockets.values()];
    this.sockets.clear();
    for (const s of all) {
      await s.watcher.close();
      libc().close(s.fd);
    }
  }
}
