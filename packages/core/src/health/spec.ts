/** From configuration (keepalived keys) and the model's virtual service to what the monitor runs. */
import { realServerKey, serviceKey } from '../model/keys.js';
import { parseRealServer, parseWith, type ForwardingMethod, type VirtualService } from '../model/schema.js';
import { parseAddressPort, virtualServerHealthSchema, type CheckSpec } from './config.js';
import { DEFAULT_DELAY_LOOP, DEFAULT_HYSTERESIS, DEFAULT_QUORUM } from './constants.js';
import type { HealthServiceSpec } from './types.js';

export interface HealthServiceInput {
  service: VirtualService;
  /** The virtual server's health keys as written in the config (delay_loop, quorum, sorry_server, ...). */
  options?: Record<string, unknown>;
  /** Parsed checks by real server key ("ADDR:PORT"); a real server without an entry has no checks. */
  checks?: ReadonlyMap<string, readonly CheckSpec[]> | Readonly<Record<string, readonly CheckSpec[]>>;
  /** Real servers (by key) with their own inhibit_on_failure (keepalived allows it in a real_server block). */
  inhibitOnFailure?: Readonly<Record<string, boolean>>;
  /** Forwarding method of the sorry server (keepalived: sorry_server_lvs_method, default the service's). */
  sorryForwarding?: ForwardingMethod;
  /** Field prefix for errors, e.g. "virtual_servers.0". */
  prefix?: string;
}

export function buildHealthService(input: HealthServiceInput): HealthServiceSpec {
  const { service } = input;
  const prefix = input.prefix ?? 'virtual_server';
  const o = parseWith(virtualServerHealthSchema, input.options ?? {}, prefix);
  const lookup = (key: string): readonly CheckSpec[] =>
    (input.checks instanceof Map ? input.checks.get(key) : (input.checks as Record<string, readonly CheckSpec[]> | undefined)?.[key]) ?? [];
  let sorryServer = null;
  if (o.sorry_server !== undefined) {
    const field = `${prefix}.sorry_server`;
    const hp = parseAddressPort(o.sorry_server, field);
    const forwarding = input.sorryForwarding ?? service.realServers[0]?.forwarding ?? 'masq';
    sorryServer = parseRealServer(service, { ...hp, forwarding }, field);
  }
  return {
    key: serviceKey(service),
    delayLoopMs: Math.round((o.delay_loop ?? DEFAULT_DELAY_LOOP) * 1000),
    quorum: o.quorum ?? DEFAULT_QUORUM,
    hysteresis: o.hysteresis ?? DEFAULT_HYSTERESIS,
    sorryServer,
    inhibitOnFailure: o.inhibit_on_failure ?? false,
    alpha: o.alpha ?? false,
    omega: o.omega ?? false,
    quorumUp: o.quorum_up,
    quorumDown: o.quorum_down,
    realServers: service.realServers.map((rs) => ({
      address: rs.address,
      port: rs.port,
      weight: rs.weight,
      checks: [...lookup(realServerKey(rs))],
      ...(input.inhibitOnFailure?.[realServerKey(rs)] !== undefined ? { inhibitOnFailure: input.inhibitOnFailure[realServerKey(rs)] } : {}),
    })),
  };
}
