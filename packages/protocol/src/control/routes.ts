/**
 * The control API contract (docs/control-api.md): every route the dispatcher serves, one table. A route is named;
 * its method and path are fixed here, its body schema is what the server validates before the handler runs (absent:
 * the route takes no body, or validates a body whose errors predate this table itself), and `ControlReplies` names
 * its reply. @vsd/core's control server registers routes only from this table, and its typed client calls them by
 * name, so neither side can add or change a route without changing the contract.
 */
import { z } from 'zod';
import type { AgentsStatus } from './agents.js';
import type { BgpStatus } from './bgp.js';
import type { ConnectionEntry, DataplaneInfo, ServiceRealServers, ServiceStatus } from './dataplane.js';
import type { DivergenceEntryDoc, HaDoc, HaOperationReply, PeerSyncStatus } from './ha.js';
import type { HealthStatus } from './health.js';
import type { DesiredStateDoc } from './model.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteContract {
  method: HttpMethod;
  path: string;
  /** Body schema the server parses the request body with (`{}` when the request had none). */
  body?: z.ZodTypeAny;
  /** The reply is text (Prometheus exposition), not JSON. */
  text?: true;
}

/** POST /v1/transactions: the envelope; each operation is validated by @vsd/core's state/ops.ts (in turns). */
export const transactionBody = z.object({ ops: z.array(z.unknown()) }).strict();
/** POST /v1/ha/failover|takeover|release: the VRRP instance, optional when the dispatcher runs one. */
export const haOperationBody = z.object({ instance: z.string().optional() });
/** POST /v1/sync/divergence/replay|drop: the entries (empty or absent: every entry). */
export const divergenceIdsBody = z.object({ ids: z.array(z.string().min(1).max(64)).max(1000).default([]) }).strict();

export const controlRoutes = {
  state: { method: 'GET', path: '/v1/state' },
  transactions: { method: 'POST', path: '/v1/transactions' },
  status: { method: 'GET', path: '/v1/status' },
  connections: { method: 'GET', path: '/v1/connections' },
  realservers: { method: 'GET', path: '/v1/realservers' },
  metrics: { method: 'GET', path: '/metrics', text: true },
  reload: { method: 'POST', path: '/v1/reload' },
  health: { method: 'GET', path: '/v1/health' },
  agents: { method: 'GET', path: '/v1/agents' },
  ha: { method: 'GET', path: '/v1/ha' },
  'ha.failover': { method: 'POST', path: '/v1/ha/failover' },
  'ha.takeover': { method: 'POST', path: '/v1/ha/takeover' },
  'ha.release': { method: 'POST', path: '/v1/ha/release' },
  sync: { method: 'GET', path: '/v1/sync' },
  'sync.divergence': { method: 'GET', path: '/v1/sync/divergence' },
  'sync.divergence.replay': { method: 'POST', path: '/v1/sync/divergence/replay', body: divergenceIdsBody },
  'sync.divergence.drop': { method: 'POST', path: '/v1/sync/divergence/drop', body: divergenceIdsBody },
  bgp: { method: 'GET', path: '/v1/bgp' },
  'bgp.drain': { method: 'POST', path: '/v1/bgp/drain' },
  'bgp.undrain': { method: 'POST', path: '/v1/bgp/undrain' },
} as const satisfies Record<string, RouteContract>;

export type RouteName = keyof typeof controlRoutes;

/** GET /v1/status; optional components add sections (`bgp`). */
export interface StatusReply {
  dataplane: string;
  info: DataplaneInfo;
  generation: number;
  services: ServiceStatus[];
  bgp?: BgpStatus;
}

export type ReloadOutcome = 'applied' | 'unchanged' | 'kept-state' | 'no-config';

/** The reply of every route, by name. */
export interface ControlReplies {
  state: DesiredStateDoc;
  transactions: { generation: number };
  status: StatusReply;
  connections: { connections: ConnectionEntry[] };
  realservers: { generation: number; services: ServiceRealServers[] };
  metrics: string;
  reload: { outcome: ReloadOutcome };
  health: HealthStatus;
  agents: AgentsStatus;
  ha: HaDoc;
  'ha.failover': HaOperationReply;
  'ha.takeover': HaOperationReply;
  'ha.release': HaOperationReply;
  sync: PeerSyncStatus;
  'sync.divergence': { entries: DivergenceEntryDoc[] };
  'sync.divergence.replay': { results: Array<{ id: string; ok: boolean; generation?: number; error?: string }> };
  'sync.divergence.drop': { dropped: number };
  bgp: BgpStatus;
  'bgp.drain': BgpStatus;
  'bgp.undrain': BgpStatus;
}

/** The body a client sends: the schema's input; routes without a schema take the documented shapes below. */
export interface ControlBodies {
  transactions: { ops: unknown[] };
  'ha.failover': z.input<typeof haOperationBody>;
  'ha.takeover': z.input<typeof haOperationBody>;
  'ha.release': z.input<typeof haOperationBody>;
  'sync.divergence.replay': z.input<typeof divergenceIdsBody>;
  'sync.divergence.drop': z.input<typeof divergenceIdsBody>;
}

export type Reply<N extends RouteName> = ControlReplies[N];
/** What `call(name, body)` takes: the route's body, or nothing. */
export type BodyOf<N extends RouteName> = N extends keyof ControlBodies ? ControlBodies[N] : undefined;

/** The route of a method and path (query string ignored), or undefined: how a server checks its routes. */
export function routeOf(method: string, path: string): RouteName | undefined {
  const p = path.split('?')[0];
  for (const [name, r] of Object.entries(controlRoutes) as Array<[RouteName, RouteContract]>) if (r.method === method && r.path === p) return name;
  return undefined;
}

export const routeNames = Object.keys(controlRoutes) as RouteName[];
