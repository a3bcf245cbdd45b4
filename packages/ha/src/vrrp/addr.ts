import { isIPv4, isIPv6 } from 'node:net';
import { addressBytes as modelAddressBytes, ipv6ToText } from '@vsd/core';

export type Family = 4 | 6;

/** The address family of a textual address, or undefined when it is neither. */
export function familyOf(address: string): Family | undefined {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return undefined;
}

/** Network-order bytes of an IPv4 or IPv6 address (4 or 16 bytes; an IPv6 zone is ignored). Throws on an invalid address. */
export function addressBytes(address: string): Buffer {
  const plain = address.split('%')[0]!;
  if (!familyOf(plain)) throw new TypeError(`not an IP address: ${address}`);
  const b = modelAddressBytes(plain);
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** Text form of 4 or 16 network-order bytes (IPv6 compressed as RFC 5952). */
export function bytesToAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new TypeError(`address of ${bytes.length} bytes`);
  return ipv6ToText(bytes);
}

/** Unsigned comparison of two addresses in network byte order (RFC 5798 §6.4.3 tie-break). */
export function compareAddresses(a: string, b: string): number {
  return Buffer.compare(addressBytes(a), addressBytes(b));
}

/** Parses `ADDR[/PREFIX]`; the prefix defaults to the host length. */
export function parseCidr(text: string): { address: string; prefix: number; family: Family } {
  const [address, prefixText] = text.split('/');
  const family = familyOf(address);
  if (!family) throw new TypeError(`not an IP address: ${text}`);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
    throw new TypeError(`bad prefix length in ${text}`);
  }
  return { address, prefix, family };
}
