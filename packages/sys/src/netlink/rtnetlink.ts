/**
 * rtnetlink (NETLINK_ROUTE) for the HA pair: VIPs added and removed as `ip addr add|del VIP/PREFIX dev IF` does
 * (RTM_NEWADDR / RTM_DELADDR), and the macvlan interface of `use_vmac` (RTM_NEWLINK / RTM_DELLINK, as `ip link add
 * ... type macvlan`), on the same attribute encoder and NetlinkSocket as generic netlink. The request builders are
 * pure and unit-tested.
 *
 * Every call is synchronous: the kernel handles a route request inside sendto() (rtnetlink_rcv runs in the sender's
 * context), so its ACK is queued before recv() runs, and the exit handlers (an uncaught exception, process.exit),
 * where no callback runs again, use the same path. The socket's receive timeout only bounds a reply that never
 * comes (ROUTE_TIMEOUT_MS).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { SyscallError } from '../errors.js';
import { addressBytes } from '@vsd/protocol';
import { AF_INET, AF_INET6 } from '../constants.js';
import { EADDRNOTAVAIL, EEXIST, ENODEV } from '../errno.js';
import { attr, attrNested, attrString, attrU32 } from './attrs.js';
import {
  IFA_ADDRESS,
  IFA_F_NODAD,
  IFA_LOCAL,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_MACVLAN_MODE,
  MACVLAN_MODE,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
} from './constants.js';
import { encodeMessage } from './message.js';
import { NetlinkSocket, type NetlinkRequest } from './socket.js';

/** Longest wait for one ACK; the kernel answers inside sendto(), so this only bounds a lost reply. */
const ROUTE_TIMEOUT_MS = 1000;
/** ACKs are 36 bytes with NETLINK_CAP_ACK; a batch of a few hundred fits. */
const ROUTE_READ_BYTES = 64 * 1024;

/** `ADDR/PREFIX` split and checked: the address bytes, prefix length and family. */
function parseVip(vip: string): { bytes: Uint8Array; prefix: number; v6: boolean } {
  const [address = '', prefixText] = vip.split('/');
  const v6 = isIPv6(address);
  if (!v6 && !isIPv4(address)) throw new TypeError(`not an IP address: ${vip}`);
  const max = v6 ? 128 : 32;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText)))
    throw new TypeError(`bad prefix length in ${vip}`);
  return { bytes: addressBytes(address), prefix, v6 };
}

/** RTM_NEWADDR (with CREATE|EXCL) or RTM_DELADDR: ifaddrmsg + IFA_LOCAL + IFA_ADDRESS, as `ip addr` sends it. */
export function addrRequest(op: 'add' | 'del', vip: string, ifindex: number): NetlinkRequest {
  const { bytes, prefix, v6 } = parseVip(vip);
  const ifa = Buffer.alloc(8);
  ifa[0] = v6 ? AF_INET6 : AF_INET;
  ifa[1] = prefix;
  // No duplicate address detection for a VIP we are taking over (keepalived sets IFA_F_NODAD too).
  ifa[2] = v6 ? IFA_F_NODAD : 0;
  ifa[3] = v6 && bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  ifa.writeUInt32LE(ifindex, 4);
  return {
    type: op === 'add' ? RTM_NEWADDR : RTM_DELADDR,
    flags: NLM_F_REQUEST | NLM_F_ACK | (op === 'add' ? NLM_F_CREATE | NLM_F_EXCL : 0),
    payload: Buffer.concat([ifa, attr(IFA_LOCAL, bytes), attr(IFA_ADDRESS, bytes)]),
  };
}

export interface AddrRequest {
  op: 'add' | 'del';
  /** `ADDR/PREFIX` */
  vip: string;
  ifindex: number;
  seq: number;
}

/** The whole message of addrRequest (nlmsghdr included), host byte order. */
export function encodeAddrRequest(req: AddrRequest): Buffer {
  const r = addrRequest(req.op, req.vip, req.ifindex);
  return encodeMessage(r.type, r.flags, req.seq, r.payload);
}

export interface MacvlanRequest {
  /** New interface name (at most 15 bytes). */
  name: string;
  /** The interface it sits on. */
  parent: number;
  mac: Buffer;
  mode: keyof typeof MACVLAN_MODE;
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
export function macvlanRequest(req: MacvlanRequest): NetlinkRequest {
  if (Buffer.byteLength(req.name) > 15) throw new TypeError(`interface name ${req.name} is longer than 15 bytes`);
  const payload = Buffer.concat([
    ifinfomsg(0, 0, 0),
    attrString(IFLA_IFNAME, req.name),
    attrU32(IFLA_LINK, req.parent),
    attr(IFLA_ADDRESS, req.mac),
    attrNested(IFLA_LINKINFO, [attrString(IFLA_INFO_KIND, 'macvlan'), attrNested(IFLA_INFO_DATA, [attrU32(IFLA_MACVLAN_MODE, MACVLAN_MODE[req.mode])])]),
  ]);
  return { type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, payload };
}

export function encodeMacvlanRequest(req: MacvlanRequest & { seq: number }): Buffer {
  const r = macvlanRequest(req);
  return encodeMessage(r.type, r.flags, req.seq, r.payload);
}

/** RTM_NEWLINK on an existing interface: set it up or down, as `ip link set IF up|down`. */
export function linkUpRequest(ifindex: number, up: boolean): NetlinkRequest {
  return { type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, payload: ifinfomsg(ifindex, up ? IFF_UP : 0, IFF_UP) };
}

export function encodeLinkUp(ifindex: number, up: boolean, seq: number): Buffer {
  const r = linkUpRequest(ifindex, up);
  return encodeMessage(r.type, r.flags, seq, r.payload);
}

/** RTM_DELLINK by name (the index of a leftover interface is not known to a new process). */
export function linkDeleteRequest(name: string): NetlinkRequest {
  return { type: RTM_DELLINK, flags: NLM_F_REQUEST | NLM_F_ACK, payload: Buffer.concat([ifinfomsg(0, 0, 0), attrString(IFLA_IFNAME, name)]) };
}

export function encodeLinkDelete(name: string, seq: number): Buffer {
  const r = linkDeleteRequest(name);
  return encodeMessage(r.type, r.flags, seq, r.payload);
}

function openRoute(): NetlinkSocket {
  return NetlinkSocket.open(NETLINK_ROUTE, { timeoutMs: ROUTE_TIMEOUT_MS, readBytes: ROUTE_READ_BYTES });
}

/**
 * Send route requests on a fresh socket and return each one's errno (0 = done), in order; a failed one does not
 * stop the rest. Throws only when the socket itself fails (SyscallError) or an ACK never comes (NetlinkError).
 */
export function rtnetlinkSync(requests: readonly NetlinkRequest[]): number[] {
  const sock = openRoute();
  try {
    return sock.batch(requests).map((o) => o.errno);
  } finally {
    sock.close();
  }
}

/** Adds and removes VIPs on an interface; tests and dry runs use a fake. */
export interface AddressManager {
  /** Resolves true if added, false if it was already there. */
  add(vip: string, ifindex: number): Promise<boolean>;
  /** Resolves true if removed, false if it was not there. */
  remove(vip: string, ifindex: number): Promise<boolean>;
  close(): Promise<void>;
}

/** An AddressManager on one route socket, held until close(); failures reject with SyscallError. */
export function openRtnetlink(): AddressManager {
  const sock = openRoute();
  const run = (op: 'add' | 'del', vip: string, ifindex: number): number => sock.batch([addrRequest(op, vip, ifindex)])[0]!.errno;
  return {
    async add(vip, ifindex) {
      const e = run('add', vip, ifindex);
      return e === 0 || (e === EEXIST ? false : fail('RTM_NEWADDR', e, { vip, ifindex }));
    },
    async remove(vip, ifindex) {
      const e = run('del', vip, ifindex);
      return e === 0 || (e === EADDRNOTAVAIL ? false : fail('RTM_DELADDR', e, { vip, ifindex }));
    },
    async close() {
      sock.close();
    },
  };
}

/** Remove addresses now; absent ones (EADDRNOTAVAIL) and vanished interfaces (ENODEV) are not errors. */
export function removeAddressesSync(entries: readonly { vip: string; ifindex: number }[]): { removed: string[]; errors: { vip: string; errno: number }[] } {
  const codes = entries.length === 0 ? [] : rtnetlinkSync(entries.map((e) => addrRequest('del', e.vip, e.ifindex)));
  const removed: string[] = [];
  const errors: { vip: string; errno: number }[] = [];
  codes.forEach((e, i) => {
    if (e === 0) removed.push(entries[i]!.vip);
    else if (e !== EADDRNOTAVAIL && e !== ENODEV) errors.push({ vip: entries[i]!.vip, errno: e });
  });
  return { removed, errors };
}

/** Create a macvlan; throws SyscallError (EEXIST when the name is taken). */
export function createMacvlanSync(req: MacvlanRequest): void {
  const [e] = rtnetlinkSync([macvlanRequest(req)]);
  if (e !== 0) fail('RTM_NEWLINK', e!, { macvlan: req.name, parent: req.parent });
}

export function setLinkUpSync(ifindex: number, up: boolean): void {
  const [e] = rtnetlinkSync([linkUpRequest(ifindex, up)]);
  if (e !== 0) fail('RTM_NEWLINK', e!, { ifindex, set: up ? 'up' : 'down' });
}

/** Delete an interface by name; false if there was none. */
export function deleteLinkSync(name: string): boolean {
  const [e] = rtnetlinkSync([linkDeleteRequest(name)]);
  if (e === ENODEV) return false;
  if (e !== 0) fail('RTM_DELLINK', e!, { interface: name });
  return true;
}

function fail(request: string, errno: number, context: Record<string, string | number>): never {
  throw new SyscallError(request, errno, context);
}
