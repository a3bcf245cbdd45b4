/** A health monitor over real loopback backends, with the overlay and buildTable the daemon would use. */
import { createHealthMonitor, type HealthEngine, type HealthMonitor, type HealthMonitorOptions } from '../../src/health/monitor.js';
import { parseChecks } from '../../src/health/config.js';
import { buildHealthService } from '../../src/health/spec.js';
import type { HealthServiceSpec } from '../../src/health/types.js';
import { parseVirtualService, type VirtualService } from '../../src/model/schema.js';
import { emptyState } from '../../src/state/store.js';
import { WeightOverlay } from '../../src/weights/overlay.js';
import { buildTable } from '../../src/weights/table.js';
import { captureLogger } from './backends.js';

export interface RsDef {
  port: number;
  weight?: number;
  checks: unknown[];
}

export interface Lab {
  monitor: HealthMonitor;
  overlay: WeightOverlay;
  service: VirtualService;
  spec: HealthServiceSpec;
  logs: () => Record<string, unknown>[];
  /** "ADDR:PORT" -> effective weight of what the dataplane would program ("sorry ..." for the sorry server). */
  table(): Record<string, number>;
  rs(port: number): ReturnType<HealthMonitor['status']>['services'][number]['realServers'][number];
}

export function makeLab(defs: RsDef[], options: Record<string, unknown> = {}, engine: HealthEngine = 'auto', extra: Partial<HealthMonitorOptions> = {}): Lab {
  const service = parseVirtualService({
    protocol: 'tcp',
    address: '10.99.0.1',
    port: 80,
    realServers: defs.map((d) => ({ address: '127.0.0.1', port: d.port, forwarding: 'masq', weight: d.weight ?? 1 })),
  });
  const checks = Object.fromEntries(defs.map((d, i) => [`127.0.0.1:${d.port}`, parseChecks(d.checks, `real_servers.${i}.checks`)]));
  const spec = buildHealthService({ service, options, checks });
  const overlay = new WeightOverlay();
  const { logger, lines } = captureLogger();
  const monitor = createHealthMonitor({ overlay, logger, killGraceMs: 200, engine, ...extra });
  monitor.configure([spec]);
  const state = { ...emptyState(), services: [service] };
  return {
    monitor,
    overlay,
    service,
    spec,
    logs: lines,
    table() {
      const [svc] = buildTable(state, overlay);
      return Object.fromEntries(svc!.dests.map((d) => [d.sorry ? `sorry ${d.key}` : d.key, d.effectiveWeight]));
    },
    rs(port) {
      const r = monitor.status().services[0]!.realServers.find((x) => x.key === `127.0.0.1:${port}`);
      if (!r) throw new Error(`no real server on ${port}`);
      return r;
    },
  };
}

/** Fast checks for tests: 50 ms apart, 300 ms timeout. */
export const fast = { connect_timeout: 0.3, delay_before_retry: 0.05, retry: 0 };
