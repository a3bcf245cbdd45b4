/** ipvsadm's per-option value parsers (parse_service, parse_timeout, parse_fwmark, parse_sched_flags ...). */
import { atoi, inetAton, inetPton4, inetPton6, stringToNumber, strtolWhole } from './cparse.js';
import { fail } from './exit.js';
import type { Proto, Resolver } from './resolve.js';

export const MAX_TIMEOUT = 86400 * 31;
const PERSISTENT_TIMEOUT = 360;

export interface ParsedAddress {
  family: 'inet' | 'inet6';
  address: string;
  /** null when the text had no port part. */
  port: number | null;
}

/** parse_service: null when ipvsadm would report SERVICE_NONE. */
export async function parseService(text: string, proto: Proto | null, resolver: Resolver): Promise<ParsedAddress | null> {
  if (/^\d*$/.test(text)) return null;
  let host = text;
  let portText: string | null = null;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0 || host[close + 1] !== ':') return null;
    portText = host.slice(close + 2);
    host = host.slice(1, close);
  }
  let family: 'inet' | 'inet6';
  let address: string | null = inetPton6(host);
  if (address) family = 'inet6';
  else {
    // Not IPv6: the port is after the last colon (of the text inside the brackets, if there were any).
    const colon = host.lastIndexOf(':');
    portText = colon >= 0 ? host.slice(colon + 1) : null;
    if (colon >= 0) host = host.slice(0, colon);
    address = inetAton(host) ?? (await resolver.hostToAddress(host));
    if (!address) return null;
    family = 'inet';
  }
  if (portText === null) return { family, address, port: null };
  const n = stringToNumber(portText, 0, 65535);
  if (n !== -1) return { family, address, port: n };
  const named = proto ? resolver.serviceToPort(portText, proto) : null;
  return named === null ? null : { family, address, port: named };
}

/** parse_timeout: no value means the persistence default. */
export function parseTimeout(text: string | null, min: number, max: number): number {
  if (text === null) return PERSISTENT_TIMEOUT;
  const n = stringToNumber(text, min, max);
  if (n === -1) throw fail(2, `invalid timeout value \`${text}' specified`);
  return n;
}

export function parseFwmark(text: string): number {
  const n = strtolWhole(text);
  if (n === null || n <= 0 || n > 0xffffffff) throw fail(2, `invalid fwmark value \`${text}' specified`);
  return n;
}

/** IPv4 persistence mask as a u32, or null. */
export async function parseNetmask4(text: string, resolver: Resolver): Promise<number | null> {
  const dotted = inetAton(text) ?? (await resolver.hostToAddress(text));
  if (!dotted) return null;
  return dotted.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function parseNetmask6(text: string): number {
  const n = atoi(text);
  if (n < 1 || n > 128) throw fail(2, 'illegal ipv6 netmask specified');
  return n;
}

/** parse_sched_flags: bits SCHED1..3; sh-/mh- flags need their scheduler (empty means the default, wlc). */
export function parseSchedFlags(scheduler: string, text: string): number {
  const sched = scheduler || 'wlc';
  let bits = 0;
  const words = text.split(',').filter(Boolean);
  // strtok on a string of only commas yields one null token; ipvsadm then crashes in strcmp. Refuse it instead.
  if (words.length === 0) throw fail(2, `invalid scheduler flag \`${text}'`);
  for (const flag of words) {
    const m = /^(?:flag-([123])|(sh|mh)-(fallback|port))$/.exec(flag);
    if (!m) throw fail(2, `invalid scheduler flag \`${flag}'`);
    if (m[1]) bits |= 1 << (Number(m[1]) - 1);
    else {
      bits |= m[3] === 'fallback' ? 1 : 2;
      if (sched !== m[2]) throw fail(2, `incompatible scheduler flag \`${flag}'`);
    }
  }
  return bits;
}

export function parseMcastGroup(text: string): string {
  if (text.includes(':')) {
    const a = inetPton6(text);
    if (!a?.startsWith('ff')) throw fail(2, `invalid IPv6 mcast-group \`${text}'`);
    return a;
  }
  const a = inetPton4(text);
  const first = a ? Number(a.split('.')[0]) : 0;
  if (!a || first < 224 || first > 239) throw fail(2, `invalid IPv4 mcast-group \`${text}'`);
  return a;
}

export function numberOrFail(text: string, min: number, max: number, message: string): number {
  const n = stringToNumber(text, min, max);
  if (n === -1) throw fail(2, message);
  return n;
}
