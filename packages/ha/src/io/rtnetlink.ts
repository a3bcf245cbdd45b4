/**
 * VIPs added and removed over rtnetlink (RTM_NEWADDR / RTM_DELADDR), as `ip addr add|del VIP/PREFIX dev IF`
 * does. The message encoder is pure and unit-tested; the socket part is a few koffi calls.
 */
import { addressBytes, parseCidr, type Family } from '../vrrp/addr.js';
import { FdWatcher } from './fd-watcher.js';
import { AF_INET, AF_INET6, AF_NETLINK, EADDRNOTAVAIL, EAGAIN, EEXIST, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW, SyscallError, check, errno, libc } from './libc.js';

export const NETLINK_ROUTE = 0;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const NLMSG_ERROR = 2;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_F_NODAD = 0x02;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;

export interface AddrRequest {
  op: 'add' | 'del';
  /** `ADDR/PREFIX` */
  vip: string;
  ifindex: number;
  seq: number;
}

function rtattr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  data.copy(out, 4);
  return out;
}

/** nlmsghdr + ifaddrmsg + IFA_LOCAL + IFA_ADDRESS, host byte order (little-endian). */
export function encodeAddrRequest(req: AddrRequest): Buffer {
  const { address, prefix, family } = parseCidr(req.vip);
  const bytes = addressBytes(address);
  const ifa = Buffer.alloc(8);
  ifa[0] = family === 4 ? AF_INET : AF_INET6;
  ifa[1] = prefix;
  // No duplicate address detection for a VIP we are taking over (keepalived sets IFA_F_NODAD too).
  ifa[2] = family === 6 ? IFA_F_NODAD : 0;
  ifa[3] = family === 6 && bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  ifa.writeUInt32LE(req.ifindex, 4);
  const body = Buffer.concat([ifa, rtattr(IFA_LOCAL, bytes), rtattr(IFA_ADDRESS, bytes)]);
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + body.length, 0);
  hdr.writeUInt16LE(req.op === 'add' ? RTM_NEWADDR : RTM_DELADDR, 4);
  hdr.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK | (req.op === 'add' ? NLM_F_CREATE | NLM_F_EXCL : 0), 6);
  hdr.writeUInt32LE(req.seq, 8);
  hdr.writeUInt32LE(0, 12);
  return Buffer.concat([hdr, body]);
}

/** The errno (positive, 0 = success) of the NLMSG_ERROR ack for `seq`, or undefined if the buffer holds none. */
export function parseAck(buf: Buffer, seq: number): number | undefined {
  for (let off = 0; off + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) return undefined;
    if (buf.readUInt16LE(off + 4) === NLMSG_ERROR && buf.readUInt32LE(off + 8) === seq && len >= 20) {
      return Math.abs(buf.readInt32LE(off + 16));
    }
    off += (len + 3) & ~3;
  }
  return undefined;
}

/** Adds and removes VIPs on an interface; tests and dry runs use a fake. */
export interface AddressManager {
  /** Resolves true if added, false if it was already there. */
  add(vip: string, ifindex: number): Promise<boolean>;
  /** Resolves true if removed, false if it was not there. */
  remove(vip: string, ifindex: number): Promise<boolean>;
  close(): Promise<void>;
}

export function openRtnetlink(): AddressManager {
  return new Rtnetlink();
}

class Rtnetlink implements AddressManager {
  private readonly fd: number;
  private seq = Math.floor(Date.now() / 1000) & 0xffffff;
  private readonly buf = Buffer.alloc(8192);
  private queue: Promise<unknown> = Promise.resolve();

  constructor() {
    this.fd = check('socket(AF_NETLINK)', libc().socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
    const sa = Buffer.alloc(12);
    sa.writeUInt16LE(AF_NETLINK, 0);
    check('bind(AF_NETLINK)', libc().bind(this.fd, sa, 12));
  }

  add(vip: string, ifindex: number): Promise<boolean> {
    return this.request('add', vip, ifindex).then((e) => e === 0 || (e === EEXIST ? false : fail('RTM_NEWADDR', e)));
  }

  remove(vip: string, ifindex: number): Promise<boolean> {
    return this.request('del', vip, ifindex).then((e) => e === 0 || (e === EADDRNOTAVAIL ? false : fail('RTM_DELADDR', e)));
  }

  async close(): Promise<void> {
    await this.queue.catch(() => {});
    libc().close(this.fd);
  }

  /** One request at a time: the ack is matched by sequence number. */
  private request(op: 'add' | 'del', vip: string, ifindex: number): Promise<number> {
    const run = async (): Promise<number> => {
      const seq = ++this.seq;
      const msg = encodeAddrRequest({ op, vip, ifindex, seq });
      const kernel = Buffer.alloc(12);
      kernel.writeUInt16LE(AF_NETLINK, 0);
      check('sendto(AF_NETLINK)', libc().sendto(this.fd, msg, msg.length, 0, kernel, 12));
      for (let attempt = 0; attempt < 50; attempt++) {
        const n = Number(libc().recvfrom(this.fd, this.buf, this.buf.length, MSG_DONTWAIT, null, null));
        if (n < 0) {
          if (errno() !== EAGAIN) throw new SyscallError('recvfrom(AF_NETLINK)', errno());
          await waitReadable(this.fd);
          continue;
        }
        const e = parseAck(this.buf.subarray(0, n), seq);
        if (e !== undefined) return e;
      }
      throw new Error(`rtnetlink: no ack for ${op} ${vip}`);
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }
}

function fail(call: string, e: number): never {
  throw new SyscallError(call, e);
}

function waitReadable(fd: number): Promise<void> {
  return new Promise((resolve) => {
    const w = new FdWatcher(fd, () => {
      void w.close().then(resolve);
    });
    w.start();
    // The kernel answers rtnetlink synchronously; this only guards against a lost wake-up.
    setTimeout(() => void w.close().then(resolve), 100).unref();
  });
}

export type { Family };
