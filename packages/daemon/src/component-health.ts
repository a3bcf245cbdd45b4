/**
 * Health checks inside vsd: each virtual server's `checks:` and health keys (delay_loop, quorum, hysteresis,
 * sorry_server, inhibit_on_failure, alpha, omega) drive a @vsd/core health monitor, which adjusts the weight
 * overlay (source "health") and the sorry server; the reconciler does the rest.
 *
 * The real servers and weights are taken from the desired state as it runs (vsadm may have changed them since
 * the config was read); the checks from the config. A real server without checks is always alive.
 * Route: GET /v1/health.
 */
import {
  buildHealthService,
  createHealthMonitor,
  healthRoutes,
  serviceKey,
  realServerKey,
  type CheckSpec,
  type ControlRoute,
  type ForwardingMethod,
  type HealthMonitor,
  type HealthServiceSpec,
} from '@vsd/core';
import type { ComponentFactory, DaemonComponent, DaemonContext } from './component.js';

const FORWARDING: Record<'NAT' | 'DR' | 'TUN', ForwardingMethod> = { NAT: 'masq', DR: 'route', TUN: 'tunnel' };

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

/** The monitor's input: every virtual server of the config that has a check or a sorry server. */
export function healthSpecs(ctx: Pick<DaemonContext, 'config' | 'loaded' | 'store'>): HealthServiceSpec[] {
  const specs: HealthServiceSpec[] = [];
  const running = new Map(ctx.store.state.services.map((s) => [serviceKey(s), s]));
  ctx.config.virtual_servers.forEach((vs, i) => {
    const configured = ctx.loaded.services[i];
    if (!configured) return;
    const checks = new Map<string, CheckSpec[]>();
    const inhibitOnFailure: Record<string, boolean> = {};
    vs.real_servers.forEach((rs, j) => {
      const model = configured.realServers[j];
      if (model && rs.checks.length > 0) checks.set(realServerKey(model), rs.checks);
      if (model && rs.inhibit_on_failure !== undefined) inhibitOnFailure[realServerKey(model)] = rs.inhibit_on_failure;
    });
    // A service deleted at run time (vsadm -D) or not applied (the state file won) is not checked.
    const service = running.get(serviceKey(configured));
    if (!service || (checks.size === 0 && vs.sorry_server === undefined)) return;
    const { real_servers: _rs, ...options } = vs;
    specs.push(
      buildHealthService({
        service,
        options: pickHealthOptions(options),
        checks,
        inhibitOnFailure,
        sorryForwarding: FORWARDING[vs.lb_kind],
        prefix: `virtual_servers.${i}`,
      }),
    );
  });
  return specs;
}

function pickHealthOptions(vs: Record<string, unknown>): Record<string, unknown> {
  const keys = ['delay_loop', 'quorum', 'hysteresis', 'sorry_server', 'inhibit_on_failure', 'alpha', 'omega', 'quorum_up', 'quorum_down'];
  return Object.fromEntries(keys.filter((k) => vs[k] !== undefined).map((k) => [k, vs[k]]));
}
