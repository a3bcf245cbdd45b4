import { describe, expect, it } from 'vitest';
import { encodeOp, parseVirtualService } from '@vsd/core';
import { daemonAttrs, decodeDaemon, decodeDest, decodeInfo, decodeService, decodeTimeouts, genl, timeoutAttrs } from '../../../src/dataplane/ipvs/codec.js';
import * as kernel from './kernel-replies.js';

// Expected bytes are written from the UAPI attribute tables (reference section 5.3), not from our encoder.
const h = (s: string): string => s.replace(/\s+/g, '');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const body = (payloadHex: string): Buffer => Buffer.from(payloadHex, 'hex').subarray(4);

const TCP_SVC_ID = h(`
  0600 0100 0200 0000
  0600 0200 0600 0000
  1400 0300 0a000001 000000000000000000000000
  0600 0400 0050 0000`);

describe('IPVS request encoding', () => {
  it('NEW_SERVICE tcp 10.0.0.1:80 rr (ipvsadm -A -t 10.0.0.1:80 -s rr)', () => {
    const svc = parseVirtualService({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr' });
    const expected = h(`01 01 0000
      5400 0180 ${TCP_SVC_ID}
        0700 0600 727200 00
        0c00 0700 00000000 ffffffff
        0800 0800 00000000
        0800 0900 ffffffff`);
    expect(hex(encodeOp({ op: 'addService', service: svc }))).toBe(expected);
  });

  it('SET_SERVICE with persistence, /24 mask and sh flags (flags 0x19: PERSISTENT|SCHED1|SCHED2)', () => {
    const svc = parseVirtualService({
      protocol: 'tcp',
      address: '10.0.0.1',
      port: 80,
      scheduler: 'sh',
      schedFlags: ['sh-fallback', 'sh-port'],
      persistence: { timeout: 360, netmask: 24 },
    });
    const expected = h(`02 01 0000
      5400 0180 ${TCP_SVC_ID}
        0700 0600 736800 00
        0c00 0700 19000000 ffffffff
        0800 0800 68010000
        0800 0900 ffffff00`);
    expect(hex(encodeOp({ op: 'editService', service: svc }))).toBe(expected);
  });

  it('IPv6 UDP service with one-packet scheduling, prefix 64 and the sip persistence engine', () => {
    const svc = parseVirtualService({
      protocol: 'udp',
      address: '2001:db8::1',
      port: 5060,
      scheduler: 'rr',
      onePacket: true,
      pe: 'sip',
      persistence: { timeout: 60, netmask: 64 },
    });
    const expected = h(`01 01 0000
      5c00 0180
        0600 0100 0a00 0000
        0600 0200 1100 0000
        1400 0300 20010db8000000000000000000000001
        0600 0400 13c4 0000
        0700 0600 727200 00
        0800 0b00 73697000
        0c00 0700 05000000 ffffffff
        0800 0800 3c000000
        0800 0900 40000000`);
    expect(hex(encodeOp({ op: 'addService', service: svc }))).toBe(expected);
  });

  it('DEL_SERVICE of an IPv6 fwmark service carries AF and FWMARK only', () => {
    expect(hex(encodeOp({ op: 'deleteService', service: { fwmark: 7, family: 'inet6' } }))).toBe(
      h(`03 01 0000  1400 0180  0600 0100 0a00 0000  0800 0500 07000000`),
    );
  });

  it('NEW_DEST masq with weight and thresholds', () => {
    const dest = { address: '192.168.1.1', port: 8080, forwarding: 'masq' as const, weight: 3, upperThreshold: 10, lowerThreshold: 2, tunnel: null };
    const expected = h(`05 01 0000
      3000 0180 ${TCP_SVC_ID}
      4800 0280
        1400 0100 c0a80101 000000000000000000000000
        0600 0b00 0200 0000
        0600 0200 1f90 0000
        0800 0300 00000000
        0800 0400 03000000
        0800 0500 0a000000
        0800 0600 02000000`);
    expect(hex(encodeOp({ op: 'addDest', service: { protocol: 'tcp', address: '10.0.0.1', port: 80 }, dest }))).toBe(expected);
  });

  it('SET_DEST tunnel over GUE with remote checksum adds TUN_TYPE/TUN_PORT/TUN_FLAGS', () => {
    const dest = {
      address: '192.168.1.2',
      port: 80,
      forwarding: 'tunnel' as const,
      weight: 1,
      upperThreshold: 0,
      lowerThreshold: 0,
      tunnel: { type: 'gue' as const, port: 6080, csum: 'remcsum' as const },
    };
    const expected = h(`06 01 0000
      3000 0180 ${TCP_SVC_ID}
      6000 0280
        1400 0100 c0a80102 000000000000000000000000
        0600 0b00 0200 0000
        0600 0200 0050 0000
        0800 0300 02000000
        0800 0400 01000000
        0800 0500 00000000
        0800 0600 00000000
        0500 0d00 01 000000
        0600 0e00 17c0 0000
        0600 0f00 0200 0000`);
    expect(hex(encodeOp({ op: 'editDest', service: { protocol: 'tcp', address: '10.0.0.1', port: 80 }, dest }))).toBe(expected);
  });

  it('DEL_DEST sends the dest address, family and port', () => {
    const expected = h(`07 01 0000
      3000 0180 ${TCP_SVC_ID}
      2800 0280
        1400 0100 c0a80101 000000000000000000000000
        0600 0b00 0200 0000
        0600 0200 0050 0000`);
    expect(hex(encodeOp({ op: 'deleteDest', service: { protocol: 'tcp', address: '10.0.0.1', port: 80 }, dest: { address: '192.168.1.1', port: 80 } }))).toBe(
      expected,
    );
  });

  it('NEW_DAEMON with every option (port is host order, group an in_addr)', () => {
    const p = genl(9, [daemonAttrs({ state: 'master', mcastInterface: 'lo', syncId: 3, maxlen: 1400, group: '224.0.0.99', port: 8849, ttl: 2 })]);
    expect(hex(p)).toBe(
      h(`09 01 0000
        3c00 0380
          0800 0100 01000000
          0700 0200 6c6f00 00
          0800 0300 03000000
          0600 0400 7805 0000
          0800 0500 e0000063
          0600 0700 9122 0000
          0500 0800 02 000000`),
    );
  });

  it('SET_CONFIG carries the three timeouts as u32', () => {
    expect(hex(genl(12, timeoutAttrs({ tcp: 1000, tcpfin: 0, udp: 30 })))).toBe(h(`0c 01 0000  0800 0400 e8030000  0800 0500 00000000  0800 0600 1e000000`));
  });
});

describe('IPVS reply decoding (replies captured from a 6.1 kernel)', () => {
  it('decodes the persistent sh service: mask, flags without HASHED, STATS64', () => {
    const s = decodeService(body(kernel.services[0]!));
    expect(s).toMatchObject({
      id: { protocol: 'tcp', address: '10.0.0.1', port: 80 },
      scheduler: 'sh',
      schedFlags: ['sh-port'],
      persistence: { timeout: 120, netmask: 24 },
      pe: null,
      onePacket: false,
      flags: 0x11,
    });
    expect(s.counters.conns).toBe(0);
  });

  it('decodes the IPv6 UDP ops service and the IPv6 fwmark service', () => {
    expect(decodeService(body(kernel.services[1]!))).toMatchObject({
      id: { protocol: 'udp', address: '2001:db8::1', port: 53 },
      scheduler: 'rr',
      onePacket: true,
      persistence: { timeout: 0, netmask: 128 },
    });
    expect(decodeService(body(kernel.services[2]!))).toMatchObject({ id: { fwmark: 7, family: 'inet6' }, scheduler: 'wlc' });
  });

  it('decodes a GUE tunnel dest with thresholds', () => {
    expect(decodeDest(body(kernel.dests[0]!), 'inet')).toMatchObject({
      address: '192.168.1.2',
      port: 80,
      family: 'inet',
      forwarding: 'tunnel',
      weight: 4,
      upperThreshold: 9,
      lowerThreshold: 3,
      tunnel: { type: 'gue', port: 6080, csum: 'csum' },
      activeConns: 0,
      inactiveConns: 0,
      persistConns: 0,
    });
  });

  it('decodes the sync daemon, GET_INFO and GET_CONFIG replies', () => {
    expect(decodeDaemon(body(kernel.daemons[0]!))).toEqual({
      state: 'backup',
      mcastInterface: 'lo',
      syncId: 9,
      maxlen: 65507,
      group: '224.0.0.81',
      port: 8848,
      ttl: 1,
    });
    expect(decodeInfo(body(kernel.info[0]!))).toEqual({ versionCode: 0x010201, version: '1.2.1', connTableSize: 4096 });
    expect(decodeTimeouts(body(kernel.config[0]!))).toEqual({ tcp: 900, tcpfin: 120, udp: 300 });
  });
});
