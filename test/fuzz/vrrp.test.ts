import { describe, expect, it } from 'vitest';
import { addressBytes } from '../../packages/ha/src/vrrp/addr.js';
import { internetChecksum, pseudoHeader } from '../../packages/ha/src/vrrp/checksum.js';
import { IPPROTO_VRRP, checkAdvert, decodeAdvert, encodeAdvert, parseIpv4, type VrrpAdvert } from '../../packages/ha/src/vrrp/codec.js';
import { mutateBytes } from './lib/mutate.js';
import { fuzz } from './lib/run.js';

// VRRP adverts (packages/ha/src/vrrp/codec.ts): whatever reaches the raw socket, from any host on the segment.
const V4 = { family: 4 as const, src: '10.99.0.1', dst: '224.0.0.18' };
const V6 = { family: 6 as const, src: 'fe80::1', dst: 'ff02::12' };
const adverts: Array<{ a: VrrpAdvert; ctx: typeof V4 | typeof V6 }> = [
  { a: { version: 2, vrid: 51, priority: 150, intervalCs: 100, addresses: ['10.77.0.100'], authType: 0, authData: Buffer.alloc(8) }, ctx: V4 },
  { a: { version: 3, vrid: 51, priority: 100, intervalCs: 10, addresses: ['10.77.0.100', '10.77.0.101'] }, ctx: V4 },
  { a: { version: 3, vrid: 7, priority: 255, intervalCs: 4095, addresses: ['2001:db8::100'] }, ctx: V6 },
  { a: { version: 3, vrid: 1, priority: 1, intervalCs: 1, addresses: [] }, ctx: V4 },
];
const SEEDS = adverts.map(({ a, ctx }) => ({ family: ctx.family, bytes: new Uint8Array(encodeAdvert(a, ctx)) }));
const LOCAL = {
  version: 3 as const,
  vrid: 51,
  family: 4 as const,
  addresses: ['10.77.0.100'],
  intervalCs: 10,
  authType: 0,
  unicast: false,
  ownAddresses: ['10.99.0.2'],
  peers: [],
};
type Input = { family: 4 | 6; bytes: Uint8Array };

/** Make a mutated advert's checksum right again half of the time, so that mutations reach past the checksum test. */
function fixChecksum(i: Input): Input {
  const b = Buffer.from(i.bytes);
  if (b.length < 8) return i;
  const version = b[0]! >> 4;
  const len = Math.min(b.length, 8 + b[3]! * (i.family === 4 ? 4 : 16) + (version === 2 ? 8 : 0));
  b.writeUInt16BE(0, 6);
  const vrrp = b.subarray(0, len);
  const ctx = i.family === 4 ? V4 : V6;
  const sum = version === 3 ? internetChecksum(pseudoHeader(addressBytes(ctx.src), addressBytes(ctx.dst), len, IPPROTO_VRRP), vrrp) : internetChecksum(vrrp);
  b.writeUInt16BE(sum, 6);
  return { family: i.family, bytes: new Uint8Array(b) };
}

describe('fuzz: VRRP advert', () => {
  it('decode and check never throw; an accepted advert re-encodes to one that decodes the same', async () => {
    let accepted = 0;
    await fuzz<Input>({
      name: 'vrrp',
      seeds: SEEDS,
      mutate: (rng, s, corpus) => {
        const m = {
          family: rng.chance(0.9) ? s.family : ((s.family === 4 ? 6 : 4) as 4 | 6),
          bytes: mutateBytes(
            rng,
            s.bytes,
            corpus.map((c) => c.bytes),
          ),
        };
        return rng.chance(0.5) ? fixChecksum(m) : m;
      },
      random: (rng) => ({ family: rng.chance(0.5) ? 4 : 6, bytes: rng.bytes(rng.int(600)) }),
      serialize: (i) => Buffer.from(i.bytes),
      check({ family, bytes }) {
        const ctx = family === 4 ? V4 : V6;
        const buf = Buffer.from(bytes);
        parseIpv4(buf);
        // Also without the addresses needed for the v3 pseudo-header, and as if the kernel had checked the sum.
        decodeAdvert(buf, { family });
        decodeAdvert(buf, { family, checksumVerified: true });
        const r = decodeAdvert(buf, ctx);
        if (!r.ok) return;
        accepted++;
        const a = r.advert;
        expect(a.vrid).toBeLessThan(256);
        expect(a.addresses.length).toBe(bytes[3]);
        checkAdvert(a, ctx.src, 255, { ...LOCAL, family });
        checkAdvert(a, '10.99.0.9', undefined, { ...LOCAL, family, unicast: true, peers: ['10.99.0.1'] });
        const again = decodeAdvert(encodeAdvert(a, { ...ctx, checksum: r.checksumForm === 'plain' && a.version === 3 ? 'plain' : 'pseudo' }), ctx);
        expect(again.ok).toBe(true);
        if (again.ok) expect(again.advert).toEqual(a);
      },
    });
    expect(accepted).toBeGreaterThan(100);
  });
});
