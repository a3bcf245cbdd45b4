/**
 * The libc conversions ipvsadm parses its arguments with, so vsadm accepts and refuses the same spellings:
 * strtol (base 10, leading blanks and a sign allowed, the whole word must be consumed), atoi, inet_aton
 * (1 to 4 parts, each decimal, octal or hex) and inet_pton.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalAddress } from '@vsd/core';

const LONG_MAX = 2n ** 63n - 1n;

/** ipvsadm's string_to_number: the value, or -1 when `s` is not a whole number in [min, max]. */
export function stringToNumber(s: string, min: number, max: number): number {
  const m = /^[\t\n\v\f\r ]*([+-]?)(\d+)$/.exec(s);
  if (!m) return -1;
  const big = BigInt(m[2]!) * (m[1] === '-' ? -1n : 1n);
  if (big > LONG_MAX || big < -LONG_MAX - 1n) return -1;
  const n = Number(big);
  return n >= min && n <= max ? n : -1;
}

/** strtol over the whole word (as parse_fwmark uses it): null when something is left over. */
export function strtolWhole(s: string): number | null {
  const m = /^[\t\n\v\f\r ]*([+-]?)(\d+)$/.exec(s);
  if (!m) return null;
  const big = BigInt(m[2]!) * (m[1] === '-' ? -1n : 1n);
  if (big > LONG_MAX || big < -LONG_MAX - 1n) return null;
  return Number(big);
}

/** atoi: leading integer, 0 when there is none. */
export function atoi(s: string): number {
  const m = /^[\t\n\v\f\r ]*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1]!, 10) | 0 : 0;
}

/** inet_aton: dotted IPv4 in any of its historic forms, as a canonical dotted quad; null when invalid. */
export function inetAton(s: string): string | null {
  const parts = s.split('.');
  if (parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9]\d*$/.test(p)) v = parseInt(p, 10);
    else return null;
    nums.push(v);
  }
  const last = nums.pop()!;
  if (nums.some((n) => n > 255) || last >= 2 ** (8 * (4 - nums.length))) return null;
  let value = 0;
  nums.forEach((n, i) => (value += n * 2 ** (8 * (3 - i))));
  value += last;
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

export function inetPton4(s: string): string | null {
  return isIPv4(s) && !/(^|\.)0\d/.test(s) ? s : null;
}

export function inetPton6(s: string): string | null {
  return isIPv6(s) && !s.includes('%') ? canonicalAddress(s) : null;
}
