/**
 * Encoding of IPVS requests and decoding of its replies, between the model's vocabulary (virtual service,
 * real server, forwarding method) and the kernel's attribute layout. Pure functions over buffers, so the
 * unit tests check them byte for byte without a kernel.
 */
import { NetlinkError } from '../../errors.js';
import type { Counters } from '../types.js';
import type { ForwardingMethod, RealServer, ServiceId, SyncDaemon, Timeouts, TunnelOptions, VirtualService } from '../../model/schema.js';
import { isFwmark, serviceFamily } from '../../model/schema.js';
import { addressBytes, ipv6ToText } from '../../model/address.js';
import {
  attr,
  attrBe16,
  attrNested,
  attrString,
  attrU16,
  attrU32,
  attrU8,
  getBe16,
  getNested,
  getString,
  getU16,
  getU32,
  getU64,
  getU8,
  parseAttrs,
  type Attrs,
  genlHeader,
} from '@vsd/sys/netlink';
import {
  AF_INET,
  AF_INET6,
  CMD_ATTR,
  DAEMON_ATTR,
  DAEMON_STATE,
  DEST_ATTR,
  FWD,
  FWD_MASK,
  INFO_ATTR,
  IPPROTO,
  IPVS_CMD,
  IPVS_GENL_VERSION,
  STATS_ATTR,
  SVC_ATTR,
  SVC_F,
  TUN_FLAG,
  TUN_TYPE,
} from './constants.js';

type SchedFlag = VirtualService['schedFlags'][number];
type Family = 'inet' | 'inet6';

/** A destination as the kernel is told it: the model's real server with the weight to program. */
export type DestSpec = Pick<RealServer, 'address' | 'port' | 'forwarding' | 'weight' | 'upperThreshold' | 'lowerThreshold' | 'tunnel'>;

/** A service as the kernel reports it. */
export interface KernelService {
  id: ServiceId;
  scheduler: string;
  schedFlags: SchedFlag[];
  /** netmask: prefix length, always present (32 / 128 = the whole address). */
  persistence: { timeout: number; netmask: number };
  pe: string | null;
  onePacket: boolean;
  /** Raw IP_VS_SVC_F_* flags, HASHED removed. */
  flags: number;
  counters: Counters;
}

export interface KernelDest {
  address: string;
  port: number;
  family: Family;
  /** 'local' and 'bypass' only appear for entries the kernel set up itself. */
  forwarding: ForwardingMethod | 'local' | 'bypass';
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  tunnel: TunnelOptions | null;
  activeConns: number;
  inactiveConns: number;
  persistConns: number;
  counters: Counters;
}

export interface KernelDaemon {
  state: 'master' | 'backup';
  mcastInterface: string;
  syncId: number;
  maxlen?: number;
  group?: string;
  port?: number;
  ttl?: number;
}

export const genl = (cmd: number, attrs: readonly Buffer[] = []): Buffer => Buffer.concat([genlHeader(cmd, IPVS_GENL_VERSION), ...attrs]);

const afOf = (f: Family): number => (f === 'inet6' ? AF_INET6 : AF_INET);

/** union nf_inet_addr: always 16 bytes, an IPv4 address in the first 4 (as ipvsadm sends it). */
export function addr16(address: string): Buffer {
  const b = Buffer.alloc(16);
  b.set(addressBytes(address), 0);
  return b;
}

function decodeAddr(b: Buffer | undefined, family: Family): string {
  if (!b) return family === 'inet6' ? '::' : '0.0.0.0';
  return family === 'inet6' ? ipv6ToText(b.subarray(0, 16)) : `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

const familyOfAf = (af: number | undefined): Family => (af === AF_INET6 ? 'inet6' : 'inet');

/** The identifying attributes of a service (enough for DEL, GET, ZERO and as the parent of dest commands). */
export function serviceIdAttrs(id: ServiceId): Buffer[] {
  const family = serviceFamily(id);
  if (isFwmark(id)) return [attrU16(SVC_ATTR.AF, afOf(family)), attrU32(SVC_ATTR.FWMARK, id.fwmark)];
  return [
    attrU16(SVC_ATTR.AF, afOf(family)),
    attrU16(SVC_ATTR.PROTOCOL, IPPROTO[id.protocol]),
    attr(SVC_ATTR.ADDR, addr16(id.address)),
    attrBe16(SVC_ATTR.PORT, id.port),
  ];
}

export function schedFlagBits(flags: readonly SchedFlag[]): number {
  let bits = 0;
  for (const f of flags) {
    if (f === 'sh-fallback' || f === 'mh-fallback' || f === 'flag-1') bits |= SVC_F.SCHED1;
    else if (f === 'sh-port' || f === 'mh-port' || f === 'flag-2') bits |= SVC_F.SCHED2;
    else bits |= SVC_F.SCHED3;
  }
  return bits;
}

/** Scheduler flags by name, as ipvsadm names them for the given scheduler. */
export function schedFlagNames(bits: number, scheduler: string): SchedFlag[] {
  const out: SchedFlag[] = [];
  const names: [SchedFlag, SchedFlag, SchedFlag] =
    scheduler === 'sh' ? ['sh-fallback', 'sh-port', 'flag-3'] : scheduler === 'mh' ? ['mh-fallback', 'mh-port', 'flag-3'] : ['flag-1', 'flag-2', 'flag-3'];
  if (bits & SVC_F.SCHED1) out.push(names[0]);
  if (bits & SVC_F.SCHED2) out.push(names[1]);
  if (bits & SVC_F.SCHED3) out.push(names[2]);
  return out;
}

export function serviceFlags(svc: VirtualService): number {
  let f = schedFlagBits(svc.schedFlags);
  if (svc.persistence.timeout > 0) f |= SVC_F.PERSISTENT;
  if (svc.onePacket) f |= SVC_F.ONEPACKET;
  return f;
}

/** IPv4: the mask itself in network order; IPv6: the prefix length as a host-order u32. */
export function netmaskAttr(family: Family, prefix: number | undefined): Buffer {
  if (family === 'inet6') return attrU32(SVC_ATTR.NETMASK, prefix ?? 128);
  const p = prefix ?? 32;
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  const b = Buffer.alloc(4);
  b.writeUInt32BE(mask, 0);
  return attr(SVC_ATTR.NETMASK, b);
}

function decodeNetmask(b: Buffer | undefined, family: Family): number {
  if (!b) return family === 'inet6' ? 128 : 32;
  if (family === 'inet6') return b.readUInt32LE(0);
  let m = b.readUInt32BE(0);
  let n = 0;
  while (m & 0x80000000) {
    n++;
    m = (m << 1) >>> 0;
  }
  return n;
}

/** The full service attribute set for NEW_SERVICE / SET_SERVICE (flags mask ~0, as ipvsadm -A/-E sends). */
export function serviceAttrs(svc: VirtualService): Buffer {
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(serviceFlags(svc), 0);
  flags.writeUInt32LE(0xffffffff, 4);
  const parts = [
    ...serviceIdAttrs(svc),
    attrString(SVC_ATTR.SCHED_NAME, svc.scheduler),
    ...(svc.pe ? [attrString(SVC_ATTR.PE_NAME, svc.pe)] : []),
    attr(SVC_ATTR.FLAGS, flags),
    attrU32(SVC_ATTR.TIMEOUT, svc.persistence.timeout),
    netmaskAttr(serviceFamily(svc), svc.persistence.netmask),
  ];
  return attrNested(CMD_ATTR.SERVICE, parts);
}

export const serviceIdNested = (id: ServiceId): Buffer => attrNested(CMD_ATTR.SERVICE, serviceIdAttrs(id));

const FWD_CODE: Record<ForwardingMethod, number> = { masq: FWD.MASQ, route: FWD.DROUTE, tunnel: FWD.TUNNEL };

/** The full dest attribute set for NEW_DEST / SET_DEST. */
export function destAttrs(d: DestSpec): Buffer {
  const family: Family = d.address.includes(':') ? 'inet6' : 'inet';
  const parts = [
    attr(DEST_ATTR.ADDR, addr16(d.address)),
    attrU16(DEST_ATTR.ADDR_FAMILY, afOf(family)),
    attrBe16(DEST_ATTR.PORT, d.port),
    attrU32(DEST_ATTR.FWD_METHOD, FWD_CODE[d.forwarding]),
    attrU32(DEST_ATTR.WEIGHT, d.weight),
    attrU32(DEST_ATTR.U_THRESH, d.upperThreshold),
    attrU32(DEST_ATTR.L_THRESH, d.lowerThreshold),
  ];
  if (d.forwarding === 'tunnel') {
    const t = d.tunnel ?? { type: 'ipip', port: 0, csum: 'nocsum' };
    parts.push(attrU8(DEST_ATTR.TUN_TYPE, TUN_TYPE[t.type]), attrBe16(DEST_ATTR.TUN_PORT, t.port), attrU16(DEST_ATTR.TUN_FLAGS, TUN_FLAG[t.csum]));
  }
  return attrNested(CMD_ATTR.DEST, parts);
}

export function destIdAttrs(d: Pick<RealServer, 'address' | 'port'>): Buffer {
  const family: Family = d.address.includes(':') ? 'inet6' : 'inet';
  return attrNested(CMD_ATTR.DEST, [attr(DEST_ATTR.ADDR, addr16(d.address)), attrU16(DEST_ATTR.ADDR_FAMILY, afOf(family)), attrBe16(DEST_ATTR.PORT, d.port)]);
}

export function daemonAttrs(d: Pick<SyncDaemon, 'state'> & Partial<SyncDaemon>): Buffer {
  const parts = [attrU32(DAEMON_ATTR.STATE, DAEMON_STATE[d.state])];
  if (d.mcastInterface !== undefined) parts.push(attrString(DAEMON_ATTR.MCAST_IFN, d.mcastInterface));
  if (d.syncId !== undefined) parts.push(attrU32(DAEMON_ATTR.SYNC_ID, d.syncId));
  if (d.maxlen !== undefined) parts.push(attrU16(DAEMON_ATTR.SYNC_MAXLEN, d.maxlen));
  if (d.group !== undefined) {
    parts.push(d.group.includes(':') ? attr(DAEMON_ATTR.MCAST_GROUP6, addr16(d.group)) : attr(DAEMON_ATTR.MCAST_GROUP, Buffer.from(addressBytes(d.group))));
  }
  if (d.port !== undefined) parts.push(attrU16(DAEMON_ATTR.MCAST_PORT, d.port));
  if (d.ttl !== undefined) parts.push(attrU8(DAEMON_ATTR.MCAST_TTL, d.ttl));
  return attrNested(CMD_ATTR.DAEMON, parts);
}

/** SET_CONFIG: a 0 leaves that timeout unchanged (the kernel skips absent attributes; ipvsadm sends all three). */
export function timeoutAttrs(t: Timeouts): Buffer[] {
  return [attrU32(CMD_ATTR.TIMEOUT_TCP, t.tcp), attrU32(CMD_ATTR.TIMEOUT_TCP_FIN, t.tcpfin), attrU32(CMD_ATTR.TIMEOUT_UDP, t.udp)];
}

export function decodeCounters(a: Attrs | undefined): Counters {
  const n = (t: number): number => Number(a ? (getU64(a, t) ?? 0n) : 0n);
  return {
    conns: n(STATS_ATTR.CONNS),
    inPkts: n(STATS_ATTR.INPKTS),
    outPkts: n(STATS_ATTR.OUTPKTS),
    inBytes: n(STATS_ATTR.INBYTES),
    outBytes: n(STATS_ATTR.OUTBYTES),
    cps: n(STATS_ATTR.CPS),
    inPps: n(STATS_ATTR.INPPS),
    outPps: n(STATS_ATTR.OUTPPS),
    inBps: n(STATS_ATTR.INBPS),
    outBps: n(STATS_ATTR.OUTBPS),
  };
}

const PROTO_NAME: Record<number, 'tcp' | 'udp' | 'sctp'> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** A NEW_SERVICE reply body (after the genl header). */
export function decodeService(body: Buffer): KernelService {
  const top = parseAttrs(body);
  const a = getNested(top, CMD_ATTR.SERVICE);
  if (!a) throw new NetlinkError('IPVS GET_SERVICE', 'EBADMSG', 'service reply without a service attribute');
  const family = familyOfAf(getU16(a, SVC_ATTR.AF));
  const fwmark = getU32(a, SVC_ATTR.FWMARK) ?? 0;
  const id: ServiceId = fwmark
    ? { fwmark, family }
    : {
        protocol: PROTO_NAME[getU16(a, SVC_ATTR.PROTOCOL) ?? 6] ?? 'tcp',
        address: decodeAddr(a.get(SVC_ATTR.ADDR), family),
        port: getBe16(a, SVC_ATTR.PORT) ?? 0,
      };
  const scheduler = getString(a, SVC_ATTR.SCHED_NAME) ?? '';
  const flags = (a.get(SVC_ATTR.FLAGS)?.readUInt32LE(0) ?? 0) & ~SVC_F.HASHED;
  const timeout = getU32(a, SVC_ATTR.TIMEOUT) ?? 0;
  return {
    id,
    scheduler,
    schedFlags: schedFlagNames(flags, scheduler),
    persistence: { timeout: flags & SVC_F.PERSISTENT ? timeout : 0, netmask: decodeNetmask(a.get(SVC_ATTR.NETMASK), family) },
    pe: getString(a, SVC_ATTR.PE_NAME) ?? null,
    onePacket: (flags & SVC_F.ONEPACKET) !== 0,
    flags,
    counters: decodeCounters(getNested(a, SVC_ATTR.STATS64)),
  };
}

const FWD_NAME: Record<number, KernelDest['forwarding']> = {
  [FWD.MASQ]: 'masq',
  [FWD.LOCALNODE]: 'local',
  [FWD.TUNNEL]: 'tunnel',
  [FWD.DROUTE]: 'route',
  [FWD.BYPASS]: 'bypass',
};
const TUN_NAME = ['ipip', 'gue', 'gre'] as const;
const CSUM_NAME: Record<number, TunnelOptions['csum']> = { 0: 'nocsum', 1: 'csum', 2: 'remcsum' };

/** A NEW_DEST reply body; `serviceFamily` is used when the kernel is too old to send ADDR_FAMILY. */
export function decodeDest(body: Buffer, svcFamily: Family): KernelDest {
  const a = getNested(parseAttrs(body), CMD_ATTR.DEST);
  if (!a) throw new NetlinkError('IPVS GET_DEST', 'EBADMSG', 'dest reply without a dest attribute');
  const family = a.has(DEST_ATTR.ADDR_FAMILY) ? familyOfAf(getU16(a, DEST_ATTR.ADDR_FAMILY)) : svcFamily;
  const forwarding = FWD_NAME[(getU32(a, DEST_ATTR.FWD_METHOD) ?? 0) & FWD_MASK] ?? 'masq';
  const tunType = getU8(a, DEST_ATTR.TUN_TYPE);
  const tunnel: TunnelOptions | null =
    forwarding === 'tunnel'
      ? {
          type: TUN_NAME[tunType ?? 0] ?? 'ipip',
          port: getBe16(a, DEST_ATTR.TUN_PORT) ?? 0,
          csum: CSUM_NAME[getU16(a, DEST_ATTR.TUN_FLAGS) ?? 0] ?? 'nocsum',
        }
      : null;
  return {
    address: decodeAddr(a.get(DEST_ATTR.ADDR), family),
    port: getBe16(a, DEST_ATTR.PORT) ?? 0,
    family,
    forwarding,
    weight: getU32(a, DEST_ATTR.WEIGHT) ?? 0,
    upperThreshold: getU32(a, DEST_ATTR.U_THRESH) ?? 0,
    lowerThreshold: getU32(a, DEST_ATTR.L_THRESH) ?? 0,
    tunnel,
    activeConns: getU32(a, DEST_ATTR.ACTIVE_CONNS) ?? 0,
    inactiveConns: getU32(a, DEST_ATTR.INACT_CONNS) ?? 0,
    persistConns: getU32(a, DEST_ATTR.PERSIST_CONNS) ?? 0,
    counters: decodeCounters(getNested(a, DEST_ATTR.STATS64)),
  };
}

export function decodeDaemon(body: Buffer): KernelDaemon | undefined {
  const a = getNested(parseAttrs(body), CMD_ATTR.DAEMON);
  if (!a) return undefined;
  const group4 = a.get(DAEMON_ATTR.MCAST_GROUP);
  const group6 = a.get(DAEMON_ATTR.MCAST_GROUP6);
  const d: KernelDaemon = {
    state: getU32(a, DAEMON_ATTR.STATE) === DAEMON_STATE.backup ? 'backup' : 'master',
    mcastInterface: getString(a, DAEMON_ATTR.MCAST_IFN) ?? '',
    syncId: getU32(a, DAEMON_ATTR.SYNC_ID) ?? 0,
  };
  const maxlen = getU16(a, DAEMON_ATTR.SYNC_MAXLEN);
  if (maxlen !== undefined) d.maxlen = maxlen;
  if (group6) d.group = ipv6ToText(group6.subarray(0, 16));
  else if (group4) d.group = `${group4[0]}.${group4[1]}.${group4[2]}.${group4[3]}`;
  const port = getU16(a, DAEMON_ATTR.MCAST_PORT);
  if (port !== undefined) d.port = port;
  const ttl = getU8(a, DAEMON_ATTR.MCAST_TTL);
  if (ttl !== undefined) d.ttl = ttl;
  return d;
}

export function decodeInfo(body: Buffer): { versionCode: number; version: string; connTableSize: number } {
  const a = parseAttrs(body);
  const v = getU32(a, INFO_ATTR.VERSION) ?? 0;
  return { versionCode: v, version: `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`, connTableSize: getU32(a, INFO_ATTR.CONN_TAB_SIZE) ?? 0 };
}

export function decodeTimeouts(body: Buffer): Timeouts {
  const a = parseAttrs(body);
  return {
    tcp: getU32(a, CMD_ATTR.TIMEOUT_TCP) ?? 0,
    tcpfin: getU32(a, CMD_ATTR.TIMEOUT_TCP_FIN) ?? 0,
    udp: getU32(a, CMD_ATTR.TIMEOUT_UDP) ?? 0,
  };
}

export { IPVS_CMD };
