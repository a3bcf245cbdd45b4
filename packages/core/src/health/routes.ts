/** GET /v1/health: the monitor's status() for the control API. */
import type { ControlRoute } from '../control/routes.js';
import type { HealthMonitor } from './monitor.js';

export function healthRoutes(monitor: Pick<HealthMonitor, 'status'>): ControlRoute[] {
  return [{ method: 'GET', path: '/v1/health', handler: () => monitor.status() }];
}
