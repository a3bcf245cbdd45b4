/**
 * Reading vsd.yaml: YAML -> schema -> the virtual-service table it describes (the core model), plus a hash of
 * that table so the daemon can tell whether the file changed since it was last applied.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  ConfigError,
  DEFAULT_PERSISTENCE_TIMEOUT,
  netmaskToPrefix,
  parseVirtualService,
  serviceKey,
  realServerKey,
  ValidationError,
  VsdError,
  type ForwardingMethod,
  type VirtualService,
} from '@vsd/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { vsdConfigSchema, type VirtualServerConfig, type VsdConfig } from './config.js';

export interface LoadedConfig {
  path: string;
  /** The file does not exist (the daemon starts with what the state file holds, or empty). */
  absent: boolean;
  config: VsdConfig;
  services: VirtualService[];
  /** sha256 of the virtual-service table the file describes (comments, ha: etc. do not change it). */
  servicesHash: string;
}

const FORWARDING: Record<'NAT' | 'DR' | 'TUN', ForwardingMethod> = { NAT: 'masq', DR: 'route', TUN: 'tunnel' };

export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(path, `cannot read: ${(err as Error).message}`);
    return { ...parseConfigText('', path), absent: true };
  }
  return parseConfigText(text, path);
}

/** Parse the text of a config file; every problem is a ConfigError naming the file, the key and the value. */
export function parseConfigText(text: string, path: string): LoadedConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(path, `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = vsdConfigSchema.safeParse(raw);
  if (!r.success) throw configIssue(path, raw, r.error.issues[0]!);
  let services: VirtualService[];
  try {
    services = r.data.virtual_servers.map((vs, i) => toService(vs, `virtual_servers.${i}`));
    checkDuplicates(services);
  } catch (err) {
    if (err instanceof VsdError) throw new ConfigError(path, err.message, err.details);
    throw err;
  }
  return { path, absent: false, config: r.data, services, servicesHash: hashServices(services) };
}

export function hashServices(services: readonly VirtualService[]): string {
  return createHash('sha256').update(JSON.stringify(services)).digest('hex');
}

function configIssue(path: string, raw: unknown, issue: z.ZodIssue): ConfigError {
  const keys = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const field = keys.map(String).join('.') || '(top level)';
  let value: unknown = raw;
  for (const k of keys) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[k] : undefined;
  const got = value === undefined || issue.message.startsWith('unknown key') ? '' : ` (got ${JSON.stringify(value)})`;
  return new ConfigError(path, `${field}: ${issue.message}${got}`, { field, value });
}

function splitHostPort(text: string, field: string): { address: string; port: number | undefined } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new ValidationError(field, text, 'expected ADDRESS:PORT ([v6]:PORT for IPv6)');
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65535) throw new ValidationError(field, text, 'port must be 0..65535');
  return { address: m[1]!, port };
}

function toService(vs: VirtualServerConfig, p: string): VirtualService {
  if ((vs.address === undefined) === (vs.fwmark === undefined)) throw new ValidationError(p, vs.address ?? vs.fwmark, 'give exactly one of address or fwmark');
  const id = vs.address !== undefined ? inetId(vs, p) : { fwmark: vs.fwmark!, family: vs.family };
  const timeout = vs.persistence_timeout === null ? DEFAULT_PERSISTENCE_TIMEOUT : Math.ceil(vs.persistence_timeout);
  const realServers = vs.real_servers.map((rs, j) => {
    const f = `${p}.real_servers.${j}.address`;
    const { address, port } = splitHostPort(rs.address, f);
    return {
      address,
      port: port ?? ('port' in id ? id.port : 0),
      forwarding: FORWARDING[rs.lb_kind ?? vs.lb_kind],
      weight: rs.weight,
      upperThreshold: rs.uthreshold,
      lowerThreshold: rs.lthreshold,
    };
  });
  return parseVirtualService(
    {
      ...id,
      scheduler: vs.lb_algo,
      schedFlags: vs.sched_flags,
      persistence: { timeout, ...(vs.persistence_granularity !== undefined ? { netmask: granularity(vs.persistence_granularity, `${p}.persistence_granularity`) } : {}) },
      pe: vs.persistence_engine ?? null,
      onePacket: vs.ops,
      realServers,
    },
    p,
  );
}

function inetId(vs: VirtualServerConfig, p: string) {
  const { address, port } = splitHostPort(vs.address!, `${p}.address`);
  return { protocol: vs.protocol, address, port: port ?? 0 };
}

function granularity(value: string | number, field: string): number {
  if (typeof value === 'number') return value;
  const prefix = /^\/?(\d+)$/.test(value) ? Number(value.replace('/', '')) : netmaskToPrefix(value);
  if (prefix === null) throw new ValidationError(field, value, 'expected a netmask (255.255.255.0) or a prefix length (24)');
  return prefix;
}

function checkDuplicates(services: VirtualService[]): void {
  const seen = new Map<string, number>();
  services.forEach((s, i) => {
    const key = serviceKey(s);
    if (seen.has(key)) throw new ValidationError(`virtual_servers.${i}`, key, `the same virtual service as virtual_servers.${seen.get(key)}`);
    seen.set(key, i);
    const rs = new Set<string>();
    s.realServers.forEach((r, j) => {
      const k = realServerKey(r);
      if (rs.has(k)) throw new ValidationError(`virtual_servers.${i}.real_servers.${j}`, k, 'real server listed twice');
      rs.add(k);
    });
  });
}
