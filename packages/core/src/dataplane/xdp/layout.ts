/**
 * Byte layouts of the maps of packages/core/bpf/xdp_lb.h, encoded and decoded with fixed offsets. Multi-byte
 * fields are host (little-endian) order except addresses and ports, which are network order as on the wire.
 */
import { isIPv4 } from 'node:net';
import { addressBytes, ipv6ToText } from '../../model/address.js';

export const VSD_MAX_SERVICES = 256;
export const VSD_MAX_DESTS = 4096;
export const VSD_RING_STRIDE = 8192;
export const VSD_CONN_MAX_DEFAULT = 65536;
export const VSD_DEST_NONE = 0xffffffff;

export const VSD_SCHED_HASH = 1;
export const VSD_SCHED_SEQ = 2;
export const VSD_SCHED_SH = 3;
export const VSD_SVC_BITS_SHIFT = 8;
export const VSD_SVC_HASH_PORT = 1;
export const VSD_FWD_DR = 1;
export const VSD_FWD_TUN = 2;
export const VSD_AF_INET = 2;
export const VSD_AF_INET6 = 10;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export type L4 = 'tcp' | 'udp';

function familyOf(address: string): number {
  return isIPv4(address) ? VSD_AF_INET : VSD_AF_INET6;
}

function put16(buf: Buffer, address: string, at: number): void {
  const bytes = addressBytes(address);
  buf.set(bytes, at);
}

/** 16 bytes of address (IPv4 in the first 4) as text. */
export function addressText(buf: Buffer, at: number, family: number): string {
  if (family === VSD_AF_INET) return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
  return ipv6ToText(buf.subarray(at, at + 16));
}

export function protoNumber(protocol: L4): number {
  return protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
}

export function svcKey(address: string, port: number, protocol: L4): Buffer {
  const b = Buffer.alloc(20);
  put16(b, address, 0);
  b.writeUInt16BE(port, 16);
  b[18] = protoNumber(protocol);
  b[19] = familyOf(address);
  return b;
}

export interface SvcValue {
  id: number;
  sched: number;
  ringLen: number;
  flags: number;
}

export function svcValue(v: SvcValue): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(v.id, 0);
  b.writeUInt32LE(v.sched, 4);
  b.writeUInt32LE(v.ringLen, 8);
  b.writeUInt32LE(v.flags, 12);
  return b;
}

export interface DestValue {
  address: string;
  port: number;
  gen: number;
  method: number;
  available: boolean;
  /** TUN: 0 = IPIP, else GUE to this UDP port. */
  tunPort?: number;
}

export function destValue(v: DestValue): Buffer {
  const b = Buffer.alloc(28);
  put16(b, v.address, 0);
  b.writeUInt32LE(v.gen, 16);
  b.writeUInt16BE(v.port, 20);
  b[22] = familyOf(v.address);
  b[23] = v.method;
  b[24] = v.available ? 1 : 0;
  b.writeUInt16BE(v.tunPort ?? 0, 26);
  return b;
}

/** A free destination slot (generation 0: no flow may follow it). */
export const FREE_DEST = Buffer.alloc(28);

export function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

export function u32Value(n: number): Buffer {
  return u32Key(n);
}

export function u64Value(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n, 0);
  return b;
}

export interface ConnKey {
  family: number;
  protocol: number;
  client: { address: string; port: number };
  virtual: { address: string; port: number };
}

export function decodeConnKey(b: Buffer): ConnKey {
  const family = b[37]!;
  return {
    family,
    protocol: b[36]!,
    client: { address: addressText(b, 0, family), port: b.readUInt16BE(32) },
    virtual: { address: addressText(b, 16, family), port: b.readUInt16BE(34) },
  };
}

export function decodeConn(b: Buffer): { dest: number; gen: number; seenNs: bigint } {
  return { dest: b.readUInt32LE(0), gen: b.readUInt32LE(4), seenNs: b.readBigUInt64LE(8) };
}

export interface CounterSum {
  packets: number;
  bytes: number;
  conns: number;
}

/** Sum a per-CPU vsd_counter lookup result (24 bytes per CPU, already 8-aligned). */
export function sumCounters(b: Buffer | null): CounterSum {
  const out = { packets: 0, bytes: 0, conns: 0 };
  if (!b) return out;
  for (let at = 0; at + 24 <= b.length; at += 24) {
    out.packets += Number(b.readBigUInt64LE(at));
    out.bytes += Number(b.readBigUInt64LE(at + 8));
    out.conns += Number(b.readBigUInt64LE(at + 16));
  }
  return out;
}

export function configValue(tunSource4: string | null): Buffer {
  const b = Buffer.alloc(24);
  if (tunSource4) b.set(addressBytes(tunSource4), 0);
  return b;
}
