/**
 * Raw IP protocol-112 sockets for VRRP adverts, as keepalived opens them: one receive socket bound to the
 * device (joined to 224.0.0.18 / ff02::12 unless unicast) and one send socket bound to the source address with
 * TTL / hop limit 255. The receive side never blocks the event loop (FdWatcher).
 */
import { addressBytes, bytesToAddress, type Family } from '../vrrp/addr.js';
import { IPPROTO_VRRP, parseIpv4, type DropReason } from '../vrrp/codec.js';
import { sys } from '@vsd/core';

const {
  AF_INET,
  AF_INET6,
  EAGAIN,
  FdWatcher,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_ADD_MEMBERSHIP,
  IPV6_CHECKSUM,
  IPV6_HOPLIMIT,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_PKTINFO,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_UNICAST_HOPS,
  IP_ADD_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TOS,
  IP_TTL,
  MSG_DONTWAIT,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_SOCKET,
  SO_BINDTODEVICE,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  checkSyscall,
  libc,
  libcErrno,
  setIntOption,
  sockaddrIn,
  sockaddrIn6,
} = sys;

export type ReceivedPacket =
  | { ok: true; src: string; dst: string; ttl: number | undefined; payload: Buffer; checksumVerified: boolean }
  | { ok: false; reason: DropReason };

export interface VrrpTransportOptions {
  family: Family;
  interface: string;
  ifindex: number;
  /** Source address of our adverts (IPv6: the link-local address). */
  src: string;
  /** Multicast group to join; undefined in unicast mode. */
  group?: string;
}

/** What the instance needs from the wire; tests pass an in-memory pair. */
export interface VrrpTransport {
  send(payload: Buffer, dst: string): void;
  onPacket(handler: (packet: ReceivedPacket) => void): void;
  close(): Promise<void>;
}

const RECV_BUF = 2048;
/** Room for a burst of junk so that real adverts queued behind it are not dropped by the kernel. */
const RCVBUF_BYTES = 4 * 1024 * 1024;
/** Packets handled per wake-up before timers get a turn. */
const DRAIN_BATCH = 512;

export function openVrrpTransport(options: VrrpTransportOptions): VrrpTransport {
  return options.family === 4 ? new Ipv4Transport(options) : new Ipv6Transport(options);
}

abstract class RawTransport implements VrrpTransport {
  protected recvFd = -1;
  protected sendFd = -1;
  protected handler: (packet: ReceivedPacket) => void = () => {};
  protected readonly buf = Buffer.alloc(RECV_BUF);
  private watcher: sys.FdWatcher | undefined;

  constructor(protected readonly options: VrrpTransportOptions) {
    try {
      this.open();
    } catch (err) {
      this.closeFds();
      throw err;
    }
    this.watcher = new FdWatcher(this.recvFd, () => this.drain());
    this.watcher.start();
  }

  protected abstract open(): void;
  protected abstract receiveOne(): ReceivedPacket | undefined;
  abstract send(payload: Buffer, dst: string): void;

  onPacket(handler: (packet: ReceivedPacket) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    await w?.close();
    this.closeFds();
  }

  protected enlargeReceiveBuffer(fd: number): void {
    try {
      this.setInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES, 'setsockopt(SO_RCVBUFFORCE)');
    } catch {
      // Without CAP_NET_ADMIN the kernel caps SO_RCVBUF at net.core.rmem_max.
      this.setInt(fd, SOL_SOCKET, SO_RCVBUF, RCVBUF_BYTES, 'setsockopt(SO_RCVBUF)');
    }
  }

  /** Throws a SyscallError naming the call and the VRRP interface when `rc` is negative. */
  protected check(call: string, rc: number | bigint, context: Record<string, string> = {}): number {
    return checkSyscall(call, rc, { interface: this.options.interface, ...context });
  }

  protected setInt(fd: number, level: number, name: number, value: number, call: string): void {
    setIntOption(fd, level, name, value, call, { interface: this.options.interface });
  }

  protected bindToDevice(fd: number): void {
    const name = Buffer.from(`${this.options.interface}\0`);
    this.check('setsockopt(SO_BINDTODEVICE)', libc().setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length));
  }

  protected socket(family: number): number {
    return this.check('socket(SOCK_RAW, 112)', libc().socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_VRRP));
  }

  private drain(): void {
    // Bounded so a flood cannot starve the event loop; the next poll picks up the rest.
    for (let i = 0; i < DRAIN_BATCH; i++) {
      const packet = this.receiveOne();
      if (!packet) return;
      this.handler(packet);
    }
  }

  private closeFds(): void {
    for (const fd of [this.recvFd, this.sendFd]) if (fd >= 0) libc().close(fd);
    this.recvFd = this.sendFd = -1;
  }
}

class Ipv4Transport extends RawTransport {
  private readonly name = Buffer.alloc(16);
  private readonly nameLen = new Uint32Array(1);

  protected open(): void {
    const { ifindex, group } = this.options;
    // Field initialisers run after the base constructor calls open(), so nothing here may use them.
    const srcBytes = addressBytes(this.options.src);
    this.recvFd = this.socket(AF_INET);
    this.enlargeReceiveBuffer(this.recvFd);
    this.bindToDevice(this.recvFd);
    if (group) {
      const mreqn = Buffer.alloc(12);
      addressBytes(group).copy(mreqn, 0);
      mreqn.writeInt32LE(ifindex, 8);
      this.check('setsockopt(IP_ADD_MEMBERSHIP)', libc().setsockopt(this.recvFd, IPPROTO_IP, IP_ADD_MEMBERSHIP, mreqn, 12));
    }
    this.sendFd = this.socket(AF_INET);
    this.setInt(this.sendFd, SOL_SOCKET, SO_RCVBUF, 0, 'setsockopt(SO_RCVBUF)');
    this.bindToDevice(this.sendFd);
    this.setInt(this.sendFd, IPPROTO_IP, IP_TOS, 0xc0, 'setsockopt(IP_TOS)');
    this.setInt(this.sendFd, IPPROTO_IP, IP_TTL, 255, 'setsockopt(IP_TTL)');
    this.setInt(this.sendFd, IPPROTO_IP, IP_MULTICAST_TTL, 255, 'setsockopt(IP_MULTICAST_TTL)');
    this.setInt(this.sendFd, IPPROTO_IP, IP_MULTICAST_LOOP, 0, 'setsockopt(IP_MULTICAST_LOOP)');
    const ifreq = Buffer.alloc(12);
    srcBytes.copy(ifreq, 4);
    ifreq.writeInt32LE(ifindex, 8);
    this.check('setsockopt(IP_MULTICAST_IF)', libc().setsockopt(this.sendFd, IPPROTO_IP, IP_MULTICAST_IF, ifreq, 12));
    this.check('bind', libc().bind(this.sendFd, sockaddrIn(srcBytes), 16), { address: this.options.src });
  }

  send(payload: Buffer, dst: string): void {
    const n = Number(libc().sendto(this.sendFd, payload, payload.length, 0, sockaddrIn(addressBytes(dst)), 16));
    if (n < 0 && libcErrno() !== EAGAIN) this.check('sendto', n, { destination: dst });
  }

  protected receiveOne(): ReceivedPacket | undefined {
    this.nameLen[0] = 16;
    const n = Number(libc().recvfrom(this.recvFd, this.buf, RECV_BUF, MSG_DONTWAIT, this.name, this.nameLen));
    if (n < 0) return undefined;
    const ip = parseIpv4(Buffer.from(this.buf.subarray(0, n)));
    if (!ip.ok) return ip;
    const { src, dst, ttl, payload } = ip.packet;
    return { ok: true, src, dst, ttl, payload, checksumVerified: false };
  }
}

class Ipv6Transport extends RawTransport {
  private readonly name = Buffer.alloc(28);
  private readonly control = Buffer.alloc(128);

  protected open(): void {
    const { ifindex, group } = this.options;
    // Field initialisers run after the base constructor calls open(), so nothing here may use them.
    const srcBytes = addressBytes(this.options.src);
    this.recvFd = this.socket(AF_INET6);
    this.enlargeReceiveBuffer(this.recvFd);
    // The kernel then verifies the checksum on receive (dropping bad ones) and fills it on send, as keepalived relies on.
    this.setInt(this.recvFd, IPPROTO_IPV6, IPV6_CHECKSUM, 6, 'setsockopt(IPV6_CHECKSUM)');
    this.bindToDevice(this.recvFd);
    this.setInt(this.recvFd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, 'setsockopt(IPV6_RECVHOPLIMIT)');
    this.setInt(this.recvFd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, 'setsockopt(IPV6_RECVPKTINFO)');
    if (group) {
      const mreq = Buffer.alloc(20);
      addressBytes(group).copy(mreq, 0);
      mreq.writeInt32LE(ifindex, 16);
      this.check('setsockopt(IPV6_ADD_MEMBERSHIP)', libc().setsockopt(this.recvFd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, mreq, 20));
    }
    this.sendFd = this.socket(AF_INET6);
    this.setInt(this.sendFd, SOL_SOCKET, SO_RCVBUF, 0, 'setsockopt(SO_RCVBUF)');
    this.setInt(this.sendFd, IPPROTO_IPV6, IPV6_CHECKSUM, 6, 'setsockopt(IPV6_CHECKSUM)');
    this.bindToDevice(this.sendFd);
    this.setInt(this.sendFd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255, 'setsockopt(IPV6_MULTICAST_HOPS)');
    this.setInt(this.sendFd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255, 'setsockopt(IPV6_UNICAST_HOPS)');
    this.setInt(this.sendFd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex, 'setsockopt(IPV6_MULTICAST_IF)');
    this.setInt(this.sendFd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, 'setsockopt(IPV6_MULTICAST_LOOP)');
    this.check('bind', libc().bind(this.sendFd, sockaddrIn6(srcBytes, ifindex), 28), { address: this.options.src });
  }

  send(payload: Buffer, dst: string): void {
    const sa = sockaddrIn6(addressBytes(dst), this.options.ifindex);
    const n = Number(libc().sendto(this.sendFd, payload, payload.length, 0, sa, 28));
    if (n < 0 && libcErrno() !== EAGAIN) this.check('sendto', n, { destination: dst });
  }

  protected receiveOne(): ReceivedPacket | undefined {
    const msg = {
      name: this.name,
      namelen: 28,
      iov: [{ base: this.buf, len: RECV_BUF }],
      iovlen: 1,
      control: this.control,
      controllen: this.control.length,
      flags: 0,
    };
    const n = Number(libc().recvmsg(this.recvFd, msg, MSG_DONTWAIT));
    if (n < 0) return undefined;
    const src = bytesToAddress(this.name.subarray(8, 24));
    let ttl: number | undefined;
    let dst = '';
    // struct cmsghdr on 64-bit Linux: size_t len, int level, int type, data aligned to 8.
    for (let off = 0; off + 16 <= msg.controllen; ) {
      const len = Number(this.control.readBigUInt64LE(off));
      if (len < 16) break;
      const level = this.control.readInt32LE(off + 8);
      const type = this.control.readInt32LE(off + 12);
      if (level === IPPROTO_IPV6 && type === IPV6_HOPLIMIT) ttl = this.control.readInt32LE(off + 16);
      if (level === IPPROTO_IPV6 && type === IPV6_PKTINFO) dst = bytesToAddress(this.control.subarray(off + 16, off + 32));
      off += (len + 7) & ~7;
    }
    return { ok: true, src, dst, ttl, payload: Buffer.from(this.buf.subarray(0, n)), checksumVerified: true };
  }
}
