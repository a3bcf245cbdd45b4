import { hostPort } from './address.js';
import { isFwmark, type RealServer, type ServiceId } from './schema.js';

/**
 * Canonical text key of a virtual service: "tcp 10.0.0.1:80", "udp [2001:db8::1]:53", "fwmark 7", "fwmark 7 inet6".
 * Used as the identity in maps, counters, the control API and logs.
 */
export function serviceKey(id: ServiceId): string {
  if (isFwmark(id)) return id.family === 'inet6' ? `fwmark ${id.fwmark} inet6` : `fwmark ${id.fwmark}`;
  return `${id.protocol} ${hostPort(id.address, id.port)}`;
}

export function realServerKey(rs: Pick<RealServer, 'address' | 'port'>): string {
  return hostPort(rs.address, rs.port);
}

/** The identity part of a service (what IPVS looks services up by). */
export function serviceIdOf(svc: ServiceId): ServiceId {
  return isFwmark(svc) ? { fwmark: svc.fwmark, family: svc.family } : { protocol: svc.protocol, address: svc.address, port: svc.port };
}

/** Inverse of {@link serviceKey}. */
export function parseServiceKey(key: string): ServiceId | null {
  const m = /^fwmark (\d+)( inet6)?$/.exec(key);
  if (m) return { fwmark: Number(m[1]), family: m[2] ? 'inet6' : 'inet' };
  const n = /^(tcp|udp|sctp) (?:\[([0-9a-f:.]+)\]|([0-9.]+)):(\d+)$/.exec(key);
  if (!n) return null;
  return { protocol: n[1] as 'tcp' | 'udp' | 'sctp', address: (n[2] ?? n[3])!, port: Number(n[4]) };
}
