/**
 * Reading vsd.yaml: YAML -> schema -> the virtual-service table it describes (the core model), plus a hash of
 * that table so the daemon can tell whether the file changed since it was last applied.
 *
 * Parsing is synchronous and costs about 2 ms per KiB (a 1 MB file: ~2 s), which on the daemon's main thread
 * would stop VRRP adverts long enough for the peer to take over. So a file above OFF_THREAD_BYTES is parsed in
 * a worker thread (config-worker.ts) and only the result crosses back; a file above MAX_CONFIG_BYTES is refused.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  ConfigError,
  DEFAULT_PERSISTENCE_TIMEOUT,
  netmaskToPrefix,
  parseVirtualService,
  serviceKey,
  realServerKey,
  ValidationError,
  VsdError,
  parseYamlConfig,
  type CheckSpec,
  type ForwardingMethod,
  type VirtualService,
  type YamlWarning,
} from '@vsd/core';
import type { z } from 'zod';
import { vsdConfigSchema, type VirtualServerConfig, type VsdConfig } from './config.js';

export interface LoadedConfig {
  path: string;
  /** The file does not exist (the daemon starts with what the state file holds, or empty). */
  absent: boolean;
  config: VsdConfig;
  services: VirtualService[];
  /** sha256 of the virtual-service table the file describes (comments, ha: etc. do not change it). */
  servicesHash: string;
  /** (service, real server) pairs that get a PROXY protocol v2 header, as {@link proxyProtocolPair} keys. */
  proxyProtocolPairs: string[];
  /** The health checks of each virtual service that has a check or a sorry server, carried with its service key. */
  health: ServiceHealthConfig[];
  /** What the YAML parser warned about (an unresolved tag, ...), for the caller's logger: it prints nothing itself. */
  warnings: YamlWarning[];
}

/**
 * One virtual server's health configuration, named by its service (and real servers) by key rather than by its
 * place in the file: the health component looks services up in the running table, which vsadm and peer sync
 * change. Plain records, so that it crosses from the parser thread as JSON.
 */
export interface ServiceHealthConfig {
  /** serviceKey() of the virtual service. */
  service: string;
  /** Where it is in the file (virtual_servers.N), for the errors of the health monitor. */
  field: string;
  /** realServerKey() -> that real server's checks (real servers without checks are left out: always alive). */
  checks: Record<string, CheckSpec[]>;
  /** realServerKey() -> a real server's own inhibit_on_failure. */
  inhibitOnFailure: Record<string, boolean>;
  /** The virtual server's health keys (delay_loop, quorum, ... as in vsd.yaml), those the file sets. */
  options: Record<string, unknown>;
  /** How the sorry server is reached: the virtual server's lb_kind. */
  sorryForwarding: ForwardingMethod;
}

/** The key of one (virtual service, real server) pair in {@link LoadedConfig.proxyProtocolPairs}. */
export function proxyProtocolPair(serviceKeyText: string, realServerKeyText: string): string {
  return `${serviceKeyText} ${realServerKeyText}`;
}

const FORWARDING: Record<'NAT' | 'DR' | 'TUN', ForwardingMethod> = { NAT: 'masq', DR: 'route', TUN: 'tunnel' };

/** Larger config files are refused: 16 MiB is some 30,000 virtual services with 9 real servers each. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** Larger config files are parsed in a worker thread (smaller ones take < 100 ms on the main thread). */
export const OFF_THREAD_BYTES = 32 * 1024;

const WORKER_SCRIPT = fileURLToPath(new URL('./config-worker.js', import.meta.url));

export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    const size = (await stat(path)).size;
    if (size > MAX_CONFIG_BYTES)
      throw new ConfigError(path, `the file is ${size} bytes, above the limit of ${MAX_CONFIG_BYTES} bytes (16 MiB)`, { size, limit: MAX_CONFIG_BYTES });
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(path, `cannot read: ${(err as Error).message}`);
    return { ...parseConfigText('', path), absent: true };
  }
  // From src/ (tests without a build) there is no compiled worker: parse here.
  if (Buffer.byteLength(text) > OFF_THREAD_BYTES && existsSync(WORKER_SCRIPT)) return parseOffThread(text, path);
  return parseConfigText(text, path);
}

/** parseConfigText in a worker thread; its errors come back as the same ConfigError. */
export function parseOffThread(text: string, path: string): Promise<LoadedConfig> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SCRIPT, { workerData: { text, path } });
    let settled = false;
    worker.once('message', (m: { ok: true; loaded: string } | { ok: false; error: { code?: string; message: string; details?: Record<string, unknown> } }) => {
      settled = true;
      if (m.ok) return resolve(JSON.parse(m.loaded) as LoadedConfig);
      // The worker's message already reads "config PATH: ..."; keep it whole, with the details.
      const prefix = `config ${path}: `;
      const reason = m.error.message.startsWith(prefix) ? m.error.message.slice(prefix.length) : m.error.message;
      const { path: _p, ...details } = m.error.details ?? {};
      reject(new ConfigError(path, reason, details));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(new ConfigError(path, `cannot parse: ${err.message}`));
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new ConfigError(path, `the config parser thread exited (${code}) without an answer`));
    });
  });
}

/** Parse the text of a config file; every problem is a ConfigError naming the file, the key and the value. */
export function parseConfigText(text: string, path: string): LoadedConfig {
  const { value, warnings } = parseYamlConfig(text, path);
  const raw = value ?? {};
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
  return {
    path,
    absent: false,
    config: r.data,
    services,
    servicesHash: hashServices(services),
    proxyProtocolPairs: proxyProtocolPairs(r.data, services),
    health: healthConfigs(r.data, services),
    warnings,
  };
}

/** Which real servers of which services the file asks a PROXY v2 header for (a real server's key wins). */
function proxyProtocolPairs(config: VsdConfig, services: readonly VirtualService[]): string[] {
  const pairs: string[] = [];
  config.virtual_servers.forEach((vs, i) => {
    const svc = serviceKey(services[i]!);
    vs.real_servers.forEach((rs, j) => {
      if (rs.proxy_protocol ?? vs.proxy_protocol) pairs.push(proxyProtocolPair(svc, realServerKey(services[i]!.realServers[j]!)));
    });
  });
  return pairs;
}

const HEALTH_KEYS = ['delay_loop', 'quorum', 'hysteresis', 'sorry_server', 'inhibit_on_failure', 'alpha', 'omega', 'quorum_up', 'quorum_down'] as const;

/** The health configuration of each virtual server, keyed by its service (services[i] is virtual_servers[i] here only). */
function healthConfigs(config: VsdConfig, services: readonly VirtualService[]): ServiceHealthConfig[] {
  const out: ServiceHealthConfig[] = [];
  config.virtual_servers.forEach((vs, i) => {
    const service = services[i]!;
    const checks: Record<string, CheckSpec[]> = {};
    const inhibitOnFailure: Record<string, boolean> = {};
    vs.real_servers.forEach((rs, j) => {
      const key = realServerKey(service.realServers[j]!);
      if (rs.checks.length > 0) checks[key] = rs.checks;
      if (rs.inhibit_on_failure !== undefined) inhibitOnFailure[key] = rs.inhibit_on_failure;
    });
    if (Object.keys(checks).length === 0 && vs.sorry_server === undefined) return;
    const options = Object.fromEntries(HEALTH_KEYS.filter((k) => vs[k] !== undefined).map((k) => [k, vs[k]]));
    out.push({ service: serviceKey(service), field: `virtual_servers.${i}`, checks, inhibitOnFailure, options, sorryForwarding: FORWARDING[vs.lb_kind] });
  });
  return out;
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
      persistence: {
        timeout,
        ...(vs.persistence_granularity !== undefined ? { netmask: granularity(vs.persistence_granularity, `${p}.persistence_granularity`) } : {}),
      },
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
