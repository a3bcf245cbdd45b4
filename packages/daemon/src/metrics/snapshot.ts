/**
 * One consistent read of everything the metrics listener shows: the desired state and the table the dataplane was
 * given (weights as programmed), the dataplane's counters, and the optional components' status as their control API
 * routes answer it (GET /v1/ha, /v1/health, /v1/agents), read in-process. A source that is not configured is null;
 * a source that failed is null too and named in `failed`, so a broken component shows as such instead of as zeros.
 */
import { readFile } from 'node:fs/promises';
import {
  buildTable,
  realServers,
  VsdError,
  type AgentsStatus,
  type DataplaneInfo,
  type DataplaneService,
  type Dataplane,
  type HealthStatus,
  type ProxyCounters,
  type ServiceRealServers,
  type ServiceStatus,
  type StateStore,
  type WeightOverlay,
} from '@vsd/core';
import type { PeerSyncStatus, VrrpStatus, WitnessStatus } from '@vsd/ha';
import type { BgpStatus } from '../component-bgp.js';

/** The kernel's global IPVS totals (/proc/net/ip_vs_stats), the source node_exporter reads. */
export interface IpvsTotals {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

export interface ProxyStats {
  counters: ProxyCounters;
  liveConnections: number;
  threads: Array<{ accepted: number; connections: number }>;
}

export interface Snapshot {
  /** ms since the epoch */
  at: number;
  node: string;
  dataplane: string;
  info: DataplaneInfo | null;
  generation: number;
  /** What the dataplane was given: effective weights, removals and sorry servers applied. */
  table: DataplaneService[];
  status: ServiceStatus[];
  realServers: ServiceRealServers[];
  /** From /proc/net/ip_vs_stats on the ipvs dataplane; null elsewhere (the totals are then summed from `status`). */
  ipvsTotals: IpvsTotals | null;
  proxy: ProxyStats | null;
  vrrp: VrrpStatus[];
  /** The split-brain guard; null when it is off or HA is not configured. */
  witness: WitnessStatus | null;
  sync: PeerSyncStatus | null;
  health: HealthStatus | null;
  agents: AgentsStatus | null;
  /** The BGP announcer (GET /v1/bgp); null without a `bgp:` section. Optional: snapshots built before it have none. */
  bgp?: BgpStatus | null;
  /** Sources that are configured: the keys of `failed` plus the ones read fine. */
  sources: Record<SourceName, 'ok' | 'absent' | 'failed'>;
  failed: Partial<Record<SourceName, string>>;
}

export type SourceName = 'dataplane' | 'ha' | 'health' | 'agents' | 'bgp';

export interface SnapshotDeps {
  store: StateStore;
  overlay: WeightOverlay;
  dataplane: Dataplane;
  /** GET a control API route in-process (DaemonContext.readRoute). */
  readRoute(path: string): Promise<unknown>;
  node: string;
  now?: () => number;
  /** Where the kernel's IPVS totals are read on the ipvs dataplane (tests point it elsewhere). */
  ipvsStatsPath?: string;
}

interface ProxyLike {
  proxyCounters(): ProxyCounters;
  connectionCount(): number;
  engineThreads(): Array<{ accepted: number; connections: number }>;
}

export async function collectSnapshot(deps: SnapshotDeps): Promise<Snapshot> {
  const sources: Snapshot['sources'] = { dataplane: 'ok', ha: 'absent', health: 'absent', agents: 'absent', bgp: 'absent' };
  const failed: Snapshot['failed'] = {};
  const read = async <T>(name: SourceName, path: string): Promise<T | null> => {
    try {
      const v = (await deps.readRoute(path)) as T;
      sources[name] = 'ok';
      return v;
    } catch (err) {
      // Routes of components that are not configured are absent; anything else is a failure worth showing.
      if (err instanceof VsdError && (err.code === 'VSD_ERR_NO_ROUTE' || err.code === 'VSD_ERR_HA_NOT_CONFIGURED' || err.code === 'VSD_ERR_BGP_NOT_CONFIGURED'))
        return null;
      sources[name] = 'failed';
      failed[name] = (err as Error).message;
      return null;
    }
  };

  // Desired state, table and views are taken in the same tick, so they agree with each other.
  const state = deps.store.state;
  const generation = deps.store.generation;
  const table = buildTable(state, deps.overlay);
  const views = realServers(deps).services;

  const [status, info, ha, health, agents, ipvsTotals, bgp] = await Promise.all([
    deps.dataplane.status().catch((err: Error) => {
      sources.dataplane = 'failed';
      failed.dataplane = err.message;
      return [] as ServiceStatus[];
    }),
    deps.dataplane.info().catch(() => null),
    read<{ vrrp: VrrpStatus | VrrpStatus[] | null; instances?: VrrpStatus[]; sync: PeerSyncStatus | null; witness?: WitnessStatus | { enabled: false } }>(
      'ha',
      '/v1/ha',
    ),
    read<HealthStatus>('health', '/v1/health'),
    read<AgentsStatus>('agents', '/v1/agents'),
    deps.dataplane.name === 'ipvs' ? readIpvsTotals(deps.ipvsStatsPath ?? '/proc/net/ip_vs_stats') : Promise.resolve(null),
    read<BgpStatus>('bgp', '/v1/bgp'),
  ]);

  // `instances` lists every VRRP instance (`vrrp` is the primary one only).
  const vrrp = ha?.instances ?? (ha?.vrrp ? (Array.isArray(ha.vrrp) ? ha.vrrp : [ha.vrrp]) : []);
  if (sources.ha === 'ok' && vrrp.length === 0 && !ha?.sync) sources.ha = 'absent';
  return {
    at: (deps.now ?? Date.now)(),
    // The peer-sync id names this dispatcher the way its peer knows it (hostnames can be equal, e.g. in namespaces).
    node: ha?.sync?.id ?? deps.node,
    dataplane: deps.dataplane.name,
    info,
    generation,
    table,
    status,
    realServers: views,
    ipvsTotals,
    proxy: proxyStats(deps.dataplane),
    vrrp,
    witness: ha?.witness?.enabled ? ha.witness : null,
    sync: ha?.sync ?? null,
    // An always-present health component with nothing to check is "no health checks", not an empty success.
    health: health && health.services.length > 0 ? health : null,
    agents,
    bgp,
    sources: { ...sources, health: health && health.services.length === 0 ? 'absent' : sources.health },
    failed,
  };
}

function proxyStats(dataplane: Dataplane): ProxyStats | null {
  const p = dataplane as Partial<ProxyLike>;
  if (dataplane.name !== 'proxy' || typeof p.proxyCounters !== 'function') return null;
  const d = dataplane as unknown as ProxyLike;
  return { counters: d.proxyCounters(), liveConnections: d.connectionCount(), threads: d.engineThreads() };
}

/**
 * /proc/net/ip_vs_stats: two heading lines, then "Conns InPkts OutPkts InBytes OutBytes" as hexadecimal totals
 * (the rates follow on later lines). Null when the file is absent or not in that shape.
 */
export async function readIpvsTotals(path: string): Promise<IpvsTotals | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  return text === null ? null : parseIpvsTotals(text);
}

export function parseIpvsTotals(text: string): IpvsTotals | null {
  const fields = text.split('\n')[2]?.trim().split(/\s+/) ?? [];
  if (fields.length !== 5 || !fields.every((f) => /^[0-9A-Fa-f]+$/.test(f))) return null;
  const [conns, inPkts, outPkts, inBytes, outBytes] = fields.map((f) => Number.parseInt(f, 16)) as [number, number, number, number, number];
  return { conns, inPkts, outPkts, inBytes, outBytes };
}
