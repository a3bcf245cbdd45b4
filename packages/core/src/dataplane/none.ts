import { CONN_TAB_SIZE, IPVS_VERSION } from '../model/constants.js';
import { zeroCounters, type Dataplane, type DataplaneService, type ServiceStatus } from './types.js';

/**
 * Keeps and reports the table but forwards nothing: a dry run, a config-only node, and the control-plane tests.
 * It accepts every forwarding method.
 */
export function createNoneDataplane(): Dataplane {
  let table: readonly DataplaneService[] = [];
  return {
    name: 'none',
    supports: () => true,
    start: async () => undefined,
    reconcile: async (t) => {
      table = t;
    },
    status: async (): Promise<ServiceStatus[]> =>
      table.map((s) => ({
        key: s.key,
        counters: zeroCounters(),
        dests: s.dests.map((d) => ({ key: d.key, activeConns: 0, inactiveConns: 0, persistConns: 0, counters: zeroCounters() })),
      })),
    connections: async () => [],
    zero: async () => undefined,
    info: async () => ({ version: IPVS_VERSION, connTableSize: CONN_TAB_SIZE }),
    close: async () => undefined,
  };
}
