import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

/** The address family of a textual address, or undefined when it is neither. */
export function familyOf(address: string): Family | undefined {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return undefined;
}

/** Network-order bytes of an IPv4 or IPv6 address (4 or 16 bytes). Throws on an invalid address. */
export function addressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  if (isIPv6(address)) return ipv6Bytes(address);
  throw new TypeError(`not an IP address: ${address}`);
}

function ipv6Bytes(address: string): Buffer {
  let text = address.split('%')[0];
  const out = Buffer.alloc(16);
  // An embedded dotted quad fills the last 32 bits.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  let v4: Buffer | undefined;
  if (tail.includes('.')) {
    v4 = Buffer.from(tail.split('.').map(Number));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest === undefined ? [] : rest ? rest.split(':') : [];
  const groups = [...headGroups, ...new Array(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (v4) v4.copy(out, 12);
  return out;
}

/** Text form of 4 or 16 network-order bytes (IPv6 compressed as RFC 5952). */
export function bytesToAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new TypeError(`address of ${bytes.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
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
