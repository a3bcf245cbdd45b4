/**
 * Health checks inside vsd: each virtual server's `checks:` and health keys (delay_loop, quorum, hysteresis,
 * sorry_server, inhibit_on_failure, alpha, omega) drive a @vsd/core health monitor, which adjusts the weight
 * overlay (source "health") and the sorry server; the reconciler does the rest.
 *
 * The real servers and weights are taken from the desired state as it runs (vsadm may have changed them since
 * the config was read); the checks from the config. A real server without checks is always alive.
 * Route: GET /v1/health.
 */
import { buildHealthService, createHealthMonitor, healthRoutes, serviceKey, type ControlRoute, type HealthMonitor, type HealthServiceSpec } from '@vsd/core';
import type { ComponentFactory, DaemonComponent, DaemonContext } from './component.js';

/** Always present, so a reload can add the first checks; with none configured it checks nothing. */
export const healthComponent: ComponentFactory = () => new HealthComponent();

class HealthComponent implements DaemonComponent {
  readonly name = 'health';
  private monitor: HealthMonitor | null = null;
  private unsubscribe: (() => void) | null = null;

  async start(ctx: DaemonContext): Promise<void> {
    const monitor = createHealthMonitor({ overlay: ctx.overlay, logger: ctx.logger, engine: ctx.config.health_engine });
    this.monitor = monitor;
    monitor.configure(healthSpecs(ctx));
    // Real servers added, removed or re-weighted at run time (vsadm, peer sync) are followed at once.
    this.unsubscribe = ctx.store.subscribe(() => monitor.configure(healthSpecs(ctx)));
    monitor.start();
  }

  async reload(ctx: DaemonContext): Promise<void> {
    this.monitor?.configure(healthSpecs(ctx));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.monitor?.stop();
  }

  routes(): readonly ControlRoute[] {
    return healthRoutes({ status: () => this.monitor?.status() ?? { services: [] } });
  }
}

/** The monitor's input: every configured health configuration whose service is in the running table. */
export function healthSpecs(ctx: Pick<DaemonContext, 'loaded' | 'store'>): HealthServiceSpec[] {
  const running = new Map(ctx.store.state.services.map((s) => [serviceKey(s), s]));
  const specs: HealthServiceSpec[] = [];
  for (const h of ctx.loaded.health) {
    // A service deleted at run time (vsadm -D) or not applied (the state file won) is not checked.
    const service = running.get(h.service);
    if (!service) continue;
    specs.push(
      buildHealthService({
        service,
        options: h.options,
        checks: h.checks,
        inhibitOnFailure: h.inhibitOnFailure,
        sorryForwarding: h.sorryForwarding,
        prefix: h.field,
      }),
    );
  }
  return specs;
}
