import { describe, expect, it } from 'vitest';
import { fls, gcd, hash32, hsiphash, hsiphashKey, hsiphashU32 } from '../../src/scheduler/hash.js';

// lib/test_siphash.c, BITS_PER_LONG == 64: hsiphash of the bytes 0..len-1 under key 0x0706050403020100, 0x0f0e0d0c0b0a0908.
const VECTORS = [
  0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328, 0x49533b67, 0xc59f22a7, 0x9bb11140, 0x8d299a8e, 0x6c063de4, 0x92ff097f, 0xf94dc352, 0x57b4d9a2,
  0x1229ffa7, 0xc0f95d34, 0x2a519956, 0x7d908b66, 0x63dbd80c, 0xb473e63e, 0x8d297d1c, 0xa6cce040, 0x2b45f844, 0xa320872e, 0xdae6c123, 0x67349c8c, 0x705b0979,
  0xca9913a5, 0x4ade3b35, 0xef6cd00d, 0x4ab1e1f4, 0x43c5e663, 0x8c21d1bc, 0x16a7b60d, 0x7a8ff9bf, 0x1f2a753e, 0xbf186b91, 0xada26206, 0xa3c33057, 0xae3a36a1,
  0x7b108392, 0x99e41531, 0x3f1ad944, 0xc8138825, 0xc28949a6, 0xfaf8876b, 0x9f042196, 0x68b1d623, 0x8b5114fd, 0xdf074c46, 0x12cc86b3, 0x0a52098f, 0x9d292f9a,
  0xa2f41f12, 0x43a71ed0, 0x73f0bce6, 0x70a7e980, 0x243c6d75, 0xfdb71513, 0xa67d8a08, 0xb7e8f148, 0xf7a644ee, 0x0f1837f2, 0x4b6694e0, 0xb7bbb3a8,
];
const KEY = hsiphashKey(0x0706050403020100n, 0x0f0e0d0c0b0a0908n);

describe('hash (lib/siphash.c, include/linux/hash.h)', () => {
  it('lib/test_siphash.c: hsiphash matches the 64-bit self-test vectors for lengths 0..63', () => {
    for (let len = 0; len < 64; len++) {
      const data = Uint8Array.from({ length: len }, (_, i) => i);
      expect(hsiphash(data, KEY), `len ${len}`).toBe(VECTORS[len]);
    }
  });

  it('lib/test_siphash.c: hsiphash_1u32(0x03020100) equals vector 4 (the 4-byte form ip_vs_mh.c uses)', () => {
    expect(hsiphashU32(0x03020100, KEY)).toBe(VECTORS[4]);
    expect(hsiphashU32(0x03020100, KEY)).toBe(hsiphash(Uint8Array.of(0, 1, 2, 3), KEY));
  });

  it('hash.h: hash_32 keeps the high bits of val * 0x61C88647', () => {
    expect(hash32(0, 8)).toBe(0);
    expect(hash32(1, 8)).toBe(0x61);
    expect(hash32(1, 32)).toBe(0x61c88647);
    // 0xC0A80001 * 0x61C88647 mod 2^32, computed with BigInt as the oracle
    const v = 0xc0a80001;
    const expected = Number(((BigInt(v) * 0x61c88647n) & 0xffffffffn) >> 22n);
    expect(hash32(v, 10)).toBe(expected);
  });

  it('fls and gcd behave like the kernel helpers', () => {
    expect([fls(0), fls(1), fls(2), fls(3), fls(64), fls(0x80000000)]).toEqual([0, 1, 2, 2, 7, 32]);
    expect([gcd(4, 6), gcd(7, 3), gcd(10, 5), gcd(0, 5)]).toEqual([2, 1, 5, 5]);
  });
});
