/**
 * VIPs added and removed over rtnetlink (RTM_NEWADDR / RTM_DELADDR), as `ip addr add|del VIP/PREFIX dev IF`
 * does, and the macvlan interface of `use_vmac` (RTM_NEWLINK / RTM_DELLINK, as `ip link add ... type macvlan`).
 * The message encoders are pure and unit-tested; the socket part is a few koffi calls.
 */
import { addressBytes, parseCidr, type Family } from '../vrrp/addr.js';
import { SyscallError, sys } from '@vsd/core';

const { AF_INET, AF_INET6, AF_NETLINK, EADDRNOTAVAIL, EAGAIN, EEXIST, FdWatcher, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW, checkSyscall: check, libc, libcErrno: errno } = sys;

export const NETLINK_ROUTE = 0;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
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
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_LINK = 5;
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE = { private: 1, vepa: 2, bridge: 4 } as const;
const NLA_F_NESTED = 0x8000;
const IFF_UP = 1;
const ENODEV = 19;
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

export interface MacvlanRequest {
  /** New interface name (at most 15 bytes). */
  name: string;
  /** The interface it sits on. */
  parent: number;
  mac: Buffer;
  mode: keyof typeof MACVLAN_MODE;
  seq: number;
}

function header(type: number, flags: number, seq: number, bodyLength: number): Buffer {
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + bodyLength, 0);
  hdr.writeUInt16LE(type, 4);
  hdr.writeUInt16LE(flags, 6);
  hdr.writeUInt32LE(seq, 8);
  return hdr;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

function ifinfomsg(index: number, flags: number, change: number): Buffer {
  const m = Buffer.alloc(16);
  m.writeInt32LE(index, 4);
  m.writeUInt32LE(flags, 8);
  m.writeUInt32LE(change, 12);
  return m;
}

/**
 * RTM_NEWLINK for a macvlan with a fixed MAC, created down: the caller turns IPv6 address generation off before
 * bringing it up (both nodes' macvlans carry the same virtual MAC, so an EUI-64 link-local would be duplicated on
 * the segment), which the kernel does not take in the create request itself (IFLA_AF_SPEC: EAFNOSUPPORT).
 */
export function encodeMacvlanRequest(req: MacvlanRequest): Buffer {
  if (Buffer.byteLength(req.name) > 15) throw new Error(`interface name ${req.name} is longer than 15 bytes`);
  const kind = rtattr(IFLA_INFO_KIND, Buffer.from('macvlan\0'));
  const data = rtattr(IFLA_INFO_DATA | NLA_F_NESTED, rtattr(IFLA_MACVLAN_MODE, u32(MACVLAN_MODE[req.mode])));
  const body = Buffer.concat([
    ifinfomsg(0, 0, 0),
    rtattr(IFLA_IFNAME, Buffer.from(`${req.name}\0`)),
    rtattr(IFLA_LINK, u32(req.parent)),
    rtattr(IFLA_ADDRESS, req.mac),
    rtattr(IFLA_LINKINFO | NLA_F_NESTED, Buffer.concat([kind, data])),
  ]);
  return Buffer.concat([header(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, req.seq, body.length), body]);
}

/** RTM_NEWLINK on an existing interface: set it up or down, as `ip link set IF up|down`. */
export function encodeLinkUp(ifindex: number, up: boolean, seq: number): Buffer {
  const body = ifinfomsg(ifindex, up ? IFF_UP : 0, IFF_UP);
  return Buffer.concat([header(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq >>> 0, body.length), body]);
}

/** RTM_DELLINK by name (the index of a leftover interface is not known to a new process). */
export function encodeLinkDelete(name: string, seq: number): Buffer {
  const body = Buffer.concat([ifinfomsg(0, 0, 0), rtattr(IFLA_IFNAME, Buffer.from(`${name}\0`))]);
  return Buffer.concat([header(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq >>> 0, body.length), body]);
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

/**
 * Send rtnetlink requests and wait for their acks without the event loop: for exit handlers (an uncaught exception,
 * `process.on('exit')`), where no callback runs again, and for the few link changes at start and stop. The kernel
 * handles route requests inside sendto(), so each ack is already queued when it returns; poll() only guards.
 * Returns each request's errno (0 = done).
 */
export function rtnetlinkSync(messages: readonly Buffer[]): number[] {
  const c = libc();
  const fd = check('socket(AF_NETLINK)', c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  try {
    const sa = Buffer.alloc(12);
    sa.writeUInt16LE(AF_NETLINK, 0);
    check('bind(AF_NETLINK)', c.bind(fd, sa, 12));
    const buf = Buffer.alloc(8192);
    const pfd = Buffer.alloc(8);
    return messages.map((msg) => {
      const seq = msg.readUInt32LE(8);
      check('sendto(AF_NETLINK)', c.sendto(fd, msg, msg.length, 0, sa, 12));
      for (let attempt = 0; attempt < 20; attempt++) {
        const n = Number(c.recvfrom(fd, buf, buf.length, MSG_DONTWAIT, null, null));
        if (n < 0) {
          if (errno() !== EAGAIN) throw new SyscallError('recvfrom(AF_NETLINK)', errno());
          pfd.writeInt32LE(fd, 0);
          pfd.writeInt16LE(1, 4); // POLLIN
          c.poll(pfd, 1, 50);
          continue;
        }
        const e = parseAck(buf.subarray(0, n), seq);
        if (e !== undefined) return e;
      }
      throw new Error(`rtnetlink: no ack for request ${seq}`);
    });
  } finally {
    c.close(fd);
  }
}

let syncSeq = (Date.now() & 0xffff) << 8;
const nextSeq = () => (syncSeq = (syncSeq + 1) >>> 0);

/** Remove addresses now; absent ones (EADDRNOTAVAIL) and vanished interfaces (ENODEV) are not errors. */
export function removeAddressesSync(entries: readonly { vip: string; ifindex: number }[]): { removed: string[]; errors: { vip: string; errno: number }[] } {
  const codes = rtnetlinkSync(entries.map((e) => encodeAddrRequest({ op: 'del', vip: e.vip, ifindex: e.ifindex, seq: nextSeq() })));
  const removed: string[] = [];
  const errors: { vip: string; errno: number }[] = [];
  codes.forEach((e, i) => {
    if (e === 0) removed.push(entries[i].vip);
    else if (e !== EADDRNOTAVAIL && e !== ENODEV) errors.push({ vip: entries[i].vip, errno: e });
  });
  return { removed, errors };
}

/** Create a macvlan; throws SyscallError (EEXIST when the name is taken). */
export function createMacvlanSync(req: Omit<MacvlanRequest, 'seq'>): void {
  const [e] = rtnetlinkSync([encodeMacvlanRequest({ ...req, seq: nextSeq() })]);
  if (e !== 0) fail(`RTM_NEWLINK(macvlan ${req.name})`, e);
}

export function setLinkUpSync(ifindex: number, up: boolean): void {
  const [e] = rtnetlinkSync([encodeLinkUp(ifindex, up, nextSeq())]);
  if (e !== 0) fail(`RTM_NEWLINK(${ifindex} ${up ? 'up' : 'down'})`, e);
}

/** Delete an interface by name; false if there was none. */
export function deleteLinkSync(name: string): boolean {
  const [e] = rtnetlinkSync([encodeLinkDelete(name, nextSeq())]);
  if (e === ENODEV) return false;
  if (e !== 0) fail(`RTM_DELLINK(${name})`, e);
  return true;
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
