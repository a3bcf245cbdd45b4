/** GET /v1/health: the monitor's status() for the control API. */
import { route, type ControlRoute } from '../control/routes.js';
import type { HealthMonitor } from './monitor.js';

export function healthRoutes(monitor: Pick<HealthMonitor, 'status'>): ControlRoute[] {
  return [route('health', () => monitor.status())];
}
