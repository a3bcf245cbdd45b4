/**
 * Host and service names the way ipvsadm gets them from libc: gethostbyname (IPv4 only) / gethostbyaddr and
 * getservbyname / getservbyport. /etc/hosts and /etc/services are read directly; DNS is asked only when the
 * files do not answer and VSADM_RESOLVE is not `files` (tests set it so they never leave the machine).
 */
import { readFileSync } from 'node:fs';
import { promises as dns } from 'node:dns';

export type Proto = 'tcp' | 'udp' | 'sctp';

export interface Resolver {
  /** IPv4 address for a host name, or null. */
  hostToAddress(name: string): Promise<string | null>;
  /** Canonical host name for an address, or null. */
  addressToHost(address: string): Promise<string | null>;
  serviceToPort(name: string, proto: Proto): number | null;
  portToService(port: number, proto: Proto): string | null;
}

interface HostEntry {
  address: string;
  names: string[];
}
interface ServiceEntry {
  name: string;
  port: number;
  proto: string;
  aliases: string[];
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

export function parseHosts(lines: readonly string[]): HostEntry[] {
  return lines
    .map((l) => l.split(/\s+/))
    .filter((w) => w.length >= 2)
    .map(([address, ...names]) => ({ address: address!, names }));
}

export function parseServices(lines: readonly string[]): ServiceEntry[] {
  const out: ServiceEntry[] = [];
  for (const l of lines) {
    const [name, portProto, ...aliases] = l.split(/\s+/);
    const m = /^(\d+)\/(\w+)$/.exec(portProto ?? '');
    if (name && m) out.push({ name, port: Number(m[1]), proto: m[2]!, aliases });
  }
  return out;
}

export interface ResolverOptions {
  hostsFile?: string;
  servicesFile?: string;
  /** Ask DNS when the files do not know a name (default: unless VSADM_RESOLVE=files). */
  dns?: boolean;
  dnsTimeoutMs?: number;
}

export function createResolver(options: ResolverOptions = {}): Resolver {
  let hosts: HostEntry[] | undefined;
  let services: ServiceEntry[] | undefined;
  const useDns = options.dns ?? process.env.VSADM_RESOLVE !== 'files';
  const timeoutMs = options.dnsTimeoutMs ?? 2000;
  const hostTable = (): HostEntry[] => (hosts ??= parseHosts(readLines(options.hostsFile ?? '/etc/hosts')));
  const serviceTable = (): ServiceEntry[] => (services ??= parseServices(readLines(options.servicesFile ?? '/etc/services')));

  const withTimeout = <T>(p: Promise<T>): Promise<T | null> =>
    Promise.race([p.catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), timeoutMs).unref())]);

  return {
    async hostToAddress(name) {
      if (name === '') return null;
      const hit = hostTable().find((h) => h.names.includes(name) && !h.address.includes(':'));
      if (hit) return hit.address;
      if (!useDns) return null;
      const r = await withTimeout(dns.lookup(name, { family: 4 }));
      return r?.address ?? null;
    },
    async addressToHost(address) {
      const hit = hostTable().find((h) => h.address === address);
      if (hit) return hit.names[0]!;
      if (!useDns) return null;
      const names = await withTimeout(dns.reverse(address));
      return names?.[0] ?? null;
    },
    serviceToPort(name, proto) {
      const hit = serviceTable().find((s) => s.proto === proto && (s.name === name || s.aliases.includes(name)));
      return hit ? hit.port : null;
    },
    portToService(port, proto) {
      return serviceTable().find((s) => s.proto === proto && s.port === port)?.name ?? null;
    },
  };
}
