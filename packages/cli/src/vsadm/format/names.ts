/**
 * addrport_to_anyname: "ADDR:PORT" with -n, otherwise host and service names where the resolver knows them.
 * Lookups are async, so a Namer is built first for every address a listing will print; formatting stays pure.
 */
import { isIPv6 } from 'node:net';
import type { Proto, Resolver } from '../resolve.js';

export interface Namer {
  /** Host name or null. */
  host(address: string): string | null;
  service(port: number, proto: Proto | null): string | null;
}

export const NUMERIC: Namer = { host: () => null, service: () => null };

/** ipvsadm formats into a 60-byte buffer: longer names are cut at 59 characters. */
export function addrPort(address: string, port: number, proto: Proto | null, numeric: boolean, namer: Namer): string {
  const v6 = isIPv6(address);
  const host = numeric ? address : (namer.host(address) ?? address);
  const svc = numeric ? String(port) : (namer.service(port, proto) ?? String(port));
  const text = v6 ? `[${host}]:${svc}` : `${host}:${svc}`;
  return text.slice(0, 59);
}

export async function buildNamer(addresses: Iterable<string>, resolver: Resolver): Promise<Namer> {
  const unique = [...new Set(addresses)];
  const names = new Map<string, string | null>();
  await Promise.all(unique.map(async (a) => names.set(a, await resolver.addressToHost(a))));
  return {
    host: (a) => names.get(a) ?? null,
    service: (port, proto) => (proto ? resolver.portToService(port, proto) : null),
  };
}
