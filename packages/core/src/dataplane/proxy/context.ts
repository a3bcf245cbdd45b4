/** The proxy dataplane's options resolved to the values its parts share (types.ts has the types). */
import type { Logger } from '@vsd/sys';
import { DEFAULT_TIMEOUTS } from '../../model/constants.js';
import type { ProxyContext, ProxyCounters, ProxyDataplaneOptions, ProxyProtocolOption } from './types.js';
import { Estimator } from './stats.js';

export function proxyProtocolPredicate(option: ProxyProtocolOption | undefined): (serviceKey: string, realServerKey: string) => boolean {
  if (typeof option === 'function') return option;
  if (option === undefined || typeof option === 'boolean') {
    const v = option ?? false;
    return () => v;
  }
  const services = new Set(option.services ?? []);
  const realServers = new Set(option.realServers ?? []);
  return (svc, rs) => services.has(svc) || realServers.has(rs);
}

export function zeroProxyCounters(): ProxyCounters {
  return { connectFailures: 0, retries: 0, noDestination: 0, udpFlowsEvicted: 0, udpFlowsRefused: 0 };
}

/** Every field of `parts` summed: the dataplane's counters are its forwarders' together. */
export function sumProxyCounters(parts: readonly ProxyCounters[]): ProxyCounters {
  const sum = zeroProxyCounters();
  for (const p of parts) for (const k of Object.keys(sum) as Array<keyof ProxyCounters>) sum[k] += p[k];
  return sum;
}

export function createProxyContext(options: ProxyDataplaneOptions, log: Logger): ProxyContext {
  return {
    log,
    timeouts: { ...DEFAULT_TIMEOUTS },
    udpIdleTimeoutMs: options.udpIdleTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? 3000,
    expireQuiescentTemplate: options.expireQuiescentTemplate ?? false,
    estimator: new Estimator(),
    counters: zeroProxyCounters(),
    proxyProtocol: proxyProtocolPredicate(options.proxyProtocol),
  };
}

/** A context of its own for one forwarder: the same settings and estimator, its own counters and timeouts. */
export function forkContext(ctx: ProxyContext): ProxyContext {
  return { ...ctx, timeouts: { ...ctx.timeouts }, counters: zeroProxyCounters() };
}

export function udpIdleMs(ctx: ProxyContext): number {
  return ctx.udpIdleTimeoutMs ?? ctx.timeouts.udp * 1000;
}
