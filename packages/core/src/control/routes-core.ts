/**
 * The core endpoints of the control API (docs/control-api.md): desired state, transactions, dataplane status,
 * connections, real servers with their effective weights, and Prometheus metrics.
 */
import { ValidationError } from '../errors.js';
import type { Dataplane } from '../dataplane/types.js';
import { realServerKey, serviceKey } from '../model/keys.js';
import { parseOpsInTurns } from '../state/ops.js';
import type { StateStore } from '../state/store.js';
import { effectiveWeight, type WeightOverlay } from '../weights/overlay.js';
import { renderMetrics } from './metrics.js';
import { RawResponse, route, type ControlRoute } from './routes.js';
import type { StatusReply } from '@vsd/protocol/control';
import type { ServiceRealServers } from './real-servers.js';

export type { RealServerView, ServiceRealServers } from './real-servers.js';

export interface CoreRouteDeps {
  store: StateStore;
  overlay: WeightOverlay;
  dataplane: Dataplane;
  /** Resolves when the dataplane reflects every committed transaction (the reconciler's `settled`). */
  settled?: () => Promise<void>;
  /** Body limit of POST /v1/transactions; default MAX_TRANSACTION_BYTES. */
  maxTransactionBytes?: number;
  /** Sections optional components add to GET /v1/status (`bgp`); an undefined value is left out. */
  statusSections?: () => Promise<Record<string, unknown>>;
}

/** Body limit of POST /v1/transactions. */
export const MAX_TRANSACTION_BYTES = 64 * 1024 * 1024;

export function coreRoutes(deps: CoreRouteDeps): ControlRoute[] {
  const { store, dataplane } = deps;
  return [
    route('state', () => store.state),
    route(
      'transactions',
      async ({ body }) => {
        const change = await store.apply(await parseTransaction(body), 'api');
        // Answer once the dataplane is programmed, so a client's next read (vsadm -L) sees its own change.
        await deps.settled?.();
        return { generation: change.generation };
      },
      // A restore is one transaction (atomic): 100k ipvsadm lines are about 25 MB of operations.
      { maxBodyBytes: deps.maxTransactionBytes ?? MAX_TRANSACTION_BYTES },
    ),
    route('status', async () => ({
      dataplane: dataplane.name,
      info: await dataplane.info(),
      generation: store.generation,
      services: await dataplane.status(),
      // The components' sections (`bgp`) are theirs to type; the contract declares them on StatusReply.
      ...((await deps.statusSections?.()) as Partial<StatusReply> | undefined),
    })),
    route('connections', async () => ({ connections: await dataplane.connections() })),
    route('realservers', () => realServers(deps)),
    route(
      'metrics',
      async () =>
        new RawResponse(
          renderMetrics({ generation: store.generation, realServers: realServers(deps), status: await dataplane.status() }),
          'text/plain; version=0.0.4; charset=utf-8',
        ),
    ),
  ];
}

/** `{ "ops": [...] }`, nothing else: a typo in the envelope must not silently drop the transaction. */
async function parseTransaction(body: unknown) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('body', body, 'expected an object { "ops": [...] }');
  for (const k of Object.keys(body)) if (k !== 'ops') throw new ValidationError(`body.${k}`, (body as Record<string, unknown>)[k], 'unknown field');
  return parseOpsInTurns((body as { ops?: unknown }).ops);
}

export function realServers(deps: Pick<CoreRouteDeps, 'store' | 'overlay'>): { generation: number; services: ServiceRealServers[] } {
  const { store, overlay } = deps;
  const services = store.state.services.map((svc) => {
    const key = serviceKey(svc);
    const sorry = overlay.sorryServer(key);
    return {
      key,
      scheduler: svc.scheduler,
      sorryServer: sorry ? realServerKey(sorry) : null,
      realServers: svc.realServers.map((rs) => {
        const rsKey = realServerKey(rs);
        const v = overlay.view(key, rsKey);
        return {
          key: rsKey,
          address: rs.address,
          port: rs.port,
          forwarding: rs.forwarding,
          weight: rs.weight,
          effectiveWeight: v.removed || sorry ? 0 : effectiveWeight(rs.weight, v.factor),
          removed: v.removed,
          sources: v.sources,
        };
      }),
    };
  });
  return { generation: store.generation, services };
}
