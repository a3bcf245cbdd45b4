/**
 * The kernel's hash functions as the IPVS schedulers use them, bit for bit on a 64-bit little-endian kernel.
 *
 * - `hash32` is `hash_32()` from include/linux/hash.h: multiply by GOLDEN_RATIO_32, keep the high `bits`.
 * - `hsiphash*` is lib/siphash.c's hsiphash on 64-bit kernels, which is SipHash-1-3 (one compression round,
 *   three finalisation rounds) with a 2x64-bit key, returning the low 32 bits of v0^v1^v2^v3.
 *
 * JavaScript has no u64 arithmetic without BigInt, and BigInt allocates; the SipHash state is therefore kept
 * as eight u32 halves in local variables, so one hash costs no allocation (mh hashes on every pick).
 * Addresses are folded with `foldAddress` (model/address.ts): IPv4 as is, IPv6 as the XOR of its four words.
 */

export const GOLDEN_RATIO_32 = 0x61c88647;

/** hash_32(val, bits): the high `bits` bits of val * GOLDEN_RATIO_32 (mod 2^32). bits in 1..32; val u32 or int32. */
export function hash32(val: number, bits: number): number {
  return Math.imul(val, GOLDEN_RATIO_32) >>> (32 - bits);
}

/** A 128-bit (h)siphash key as two u64 words, each split in u32 halves. */
export interface HsiphashKey {
  readonly k0hi: number;
  readonly k0lo: number;
  readonly k1hi: number;
  readonly k1lo: number;
}

/** Build a key from the kernel's two `unsigned long` key words. */
export function hsiphashKey(k0: bigint, k1: bigint): HsiphashKey {
  const m = 0xffffffffn;
  return {
    k0hi: Number((k0 >> 32n) & m),
    k0lo: Number(k0 & m),
    k1hi: Number((k1 >> 32n) & m),
    k1lo: Number(k1 & m),
  };
}

/**
 * The whole hsiphash in one function so that the state lives in locals: module-level `let`s holding u32 values
 * above 2^31 would be boxed as heap numbers on every store, which costs an allocation per operation.
 * Message words (little-endian u64 as lo/hi u32 pairs in `words`) are absorbed one round each, then the final
 * block b = (len << 56) | tail, then v2 ^= 0xff and three more rounds. The round body appears once; `k` says
 * what surrounds it.
 */
function sip13(key: HsiphashKey, words: Uint32Array | null, nwords: number, bh: number, bl: number, mod: number): number {
  // "somepseudorandomlygeneratedbytes" xor the key
  let v0h = (0x736f6d65 ^ key.k0hi) >>> 0;
  let v0l = (0x70736575 ^ key.k0lo) >>> 0;
  let v1h = (0x646f7261 ^ key.k1hi) >>> 0;
  let v1l = (0x6e646f6d ^ key.k1lo) >>> 0;
  let v2h = (0x6c796765 ^ key.k0hi) >>> 0;
  let v2l = (0x6e657261 ^ key.k0lo) >>> 0;
  let v3h = (0x74656462 ^ key.k1hi) >>> 0;
  let v3l = (0x79746573 ^ key.k1lo) >>> 0;
  const rounds = nwords + 4;
  for (let k = 0; k < rounds; k++) {
    let mh = 0;
    let ml = 0;
    if (k < nwords) {
      ml = words![2 * k]!;
      mh = words![2 * k + 1]!;
    } else if (k === nwords) {
      ml = bl >>> 0;
      mh = bh >>> 0;
    }
    if (k <= nwords) {
      v3h = (v3h ^ mh) >>> 0;
      v3l = (v3l ^ ml) >>> 0;
    }
    // SipRound: v0 += v1; v1 = rol(v1, 13); v1 ^= v0; v0 = rol(v0, 32)
    let lo = (v0l + v1l) >>> 0;
    v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0;
    v0l = lo;
    let hi = ((v1h << 13) | (v1l >>> 19)) >>> 0;
    lo = ((v1l << 13) | (v1h >>> 19)) >>> 0;
    v1h = (hi ^ v0h) >>> 0;
    v1l = (lo ^ v0l) >>> 0;
    let t = v0h;
    v0h = v0l;
    v0l = t;
    // v2 += v3; v3 = rol(v3, 16); v3 ^= v2
    lo = (v2l + v3l) >>> 0;
    v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0;
    v2l = lo;
    hi = ((v3h << 16) | (v3l >>> 16)) >>> 0;
    lo = ((v3l << 16) | (v3h >>> 16)) >>> 0;
    v3h = (hi ^ v2h) >>> 0;
    v3l = (lo ^ v2l) >>> 0;
    // v0 += v3; v3 = rol(v3, 21); v3 ^= v0
    lo = (v0l + v3l) >>> 0;
    v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0;
    v0l = lo;
    hi = ((v3h << 21) | (v3l >>> 11)) >>> 0;
    lo = ((v3l << 21) | (v3h >>> 11)) >>> 0;
    v3h = (hi ^ v0h) >>> 0;
    v3l = (lo ^ v0l) >>> 0;
    // v2 += v1; v1 = rol(v1, 17); v1 ^= v2; v2 = rol(v2, 32)
    lo = (v2l + v1l) >>> 0;
    v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0;
    v2l = lo;
    hi = ((v1h << 17) | (v1l >>> 15)) >>> 0;
    lo = ((v1l << 17) | (v1h >>> 15)) >>> 0;
    v1h = (hi ^ v2h) >>> 0;
    v1l = (lo ^ v2l) >>> 0;
    t = v2h;
    v2h = v2l;
    v2l = t;
    if (k <= nwords) {
      v0h = (v0h ^ mh) >>> 0;
      v0l = (v0l ^ ml) >>> 0;
    }
    if (k === nwords) v2l = (v2l ^ 0xff) >>> 0;
  }
  const h = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  // Reduced here when asked: a u32 above the small-integer range returned from a call that is not inlined is
  // boxed as a heap number, an allocation per hash; the remainder modulo a table size never is.
  return mod === 0 ? h : h % mod;
}

/**
 * hsiphash of the 4 bytes of a u32 as a little-endian host stores it: what `hsiphash(&v, sizeof(v), key)`
 * computes in ip_vs_mh.c (equal to hsiphash_1u32 on 64-bit). Allocation-free.
 */
export function hsiphashU32(value: number, key: HsiphashKey): number {
  return sip13(key, null, 0, 0x04000000, value | 0, 0);
}

/**
 * hsiphashU32(value, key) % mod without allocating (mod in 1..2^30): the form mh uses per pick. Pass `value`
 * as an int32 (`x | 0`, same bits): a u32 above 2^31 passed to a call that is not inlined is boxed too.
 */
export function hsiphashU32Mod(value: number, key: HsiphashKey, mod: number): number {
  return sip13(key, null, 0, 0x04000000, value | 0, mod);
}

/** hsiphash over arbitrary bytes (reference form, used by tests against lib/test_siphash.c vectors). */
export function hsiphash(data: Uint8Array, key: HsiphashKey): number {
  const nwords = Math.floor(data.length / 8);
  const words = new Uint32Array(2 * nwords);
  for (let k = 0; k < nwords; k++) {
    const i = 8 * k;
    words[2 * k] = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    words[2 * k + 1] = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
  }
  let bl = 0;
  let bh = (data.length & 0xff) << 24;
  for (let i = 8 * nwords; i < data.length; i++) {
    const shift = (i - 8 * nwords) * 8;
    if (shift < 32) bl |= data[i]! << shift;
    else bh |= data[i]! << (shift - 32);
  }
  return sip13(key, words, nwords, bh | 0, bl | 0, 0);
}

/** Index of the most significant set bit, 1-based; 0 for 0 (the kernel's fls()). */
export function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}
