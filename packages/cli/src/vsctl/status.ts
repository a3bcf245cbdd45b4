/**
 * `vsctl status [--json]`: the dispatcher as an operator sees it: dataplane, generation, each virtual service
 * with its real servers (configured and effective weight, why they differ, connections), and the sections
 * optional components serve (HA, health, agents, peer sync) when they run.
 */
import {
  ControlRequestError,
  HaNotConfiguredError,
  type AgentsStatus,
  type ControlClient,
  type DataplaneInfo,
  type RealServerView,
  type ServiceRealServers,
  type ServiceStatus,
} from '@vsd/core';
import type { PeerSyncStatus, RouteName } from '@vsd/protocol';
import { renderAgents } from './agents.js';
import { renderBgp, type BgpDoc } from './bgp.js';
import type { VsctlCommand } from './command.js';
import { instanceArg, renderHa, renderSync, type HaDoc } from './ha.js';

/** Optional sections: fetched when the daemon serves them (404 = component not running). */
export interface StatusSection {
  name: string;
  /** Its GET route in the contract (@vsd/protocol). */
  route: RouteName & ('ha' | 'sync' | 'agents' | 'bgp');
  /** Text lines for the human form; default: the document's top-level fields. */
  render?(doc: unknown): string[];
}

export const statusSections: StatusSection[] = [
  { name: 'ha', route: 'ha', render: (d) => renderHa(d as HaDoc) },
  { name: 'sync', route: 'sync', render: (d) => renderSync(d as PeerSyncStatus) },
  {
    name: 'agents',
    route: 'agents',
    render: (d) =>
      renderAgents(d as AgentsStatus)
        .trimEnd()
        .split('\n'),
  },
  { name: 'bgp', route: 'bgp', render: (d) => renderBgp(d as BgpDoc) },
];

export interface StatusReport {
  vsd: string;
  dataplane: string;
  generation: number;
  /** Proxy dataplane: its UDP flow table and what a full table cost since start. */
  udpFlows?: DataplaneInfo['udpFlows'];
  services: Array<
    Omit<ServiceRealServers, 'realServers'> & {
      counters: ServiceStatus['counters'] | null;
      realServers: Array<RealServerView & { activeConns: number; inactiveConns: number; inDataplane: boolean }>;
    }
  >;
  [section: string]: unknown;
}

/** "; threads accepted 600/580, live 3/4": how the connections spread over the engine threads. */
function threadShares(t: Array<{ accepted: number; connections: number }> | undefined): string {
  if (!t || t.length < 2) return '';
  return `; threads accepted ${t.map((x) => x.accepted).join('/')}, live ${t.map((x) => x.connections).join('/')}`;
}

/** `instance`: the HA section shows that VRRP instance only (the daemon refuses an unknown name). */
export async function collectStatus(client: ControlClient, instance?: string): Promise<StatusReport> {
  const [status, rs] = await Promise.all([client.call('status'), client.call('realservers')]);
  const byKey = new Map(status.services.map((s) => [s.key, s]));
  const report: StatusReport = {
    vsd: client.where,
    dataplane: status.info.engine ? `${status.dataplane} (engine: ${status.info.engine}${threadShares(status.info.engineThreads)})` : status.dataplane,
    generation: status.generation,
    ...(status.info.udpFlows ? { udpFlows: status.info.udpFlows } : {}),
    services: rs.services.map((svc) => {
      const st = byKey.get(svc.key);
      const dests = new Map((st?.dests ?? []).map((d) => [d.key, d]));
      return {
        ...svc,
        counters: st?.counters ?? null,
        realServers: svc.realServers.map((r) => ({
          ...r,
          activeConns: dests.get(r.key)?.activeConns ?? 0,
          inactiveConns: dests.get(r.key)?.inactiveConns ?? 0,
          inDataplane: dests.has(r.key),
        })),
      };
    }),
  };
  for (const section of statusSections) {
    try {
      report[section.name] = await client.call(section.route, undefined, instance && section.name === 'ha' ? { query: { instance } } : {});
    } catch (err) {
      // 404 = the component does not run; a 404 with a code (an unknown instance) is an answer to report.
      if (!(err instanceof ControlRequestError && err.status === 404 && !(instance && section.name === 'ha' && err.code === 'VSD_ERR_HA_UNKNOWN_INSTANCE')))
        throw err;
    }
  }
  return report;
}

export function formatStatus(r: StatusReport): string {
  const lines = [`vsd at ${r.vsd}: dataplane ${r.dataplane}, generation ${r.generation}, ${r.services.length} virtual service(s)`];
  const u = r.udpFlows;
  // Shown where it can matter: with UDP services, or once a full table has cost something.
  if (u && (r.services.some((s) => s.key.startsWith('udp ')) || u.evicted + u.refused > 0))
    lines.push(`UDP flows: ${u.live} of ${u.max} (${u.perService} per service); table full: ${u.evicted} evicted, ${u.refused} refused`);
  for (const section of statusSections) {
    if (r[section.name] === undefined) continue;
    lines.push(`${section.name}:`, ...(section.render ?? genericSection)(r[section.name]).map((l) => `  ${l}`));
  }
  for (const svc of r.services) {
    lines.push('', `${svc.key} ${svc.scheduler}${svc.sorryServer ? `  (quorum lost: sorry server ${svc.sorryServer})` : ''}`);
    if (svc.realServers.length === 0) lines.push('  (no real servers)');
    const width = Math.max(0, ...svc.realServers.map((x) => x.key.length));
    for (const x of svc.realServers) {
      const why = Object.entries(x.sources)
        .map(([src, a]) => `${src} ${Math.round(a.factor * 100)}%${a.remove ? ' removed' : ''}${a.reason ? ` (${withoutSource(a.reason, src)})` : ''}`)
        .join(', ');
      lines.push(
        `  -> ${x.key.padEnd(width)}  ${x.forwarding.padEnd(6)} weight ${String(x.weight).padStart(5)}  effective ${String(x.effectiveWeight).padStart(5)}` +
          `  active ${x.activeConns} inactive ${x.inactiveConns}${why ? `  [${why}]` : ''}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A reason "agent: weight 25% ..." under the source "agent" reads "agent 25% (weight 25% ...)": the source is named once. */
function withoutSource(reason: string, source: string): string {
  return reason.startsWith(`${source}: `) ? reason.slice(source.length + 2) : reason;
}

function genericSection(doc: unknown): string[] {
  if (doc === null || typeof doc !== 'object') return [String(doc)];
  return Object.entries(doc).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
}

export const statusCommand: VsctlCommand = {
  summary: 'dataplane, generation, virtual services and real servers (configured/effective weight), HA when configured',
  usage: '[INSTANCE] [--json]',
  async run({ client, json, out, args }) {
    const instance = instanceArg('status', args);
    const report = await collectStatus(client, instance);
    if (instance && report.ha === undefined) throw new HaNotConfiguredError(`VRRP (asked for instance ${instance})`);
    out.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    return 0;
  },
};
