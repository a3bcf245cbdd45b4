// Frames for BPF_PROG_TEST_RUN of the xdp dataplane's program, and a way into a lab host's network namespace for
// the calls the program's bpf_fib_lookup resolves there.
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { inetServiceSchema, type DataplaneService, type InetService } from '@vsd/core';

const CLONE_NEWNET = 0x40000000;
let setnsCall: ((fd: number, type: number) => number) | undefined;

/** Move this thread (the test process's main thread does every BPF call) into namespace `ns`; returns the way back. */
export function enterNetns(ns: string): () => void {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  setnsCall ??= koffi.load('libc.so.6').func('int setns(int, int)') as unknown as (fd: number, type: number) => number;
  const back = openSync('/proc/thread-self/ns/net', 'r');
  const to = openSync(`/var/run/netns/${ns}`, 'r');
  try {
    if (setnsCall(to, CLONE_NEWNET) !== 0) throw new Error(`setns into ${ns} failed: errno ${koffi.errno()}`);
  } finally {
    closeSync(to);
  }
  return () => {
    try {
      if (setnsCall!(back, CLONE_NEWNET) !== 0) throw new Error(`setns back failed: errno ${koffi.errno()}`);
    } finally {
      closeSync(back);
    }
  };
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

export function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface FrameSpec {
  srcMac?: string;
  dstMac: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  protocol: 'tcp' | 'udp';
  /** TCP flags byte; default SYN. */
  flags?: number;
  payload?: Buffer;
  tos?: number;
}

/** An Ethernet + IPv4 + TCP/UDP frame (L4 checksum left 0: nothing on the XDP path reads it). */
export function frame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const l4 = Buffer.alloc(spec.protocol === 'tcp' ? 20 : 8);
  l4.writeUInt16BE(spec.sport, 0);
  l4.writeUInt16BE(spec.dport, 2);
  if (spec.protocol === 'tcp') {
    l4.writeUInt32BE(1, 4);
    l4[12] = 5 << 4;
    l4[13] = spec.flags ?? 0x02;
    l4.writeUInt16BE(65535, 14);
  } else {
    l4.writeUInt16BE(8 + payload.length, 4);
  }
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[1] = spec.tos ?? 0;
  ip.writeUInt16BE(20 + l4.length + payload.length, 2);
  ip.writeUInt16BE(0x4000, 6);
  ip[8] = 64;
  ip[9] = spec.protocol === 'tcp' ? 6 : 17;
  Buffer.from(ipBytes(spec.src)).copy(ip, 12);
  Buffer.from(ipBytes(spec.dst)).copy(ip, 16);
  ip.writeUInt16BE(ipv4Checksum(ip), 10);
  const eth = Buffer.from([...macBytes(spec.dstMac), ...macBytes(spec.srcMac ?? '02:77:00:00:00:aa'), 0x08, 0x00]);
  return Buffer.concat([eth, ip, l4, payload]);
}

export function macAt(buf: Buffer, at: number): string {
  return [...buf.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function ipAt(buf: Buffer, at: number): string {
  return [...buf.subarray(at, at + 4)].join('.');
}

/** A DataplaneService as the reconciler builds it, weights given per real server (effective = configured). */
export function serviceEntry(
  svc: { protocol: 'tcp' | 'udp'; address: string; port: number; scheduler: string; schedFlags?: string[] },
  reals: Array<{ address: string; port: number; weight?: number; forwarding?: 'route' | 'tunnel'; tunnel?: { type: 'ipip' | 'gue'; port?: number } }>,
): DataplaneService {
  const service = inetServiceSchema.parse({
    ...svc,
    realServers: reals.map((r) => ({
      address: r.address,
      port: r.port,
      weight: r.weight ?? 1,
      forwarding: r.forwarding ?? 'route',
      ...(r.tunnel ? { tunnel: r.tunnel } : {}),
    })),
  }) as InetService;
  return {
    key: `${svc.protocol} ${svc.address}:${svc.port}`,
    service,
    dests: service.realServers.map((rs) => ({ ...rs, key: `${rs.address}:${rs.port}`, effectiveWeight: rs.weight, sorry: false })),
  };
}

function ip6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 2 * i));
  return b;
}

/** An Ethernet + IPv6 + TCP frame (no extension headers). */
export function frame6(spec: Omit<FrameSpec, 'protocol' | 'tos'>): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const l4 = Buffer.alloc(20);
  l4.writeUInt16BE(spec.sport, 0);
  l4.writeUInt16BE(spec.dport, 2);
  l4[12] = 5 << 4;
  l4[13] = spec.flags ?? 0x02;
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(l4.length + payload.length, 4);
  ip[6] = 6;
  ip[7] = 64;
  ip6Bytes(spec.src).copy(ip, 8);
  ip6Bytes(spec.dst).copy(ip, 24);
  const eth = Buffer.from([...macBytes(spec.dstMac), ...macBytes(spec.srcMac ?? '02:77:00:00:00:aa'), 0x86, 0xdd]);
  return Buffer.concat([eth, ip, l4, payload]);
}
