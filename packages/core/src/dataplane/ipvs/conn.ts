/**
 * The kernel connection table as /proc/net/ip_vs_conn prints it (ip_vs_conn_seq_show): hex IPv4
 * addresses and ports, full-form IPv6 addresses, state name, seconds to expiry, optional PE name and data.
 * ipvsadm -Lc reads the same file (there is no netlink command for connections).
 */
import { readFile } from 'node:fs/promises';
import { canonicalAddress } from '../../model/address.js';
import type { ConnectionEntry } from '../types.js';

export const IP_VS_CONN_PATH = '/proc/net/ip_vs_conn';

function addr(text: string): string {
  if (/^[0-9A-Fa-f]{8}$/.test(text)) {
    const n = parseInt(text, 16);
    return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
  }
  return canonicalAddress(text) ?? text;
}

const PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);

export function parseIpvsConn(text: string): ConnectionEntry[] {
  const out: ConnectionEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 9 || f[0] === 'Pro') continue;
    const [proto, ca, cp, va, vp, da, dp, state, expires, peName, ...peData] = f as [string, ...string[]];
    const entry: ConnectionEntry = {
      protocol: PROTOCOLS.has(proto) ? (proto as ConnectionEntry['protocol']) : 'IP',
      expires: Number(expires),
      state: state!,
      client: { address: addr(ca!), port: parseInt(cp!, 16) },
      virtual: { address: addr(va!), port: parseInt(vp!, 16) },
      destination: { address: addr(da!), port: parseInt(dp!, 16) },
    };
    if (peName) entry.pe = { name: peName, data: peData.join(' ') };
    // Persistence templates are the entries without a protocol state of their own.
    if (state === 'NONE') entry.template = true;
    out.push(entry);
  }
  return out;
}

/** Reads the connection table; an absent file (ip_vs not loaded) reads as empty. */
export async function readIpvsConn(path = IP_VS_CONN_PATH): Promise<ConnectionEntry[]> {
  try {
    return parseIpvsConn(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
