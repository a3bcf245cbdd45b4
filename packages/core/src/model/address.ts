import { isIPv4, isIPv6 } from 'node:net';
import { addressBytes, ipv4ToUint, ipv6ToBytes, ipv6ToText } from '@vsd/protocol';

export { addressBytes, canonicalAddress, familyOf, ipv4ToUint, ipv6ToBytes, ipv6ToText, type Family } from '@vsd/protocol';

/** "ADDR:PORT", with IPv6 in brackets, as ipvsadm prints it. */
export function hostPort(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The scheduler's folded key: IPv4 as a host-order u32, IPv6 as the XOR of its four 32-bit words. */
export function foldAddress(address: string): number {
  if (isIPv4(address)) return ipv4ToUint(address);
  const b = ipv6ToBytes(address);
  let x = 0;
  for (let i = 0; i < 16; i += 4) x ^= (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
  return x >>> 0;
}

/** Client address masked to a persistence granularity (prefix length). */
export function maskAddress(address: string, prefix: number): string {
  const bytes = addressBytes(address);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return bytes.length === 4 ? Array.from(bytes).join('.') : ipv6ToText(bytes);
}

/** Dotted IPv4 netmask -> prefix length, or null when the mask is not contiguous. */
export function netmaskToPrefix(mask: string): number | null {
  if (!isIPv4(mask)) return null;
  const n = ipv4ToUint(mask);
  const prefix = 32 - Math.log2((~n >>> 0) + 1);
  return Number.isInteger(prefix) ? prefix : null;
}

export function prefixToNetmask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}
