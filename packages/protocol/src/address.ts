/** IP address text: canonical form and family, shared by every wire format that carries addresses. */
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 'inet' | 'inet6';

/** Canonical text of an IP address (IPv6 compressed, lower case), or null when it is not an address. */
export function canonicalAddress(input: string): string | null {
  if (isIPv4(input))
    return input
      .split('.')
      .map((o) => String(Number(o)))
      .join('.');
  if (isIPv6(input)) return ipv6ToText(ipv6ToBytes(input));
  return null;
}

export function familyOf(address: string): Family {
  return isIPv6(address) ? 'inet6' : 'inet';
}

export function ipv4ToUint(address: string): number {
  const p = address.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

export function ipv6ToBytes(address: string): Uint8Array {
  let text = address;
  const out = new Uint8Array(16);
  // An embedded IPv4 tail ("::ffff:1.2.3.4") becomes two hex groups first.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToUint(v4[1]!);
    text = `${text.slice(0, v4.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

export function ipv6ToText(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** "HOST:PORT" or "[V6]:PORT" -> { host, port }; null when malformed. */
export function parseListen(text: string): ListenAddress | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && canonicalAddress(host) === null) return null;
  return { host, port };
}

/** Address as 4 (IPv4) or 16 (IPv6) network-order bytes. */
export function addressBytes(address: string): Uint8Array {
  if (isIPv4(address)) {
    const n = ipv4ToUint(address);
    return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  return ipv6ToBytes(address);
}
