/**
 * Dataplane selection. The proxy and ipvs dataplanes are looked up at run time, so this package builds (and
 * `--dataplane none` works) whichever of them a given @vsd/core provides.
 */
import * as core from '@vsd/core';
import { ConfigError, createNoneDataplane, XdpLoadError, type Dataplane, type DataplaneName, type Logger } from '@vsd/core';

const FACTORIES: Record<Exclude<DataplaneName, 'none'>, string> = {
  proxy: 'createProxyDataplane',
  ipvs: 'createIpvsDataplane',
  xdp: 'createXdpDataplane',
};

export interface DataplaneChoice {
  /** The proxy dataplane's TCP engine (config key `proxy_engine`). */
  proxyEngine?: 'auto' | 'epoll' | 'node';
  /** Its epoll engine threads (config key `proxy_threads`). */
  proxyThreads?: number | 'auto';
  /** Its bound on UDP flows (config keys `proxy_udp_max_flows`, `proxy_udp_max_flows_per_service`). */
  udpMaxFlows?: number;
  udpMaxFlowsPerService?: number;
  /** Which (service key, real server key) pairs get a PROXY protocol v2 header (config key `proxy_protocol`). */
  proxyProtocol?: (serviceKey: string, realServerKey: string) => boolean;
  /** The xdp dataplane's interface, attach mode and IPIP source (config section `xdp:`). */
  xdp?: { interface: string; mode?: 'native' | 'generic' | 'auto'; tunnelSource?: string | null; connTableSize?: number };
}

export function createDataplane(name: DataplaneName, logger: Logger, choice: DataplaneChoice = {}): Dataplane {
  if (name === 'none') return createNoneDataplane();
  const factory = (core as unknown as Record<string, unknown>)[FACTORIES[name]];
  if (typeof factory !== 'function')
    throw new ConfigError('dataplane', `the ${name} dataplane is not available in this build of vsd; run with --dataplane none (or the other dataplane)`);
  if (name === 'xdp' && !choice.xdp) throw new ConfigError('xdp.interface', 'dataplane xdp needs the interface to attach to (xdp: { interface: eth0 })');
  const options =
    name === 'proxy'
      ? {
          logger,
          engine: choice.proxyEngine,
          threads: choice.proxyThreads,
          udpMaxFlows: choice.udpMaxFlows,
          udpMaxFlowsPerService: choice.udpMaxFlowsPerService,
          proxyProtocol: choice.proxyProtocol,
        }
      : name === 'xdp'
        ? { logger, iface: choice.xdp!.interface, mode: choice.xdp!.mode, tunnelSource: choice.xdp!.tunnelSource, connTableSize: choice.xdp!.connTableSize }
        : { logger };
  return (factory as (options: { logger: Logger }) => Dataplane)(options);
}

/**
 * Start the dataplane; when it is xdp and cannot start, start `fallback` instead if the config asks for one
 * (`xdp.fallback`), saying so in the log. Returns the dataplane that runs.
 */
export async function startDataplane(
  dataplane: Dataplane,
  fallback: 'proxy' | 'none' | 'off',
  make: (name: 'proxy' | 'none') => Dataplane,
  logger: Logger,
): Promise<Dataplane> {
  try {
    await dataplane.start();
    return dataplane;
  } catch (err) {
    if (dataplane.name !== 'xdp' || fallback === 'off' || !(err instanceof XdpLoadError)) throw err;
    logger.warn(
      { err, component: 'daemon', fallback },
      `the xdp dataplane cannot start (${err.message}); starting the ${fallback} dataplane instead, as xdp.fallback says`,
    );
    const other = make(fallback);
    await other.start();
    return other;
  }
}
