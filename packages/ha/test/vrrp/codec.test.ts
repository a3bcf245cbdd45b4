import { describe, expect, it } from 'vitest';
import { checkAdvert, decodeAdvert, encodeAdvert, parseIpv4, type LocalView, type VrrpAdvert } from '../../src/vrrp/codec.js';

// Captured with tcpdump from keepalived 2.2.7 (10.99.0.1 -> 224.0.0.18, vrid 51, prio 100, one VIP 10.99.0.100).
const KEEPALIVED_V2 = Buffer.from('21336401000170030a6300640000000000000000', 'hex');
const KEEPALIVED_V3 = Buffer.from('31336401006474ad0a630064', 'hex');
// IPv4 header + v2 advert as a raw socket delivers it.
const KEEPALIVED_V2_IP = Buffer.from('45c000280001000 0ff70d02e0a630001e0000012'.replace(/ /g, '') + KEEPALIVED_V2.toString('hex'), 'hex');
// IPv6 v3 from fe80::5c49:4dff:fe89:86a4 to ff02::12, vrid 52 prio 120, 50 cs, VIPs fe80::52 and fd00:99::100.
const KEEPALIVED_V6 = Buffer.from('3134780200322b85fe800000000000000000000000000052fd000099000000000000000000000100', 'hex');
const V6_SRC = 'fe80::5c49:4dff:fe89:86a4';

const local: LocalView = {
  version: 3,
  vrid: 51,
  family: 4,
  addresses: ['10.99.0.100'],
  intervalCs: 100,
  authType: 0,
  unicast: false,
  ownAddresses: ['10.99.0.2'],
  peers: [],
};

describe('VRRP codec against keepalived packets', () => {
  it('encodes v2 exactly as keepalived', () => {
    const advert: VrrpAdvert = { version: 2, vrid: 51, priority: 100, intervalCs: 100, addresses: ['10.99.0.100'] };
    expect(encodeAdvert(advert, { family: 4 })).toEqual(KEEPALIVED_V2);
  });

  it('encodes v3 IPv4 with the pseudo-header as keepalived does by default', () => {
    const advert: VrrpAdvert = { version: 3, vrid: 51, priority: 100, intervalCs: 100, addresses: ['10.99.0.100'] };
    expect(encodeAdvert(advert, { family: 4, src: '10.99.0.1', dst: '224.0.0.18' })).toEqual(KEEPALIVED_V3);
  });

  it('encodes v3 IPv6 with the RFC 2460 pseudo-header', () => {
    const advert: VrrpAdvert = { version: 3, vrid: 52, priority: 120, intervalCs: 50, addresses: ['fe80::52', 'fd00:99::100'] };
    expect(encodeAdvert(advert, { family: 6, src: V6_SRC, dst: 'ff02::12' })).toEqual(KEEPALIVED_V6);
  });

  it('decodes keepalived v2 and v3 adverts', () => {
    const v2 = decodeAdvert(KEEPALIVED_V2, { family: 4 });
    expect(v2).toMatchObject({ ok: true, advert: { version: 2, vrid: 51, priority: 100, intervalCs: 100, addresses: ['10.99.0.100'], authType: 0 } });
    const v3 = decodeAdvert(KEEPALIVED_V3, { family: 4, src: '10.99.0.1', dst: '224.0.0.18' });
    expect(v3).toMatchObject({ ok: true, checksumForm: 'pseudo', advert: { version: 3, intervalCs: 100 } });
    const v6 = decodeAdvert(KEEPALIVED_V6, { family: 6, src: V6_SRC, dst: 'ff02::12' });
    expect(v6).toMatchObject({ ok: true, advert: { vrid: 52, priority: 120, intervalCs: 50, addresses: ['fe80::52', 'fd00:99::100'] } });
  });

  it('parses the IPv4 header a raw socket returns', () => {
    const ip = parseIpv4(KEEPALIVED_V2_IP);
    expect(ip).toMatchObject({ ok: true, packet: { ttl: 255, protocol: 112, src: '10.99.0.1', dst: '224.0.0.18' } });
    if (ip.ok) expect(ip.packet.payload).toEqual(KEEPALIVED_V2);
    expect(parseIpv4(KEEPALIVED_V2_IP.subarray(0, 10))).toEqual({ ok: false, reason: 'ip_truncated' });
  });

  it('accepts both v3 IPv4 checksum forms (RFC 5798 pseudo-header and RFC 9568 plain) and the old unicast form', () => {
    const advert: VrrpAdvert = { version: 3, vrid: 7, priority: 50, intervalCs: 5, addresses: ['10.0.0.1'] };
    const plain = encodeAdvert(advert, { family: 4, checksum: 'plain' });
    expect(decodeAdvert(plain, { family: 4, src: '10.0.0.2', dst: '224.0.0.18' })).toMatchObject({ ok: true, checksumForm: 'plain' });
    const groupForm = encodeAdvert(advert, { family: 4, src: '10.0.0.2', dst: '224.0.0.18' });
    expect(decodeAdvert(groupForm, { family: 4, src: '10.0.0.2', dst: '10.0.0.3' })).toMatchObject({ ok: true, checksumForm: 'pseudo-group' });
    expect(decodeAdvert(groupForm, { family: 4, src: '10.0.0.9', dst: '224.0.0.18' })).toEqual({ ok: false, reason: 'bad_checksum' });
  });

  it('drops structurally bad packets with a reason', () => {
    const ctx = { family: 4 as const, src: '10.99.0.1', dst: '224.0.0.18' };
    expect(decodeAdvert(KEEPALIVED_V3.subarray(0, 7), ctx)).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeAdvert(KEEPALIVED_V3.subarray(0, 11), ctx)).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeAdvert(KEEPALIVED_V2.subarray(0, 16), { family: 4 })).toEqual({ ok: false, reason: 'truncated' });
    const v4 = Buffer.from(KEEPALIVED_V3);
    v4[0] = 0x41;
    expect(decodeAdvert(v4, ctx)).toEqual({ ok: false, reason: 'bad_version' });
    const type2 = Buffer.from(KEEPALIVED_V3);
    type2[0] = 0x32;
    expect(decodeAdvert(type2, ctx)).toEqual({ ok: false, reason: 'bad_type' });
    const flipped = Buffer.from(KEEPALIVED_V3);
    flipped[2] ^= 1;
    expect(decodeAdvert(flipped, ctx)).toEqual({ ok: false, reason: 'bad_checksum' });
    expect(decodeAdvert(KEEPALIVED_V2, { family: 6 })).toEqual({ ok: false, reason: 'bad_version' });
  });
});

describe('receive checks needing local configuration (RFC 5798 §7.1)', () => {
  const advert: VrrpAdvert = { version: 3, vrid: 51, priority: 100, intervalCs: 100, addresses: ['10.99.0.100'] };
  it('accepts a matching advert', () => {
    expect(checkAdvert(advert, '10.99.0.1', 255, local)).toBeUndefined();
  });
  it('checks TTL 255 except in unicast mode', () => {
    expect(checkAdvert(advert, '10.99.0.1', 64, local)).toBe('bad_ttl');
    expect(checkAdvert(advert, '10.99.0.1', 64, { ...local, unicast: true, peers: ['10.99.0.1'] })).toBeUndefined();
  });
  it('checks unicast peers, own packets, version, VRID', () => {
    expect(checkAdvert(advert, '10.99.0.7', 255, { ...local, unicast: true, peers: ['10.99.0.1'] })).toBe('unknown_peer');
    expect(checkAdvert(advert, '10.99.0.2', 255, local)).toBe('own_packet');
    expect(checkAdvert({ ...advert, version: 2 }, '10.99.0.1', 255, local)).toBe('bad_version');
    expect(checkAdvert({ ...advert, vrid: 52 }, '10.99.0.1', 255, local)).toBe('vrid_mismatch');
  });
  it('checks the address count and list unless the sender is the owner', () => {
    expect(checkAdvert({ ...advert, addresses: [] }, '10.99.0.1', 255, local)).toBe('addr_count');
    expect(checkAdvert({ ...advert, addresses: ['10.99.0.101'] }, '10.99.0.1', 255, local)).toBe('addr_list');
    expect(checkAdvert({ ...advert, priority: 255, addresses: ['10.99.0.101'] }, '10.99.0.1', 255, local)).toBeUndefined();
  });
  it('v2: checks the advert interval and the auth type; v3 adopts a different interval', () => {
    const v2local = { ...local, version: 2 as const };
    const v2 = { ...advert, version: 2 as const, authType: 0 };
    expect(checkAdvert(v2, '10.99.0.1', 255, v2local)).toBeUndefined();
    expect(checkAdvert({ ...v2, intervalCs: 200 }, '10.99.0.1', 255, v2local)).toBe('advert_int');
    expect(checkAdvert({ ...v2, authType: 1 }, '10.99.0.1', 255, v2local)).toBe('auth_type');
    expect(checkAdvert({ ...advert, intervalCs: 200 }, '10.99.0.1', 255, local)).toBeUndefined();
  });
});

describe('decoder fuzz', () => {
  // A fixed-seed generator keeps failures reproducible.
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }
  it('never throws on 20,000 random and mutated inputs, and every rejection names a reason', () => {
    const rand = rng(0xc0ffee);
    const seeds = [KEEPALIVED_V2, KEEPALIVED_V3, KEEPALIVED_V6, KEEPALIVED_V2_IP];
    const reasons = new Set<string>();
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let input: Buffer;
      if (i % 2 === 0) {
        input = Buffer.alloc(Math.floor(rand() * 96));
        for (let j = 0; j < input.length; j++) input[j] = Math.floor(rand() * 256);
      } else {
        const seed = seeds[i % seeds.length];
        input = Buffer.from(seed.subarray(0, Math.max(0, seed.length - (rand() < 0.2 ? Math.floor(rand() * 8) : 0))));
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips && input.length; f++) input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256);
      }
      const family = rand() < 0.5 ? 4 : 6;
      const ip = parseIpv4(input);
      const r = decodeAdvert(ip.ok ? ip.packet.payload : input, { family, src: '10.99.0.1', dst: '224.0.0.18' });
      if (r.ok) {
        accepted++;
        expect(checkAdvert(r.advert, '10.99.0.1', 255, local) ?? 'accepted').toBeTypeOf('string');
      } else {
        reasons.add(r.reason);
      }
    }
    expect(reasons.has('bad_checksum')).toBe(true);
    expect(reasons.has('truncated')).toBe(true);
    expect(accepted).toBeLessThan(20_000);
  });
});
