/**
 * Prometheus text exposition (format 0.0.4) of the dispatcher: per virtual service and per real server
 * counters from the dataplane, configured and effective weights from the desired state and the overlay.
 */
import type { Counters, ServiceStatus } from '../dataplane/types.js';
import type { ServiceRealServers } from './real-servers.js';

export interface MetricsInput {
  generation: number;
  realServers: { services: ServiceRealServers[] };
  status: ServiceStatus[];
}

type Labels = Record<string, string>;

class Family {
  readonly samples: string[] = [];
  constructor(
    readonly name: string,
    readonly type: 'counter' | 'gauge',
    readonly help: string,
  ) {}
  add(labels: Labels, value: number): void {
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(',');
    this.samples.push(`${this.name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`);
  }
  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n${this.samples.join('\n')}${this.samples.length ? '\n' : ''}`;
  }
}

/**
 * The IPVS counters exported for both services and real servers: [metric suffix, Counters field, help]. The control
 * API's /metrics and the metrics listener both name them from this list, so the two never disagree.
 */
export const SERVICE_COUNTER_SERIES: ReadonlyArray<readonly [string, keyof Counters, string]> = [
  ['connections_total', 'conns', 'Connections scheduled.'],
  ['in_packets_total', 'inPkts', 'Packets from clients.'],
  ['out_packets_total', 'outPkts', 'Packets to clients.'],
  ['in_bytes_total', 'inBytes', 'Bytes from clients.'],
  ['out_bytes_total', 'outBytes', 'Bytes to clients.'],
];

export function renderMetrics(input: MetricsInput): string {
  const generation = new Family('vsd_generation', 'gauge', 'Generation of the desired-state document.');
  generation.add({}, input.generation);
  const families: Family[] = [generation];

  const svcFamilies = SERVICE_COUNTER_SERIES.map(([suffix, , help]) => new Family(`vsd_service_${suffix}`, 'counter', help));
  const rsFamilies = SERVICE_COUNTER_SERIES.map(([suffix, , help]) => new Family(`vsd_real_server_${suffix}`, 'counter', help));
  const active = new Family('vsd_real_server_active_connections', 'gauge', 'Active connections (ActiveConn).');
  const inactive = new Family('vsd_real_server_inactive_connections', 'gauge', 'Inactive connections (InActConn).');
  for (const svc of input.status) {
    SERVICE_COUNTER_SERIES.forEach(([, field], i) => svcFamilies[i]!.add({ service: svc.key }, svc.counters[field]));
    for (const d of svc.dests) {
      const labels = { service: svc.key, real_server: d.key };
      SERVICE_COUNTER_SERIES.forEach(([, field], i) => rsFamilies[i]!.add(labels, d.counters[field]));
      active.add(labels, d.activeConns);
      inactive.add(labels, d.inactiveConns);
    }
  }

  const weight = new Family('vsd_real_server_weight', 'gauge', 'Configured weight.');
  const effective = new Family('vsd_real_server_effective_weight', 'gauge', 'Effective weight (configured x health x agent feedback).');
  const sorry = new Family('vsd_service_sorry_server_active', 'gauge', '1 while the sorry server replaces the real servers (quorum lost).');
  for (const svc of input.realServers.services) {
    sorry.add({ service: svc.key }, svc.sorryServer ? 1 : 0);
    for (const rs of svc.realServers) {
      const labels = { service: svc.key, real_server: rs.key };
      weight.add(labels, rs.weight);
      effective.add(labels, rs.effectiveWeight);
    }
  }
  families.push(...svcFamilies, ...rsFamilies, active, inactive, weight, effective, sorry);
  return families.map((f) => f.render()).join('');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
