/** What every part of the proxy dataplane shares: options resolved to values, the logger, the clock, counters. */
import type { Logger } from '../../logger.js';
import type { Timeouts } from '../../model/schema.js';
import type { Estimator } from './stats.js';
import type { UdpFlowBudget } from './udp-flows.js';
import type { WorkerPool } from './workers.js';

/**
 * Whether to send a PROXY protocol v2 header to a real server of a service: to all or none, to every real
 * server of the listed services ("tcp 10.0.0.1:80") and to the listed real servers ("10.0.0.2:80", any
 * service), or as decided by a function.
 */
export type ProxyProtocolOption =
  | boolean
  | { services?: readonly string[]; realServers?: readonly string[] }
  | ((serviceKey: string, realServerKey: string) => boolean);

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

export interface ProxyDataplaneOptions {
  logger?: Logger;
  /** Bind VIPs that are not on the host yet (IP_FREEBIND for TCP, ip_nonlocal_bind for UDP as root). Default true. */
  bindFreely?: boolean;
  /** Idle timeout of a UDP flow; default: the UDP timeout of `setTimeouts` (300 s). */
  udpIdleTimeoutMs?: number;
  /**
   * UDP flows (each with its own socket toward its real server) kept by all UDP services together; default: half
   * the process's open-file limit (RLIMIT_NOFILE), at least 64. See udp-flows.ts for what happens when full.
   */
  udpMaxFlows?: number;
  /** UDP flows kept by one UDP service; default: `udpMaxFlows`. */
  udpMaxFlowsPerService?: number;
  /** How long to wait for a real server to accept before retrying on another one. Default 3000. */
  connectTimeoutMs?: number;
  /** PROXY protocol v2 toward real servers: for every one, none, or as a function of (service, real server). */
  proxyProtocol?: ProxyProtocolOption;
  /** The sysctl expire_quiescent_template: a persistence template to a weight-0 server is dropped at its next use. */
  expireQuiescentTemplate?: boolean;
  /** How often idle connections, UDP flows and templates are checked for expiry. Default 1000. */
  sweepIntervalMs?: number;
  /** Delay before retrying a listener that failed to bind. Default 1000. */
  listenRetryMs?: number;
  /**
   * Forwarding worker processes for TCP (0 = forward in this process, the default). Scheduling, counters
   * and the connection table stay in this process either way.
   */
  workers?: number;
  /**
   * Who moves TCP bytes. `epoll`: a dedicated thread running its own epoll loop over libc sockets (Linux; the
   * TCP services, their schedulers and connections live in that thread). `node`: Node's net sockets in this
   * thread (or in `workers` processes). `auto` (default): epoll when available and no `workers` are asked for.
   * UDP always uses Node's dgram in this thread.
   */
  engine?: 'auto' | 'epoll' | 'node';
  /**
   * Epoll engine threads (default 1; `auto`: one per CPU). With more than one, each TCP service listens once per
   * thread in a SO_REUSEPORT group and each thread schedules the connections it accepts: persistence stays exact
   * (clients are steered to threads by their masked address), rr/wrr share their position (one sequence) and
   * lc/wlc/sed/nq and thresholds see every thread's connections (shared counts). See "Proxy dataplane" in docs/ARCHITECTURE.md.
   */
  threads?: number | 'auto';
  /** The compiled epoll engine thread (dist/dataplane/proxy/engine/thread.js); found automatically unless overridden. */
  engineScript?: string;
  /** The compiled worker entry (dist/dataplane/proxy/worker.js); found automatically unless overridden. */
  workerScript?: string;
}

/** Retries and failures the proxy adds to what IPVS counts (IPVS never retries a real server). */
export interface ProxyCounters {
  /** Connection attempts to a real server that were refused, reset or timed out. */
  connectFailures: number;
  /** Connections moved to a second real server after such a failure. */
  retries: number;
  /** Connections or flows dropped because no real server was available. */
  noDestination: number;
  /** Connections accepted and forwarded by worker processes (`workers` > 0); the rest were forwarded here. */
  forwardedByWorkers: number;
  /** UDP flows closed to make room for a new one (the table was full; see udp-flows.ts). */
  udpFlowsEvicted: number;
  /** New UDP flows refused, their datagram dropped (the table was full of flows in a conversation). */
  udpFlowsRefused: number;
}

export interface ProxyContext {
  log: Logger;
  timeouts: Timeouts;
  udpIdleTimeoutMs: number | undefined;
  connectTimeoutMs: number;
  expireQuiescentTemplate: boolean;
  estimator: Estimator;
  counters: ProxyCounters;
  proxyProtocol(serviceKey: string, realServerKey: string): boolean;
  /** The bound on UDP flows, shared by every UDP service of the dataplane. */
  udpFlows: UdpFlowBudget;
  /** Set when TCP forwarding runs in worker processes. */
  pool: WorkerPool | null;
}

export function udpIdleMs(ctx: ProxyContext): number {
  return ctx.udpIdleTimeoutMs ?? ctx.timeouts.udp * 1000;
}
