/**
 * `vsd --check`: would vsd start with this file, on this dataplane, and serve every virtual service it lists?
 * Stricter than start in one way: a service the proxy dataplane would ignore (with a warning) fails the check,
 * since the operator asked for a service that would not be served. Used by the unit's ExecStartPre.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  ConfigError,
  createXdpDataplane,
  DEFAULT_XDP_OBJECT,
  interfaceIndex,
  proxyIgnoreReason,
  readKeyFile,
  serviceKey,
  type DataplaneName,
  type DesiredState,
  type VirtualService,
} from '@vsd/core';
import { loadConfig, type LoadedConfig } from './config-load.js';

export interface CheckResult {
  ok: boolean;
  dataplane: DataplaneName;
  /** Why vsd would refuse to start, or would not serve something the file asks for. */
  errors: string[];
  /** Worth knowing, not fatal. */
  warnings: string[];
  services: number;
}

const METHOD: Record<string, string> = { route: 'DR (direct routing)', tunnel: 'TUN (IP tunnelling)', masq: 'NAT' };

/** What the dataplane refuses (start fails) or ignores (the service is not served). */
export function dataplaneProblems(dataplane: DataplaneName, services: readonly VirtualService[]): string[] {
  if (dataplane === 'xdp') return xdpServiceProblems(services);
  if (dataplane !== 'proxy') return [];
  const problems: string[] = [];
  services.forEach((s, i) => {
    const where = `virtual_servers.${i} (${serviceKey(s)})`;
    const ignored = proxyIgnoreReason(s);
    if (ignored) problems.push(`${where}: the proxy dataplane would not serve it: ${ignored}`);
    s.realServers.forEach((rs, j) => {
      if (rs.forwarding !== 'masq')
        problems.push(
          `${where}.real_servers.${j} (${rs.address}): lb_kind ${METHOD[rs.forwarding]} needs the ipvs dataplane; the proxy dataplane refuses it at start (set dataplane: ipvs, or lb_kind: NAT)`,
        );
    });
  });
  return problems;
}

/** What the xdp dataplane's validator refuses, one service at a time so that every refused service is named. */
function xdpServiceProblems(services: readonly VirtualService[]): string[] {
  const dp = createXdpDataplane({ iface: 'check' });
  const problems: string[] = [];
  services.forEach((s, i) => {
    const one: DesiredState = { version: 1, generation: 0, services: [s], timeouts: { tcp: 900, tcpfin: 120, udp: 300 }, syncDaemons: [] };
    const nat = s.realServers.find((rs) => !dp.supports(rs.forwarding));
    if (nat) {
      problems.push(
        `virtual_servers.${i} (${serviceKey(s)}): the xdp dataplane cannot do NAT (lb_kind NAT) to ${nat.address}; NAT stays on the proxy and ipvs dataplanes`,
      );
      return;
    }
    try {
      dp.validate!(one);
    } catch (err) {
      problems.push(`virtual_servers.${i} (${serviceKey(s)}): ${(err as Error).message}`);
    }
  });
  return problems;
}

/** The xdp section and what start needs here: the interface, the BPF object the build makes with clang. */
function xdpSetupProblems(loaded: LoadedConfig): { errors: string[]; warnings: string[] } {
  const x = loaded.config.xdp;
  if (!x) return { errors: ['dataplane xdp needs an xdp: section naming the interface (xdp: { interface: eth0 })'], warnings: [] };
  const found: string[] = [];
  if (!existsSync(DEFAULT_XDP_OBJECT))
    found.push(`xdp: the BPF object ${DEFAULT_XDP_OBJECT} is missing (built without clang: apt-get install clang llvm libbpf-dev, then pnpm build)`);
  try {
    if (interfaceIndex(x.interface) === 0) found.push(`xdp.interface: no interface ${x.interface} here`);
  } catch {
    /* libc unavailable: start will say */
  }
  // With a fallback the daemon still starts: the same findings are then only warnings.
  return x.fallback === 'off'
    ? { errors: found, warnings: [] }
    : { errors: [], warnings: found.map((f) => `${f}; vsd would start the ${x.fallback} dataplane instead (xdp.fallback)`) };
}

/** `proxy_protocol` asks for a header only a full proxy can write: IPVS forwards the client's own packets. */
export function proxyProtocolProblems(dataplane: DataplaneName, loaded: LoadedConfig): string[] {
  if (dataplane === 'proxy' || loaded.proxyProtocolPairs.length === 0) return [];
  return [
    `proxy_protocol is set for ${loaded.proxyProtocolPairs.length} real server(s) but the ${dataplane} dataplane cannot send a PROXY header (it needs the proxy dataplane; on ipvs the real servers see the client's address anyway with DR, TUN or NAT)`,
  ];
}

/** Start and reload refuse what proxyProtocolProblems finds, so --check and the daemon agree. */
export function assertProxyProtocolServable(dataplane: DataplaneName, loaded: LoadedConfig): void {
  const [problem] = proxyProtocolProblems(dataplane, loaded);
  if (problem) throw new ConfigError(loaded.path, problem);
}

/** Key and token files the daemon reads at start: a missing or short one stops it then, so say so now. */
function secretProblems(loaded: LoadedConfig): string[] {
  const c = loaded.config;
  const keys: Array<[string, string]> = [];
  if (c.peer) keys.push(['peer.key_file', c.peer.keyFile]);
  if (c.agents) {
    keys.push(['agents.key_file', c.agents.keyFile]);
    for (const [name, entry] of Object.entries(c.agents.agentKeys)) keys.push([`agents.agent_keys.${name}`, entry.keyFile]);
  }
  const problems: string[] = [];
  for (const [field, file] of keys) {
    try {
      readKeyFile(file);
    } catch (err) {
      problems.push(`${field}: ${(err as Error).message} (make one with \`vsd keygen ${file}\`)`);
    }
  }
  const token = c.control?.token_file;
  if (token) {
    try {
      if (readFileSync(token, 'utf8').trim() === '') problems.push(`control.token_file: ${token} is empty`);
    } catch (err) {
      problems.push(`control.token_file: cannot read ${token}: ${(err as Error).message}`);
    }
  }
  return problems;
}

export async function checkConfigFile(path: string, dataplaneOption?: DataplaneName): Promise<CheckResult> {
  const loaded = await loadConfig(path);
  const dataplane = dataplaneOption ?? loaded.config.dataplane ?? 'proxy';
  if (loaded.absent) return { ok: false, dataplane, errors: [`${path}: no such file`], warnings: [], services: 0 };
  const errors = [...dataplaneProblems(dataplane, loaded.services), ...proxyProtocolProblems(dataplane, loaded), ...secretProblems(loaded)];
  // What the YAML parser let pass but noted (an unresolved tag, ...): vsd logs the same at start and on reload.
  const warnings: string[] = loaded.warnings.map(
    (w) => `${path}${w.line !== null ? `:${w.line}${w.column !== null ? `:${w.column}` : ''}` : ''}: YAML ${w.code}: ${w.message}`,
  );
  if (dataplane === 'xdp') {
    const x = xdpSetupProblems(loaded);
    errors.push(...x.errors);
    warnings.push(...x.warnings);
  }
  if (dataplane === 'ipvs' && existsSync('/proc/net') && !existsSync('/proc/net/ip_vs'))
    warnings.push(
      'the ip_vs kernel module is not loaded here; vsd runs `modprobe ip_vs` at start, which needs CAP_SYS_MODULE (the packaged unit does not have it: load it at boot with /etc/modules-load.d)',
    );
  return { ok: errors.length === 0, dataplane, errors, warnings, services: loaded.services.length };
}
