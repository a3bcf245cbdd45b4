import { ConfigError, VsdError, type ControlRoute } from '@vsd/core';
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
