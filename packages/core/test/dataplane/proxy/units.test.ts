import { describe, expect, it } from 'vitest';
import { proxyProtocolPredicate } from '../../../src/dataplane/proxy/context.js';
import { encodeProxyV2 } from '../../../src/dataplane/proxy/proxy-protocol.js';
import { Stats } from '../../../src/dataplane/proxy/stats.js';

describe('Stats (ip_vs_est.c estimator)', () => {
  it('moves a quarter of the way to each 2-second rate and rounds on read', () => {
    const s = new Stats();
    s.conns = 200; // 100/s over 2 s
    s.inBytes = 2_000_000; // 1 MB/s
    s.tick();
    // First tick: avg = rate / 4.
    expect(s.snapshot()).toMatchObject({ cps: 25, inBps: 250_000 });
    for (let i = 0; i < 100; i++) {
      s.conns += 200;
      s.inBytes += 2_000_000;
      s.tick();
    }
    expect(s.snapshot()).toMatchObject({ cps: 100, inBps: 1_000_000 });
    s.tick(); // no traffic in the last 2 s
    expect(s.snapshot()).toMatchObject({ cps: 75, inBps: 750_000 });
  });

  it('zero() resets counters and rates', () => {
    const s = new Stats();
    s.conns = 10;
    s.tick();
    s.zero();
    expect(s.snapshot()).toMatchObject({ conns: 0, cps: 0 });
    s.tick();
    expect(s.snapshot().cps).toBe(0);
  });
});

describe('encodeProxyV2', () => {
  it('encodes TCP over IPv6 with a 36-byte address block', () => {
    const h = encodeProxyV2({ protocol: 'tcp', source: { address: '2001:db8::1', port: 1234 }, destination: { address: '2001:db8::2', port: 80 } });
    expect(h.length).toBe(16 + 36);
    expect([...h.subarray(12, 16)]).toEqual([0x21, 0x21, 0x00, 0x24]);
    expect(h.subarray(16, 32).toString('hex')).toBe('20010db8000000000000000000000001');
    expect(h.readUInt16BE(48)).toBe(1234);
    expect(h.readUInt16BE(50)).toBe(80);
  });

  it('maps an IPv4 client of an IPv6 VIP into IPv6', () => {
    const h = encodeProxyV2({ protocol: 'udp', source: { address: '::ffff:10.0.0.1', port: 1 }, destination: { address: '2001:db8::2', port: 53 } });
    // "::ffff:10.0.0.1" alone would be IPv4; with an IPv6 destination both become IPv6.
    expect(h[13]).toBe(0x22);
    expect(h.subarray(16, 32).toString('hex')).toBe('00000000000000000000ffff0a000001');
  });
});

describe('proxyProtocolPredicate', () => {
  it('selects by service, by real server, or everything', () => {
    const p = proxyProtocolPredicate({ services: ['tcp 10.0.0.1:80'], realServers: ['10.0.0.9:8080'] });
    expect(p('tcp 10.0.0.1:80', '10.0.0.2:80')).toBe(true);
    expect(p('tcp 10.0.0.1:443', '10.0.0.9:8080')).toBe(true);
    expect(p('tcp 10.0.0.1:443', '10.0.0.2:443')).toBe(false);
    expect(proxyProtocolPredicate(true)('a', 'b')).toBe(true);
    expect(proxyProtocolPredicate(undefined)('a', 'b')).toBe(false);
  });
});
