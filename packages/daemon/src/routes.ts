import { ConfigError, HaNotConfiguredError, route, VsdError, type ControlRoute } from '@vsd/core';
import type { ReloadResult } from './daemon.js';

/** POST /v1/reload: what SIGHUP does, with the outcome (or the refusal) as the answer. */
export function reloadRoute(reload: () => Promise<ReloadResult>): ControlRoute {
  return route('reload', async () => {
    const r = await reload();
    if (r.ok) return { outcome: r.outcome };
    throw r.error instanceof VsdError ? r.error : new ConfigError('reload', r.error.message);
  });
}

/**
 * The HA endpoints when no `ha:`/`peer:` section runs them: the documented VSD_ERR_HA_NOT_CONFIGURED (404) that
 * says which section to add, rather than the router's "no such endpoint", which reads like a wrong vsctl or URL.
 */
export function haAbsentRoutes(): ControlRoute[] {
  const absent = (what: string) => () => {
    throw new HaNotConfiguredError(what);
  };
  return [
    route('ha', absent('HA (VRRP, peer sync)')),
    route('ha.failover', absent('VRRP')),
    route('ha.takeover', absent('VRRP')),
    route('ha.release', absent('VRRP')),
    route('sync', absent('peer sync')),
  ];
}
