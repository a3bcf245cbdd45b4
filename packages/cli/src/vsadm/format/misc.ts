/** ipvsadm -L -c, -L --timeout and -L --daemon. */
import type { ConnectionEntry, SyncDaemon, Timeouts } from '@vsd/core';
import type { ListFormat } from '../command.js';
import type { Proto } from '../resolve.js';
import { addrPort, type Namer } from './names.js';
import { left } from './printf.js';

export function formatTimeouts(t: Timeouts): string {
  return `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpfin} ${t.udp}\n`;
}

/**
 * Kernels since 4.3 report the values a daemon runs with, defaults included: maxlen from a 1500-byte MTU minus
 * the IP and UDP headers, group 224.0.0.81, port 8848, TTL 1.
 */
export function formatDaemons(daemons: readonly SyncDaemon[]): string {
  const order = ['master', 'backup'] as const;
  return order
    .map((state) => daemons.find((d) => d.state === state))
    .filter((d): d is SyncDaemon => d !== undefined)
    .map((d) => {
      const v6 = d.group?.includes(':') ?? false;
      const maxlen = d.maxlen ?? (v6 ? 1500 - 48 : 1500 - 28);
      return `${d.state} sync daemon (mcast=${d.mcastInterface}, syncid=${d.syncId}, maxlen=${maxlen}, group=${d.group ?? '224.0.0.81'}, port=${d.port ?? 8848}, ttl=${d.ttl ?? 1})\n`;
    })
    .join('');
}

const PROTO: Record<string, Proto | null> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

export function formatConnections(conns: readonly ConnectionEntry[], f: ListFormat, namer: Namer): string {
  const head = f.persistentConn
    ? `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} ${left('destination', 18)} ${left('pe name', 16)} pe_data\n`
    : `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} destination\n`;
  const rows = conns.map((c) => {
    const proto = PROTO[c.protocol] ?? null;
    const name = (e: { address: string; port: number }): string => addrPort(e.address, e.port, proto, f.numeric, namer);
    const secs = Math.max(0, Math.floor(c.expires));
    const mm = String(Math.floor(secs / 60)).padStart(2, '0');
    const ss = String(secs % 60).padStart(2, '0');
    const base = `${left(c.protocol, 3)} ${left(`${mm}:${ss}`, 6)} ${left(c.state, 11)} ${left(name(c.client), 18)} ${left(name(c.virtual), 18)}`;
    if (f.persistentConn && c.pe) return `${base} ${left(name(c.destination), 16)} ${left(c.pe.name, 18)} ${c.pe.data}\n`;
    return `${base} ${name(c.destination)}\n`;
  });
  return `IPVS connection entries\n${head}${rows.join('')}`;
}
