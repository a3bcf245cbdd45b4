import { ConfigError, HaNotConfiguredError, VsdError, type ControlRoute } from '@vsd/core';
import type { ReloadResult } from './daemon.js';

/** POST /v1/reload: what SIGHUP does, with the outcome (or the refusal) as the answer. */
export function reloadRoute(reload: () => Promise<ReloadResult>): ControlRoute {
  return {
    method: 'POST',
    path: '/v1/reload',
    handler: async () => {
      const r = await reload();
      if (r.ok) return { outcome: r.outcome };
      throw r.error instanceof VsdError ? r.error : new ConfigError('reload', r.error.message);
    },
  };
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
    { method: 'GET', path: '/v1/ha', handler: absent('HA (VRRP, peer sync)') },
    { method: 'POST', path: '/v1/ha/failover', handler: absent('VRRP') },
    { method: 'POST', path: '/v1/ha/takeover', handler: absent('VRRP') },
    { method: 'POST', path: '/v1/ha/release', handler: absent('VRRP') },
    { method: 'GET', path: '/v1/sync', handler: absent('peer sync') },
  ];
}
