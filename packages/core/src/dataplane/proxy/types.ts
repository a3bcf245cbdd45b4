/**
 * What the parts of the proxy dataplane share: its options, its context, a real server and a tracked connection as
 * the services see them, and the contract every forwarder implements (`Forwarder`; the TCP engines as `TcpForwarder`).
 * Types only: every implementation file imports from here and this file imports no implementation of the proxy, so the
 * proxy has no import cycle (test/import-cycles.test.ts).
 */
import type { Logger } from '@vsd/sys';
import type { InetService, Timeouts } from '../../model/schema.js';
import type { TrackedSchedDest } from '../../scheduler/dest.js';
import type { ConnectionEntry, DataplaneDest, DataplaneService, PersistenceEntry, ServiceStatus } from '../types.js';
import type { Estimator, Stats } from './stats.js';

/**
 * Whether to send a PROXY protocol v2 header to a real server of a service: to all or none, to every real
 * server of the listed services ("tcp 10.0.0.1:80") and to the listed real servers ("10.0.0.2:80", any
 * service), or as decided by a function.
 */
export type ProxyProtocolOption =
  | boolean
  | { services?: readonly string[]; realServers?: readonly string[] }
  | ((serviceKey: string, realServerKey: string) => boolean);

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
   * Who moves TCP bytes. `epoll`: a dedicated thread running its own epoll loop over libc sockets (Linux; the
   * TCP services, their schedulers and connections live in that thread). `node`: Node's net sockets in this
   * thread. `auto` (default): epoll when available.
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
  /** The compiled epoll engine thread (dist/dataplane/proxy/epoll/thread.js); found automatically unless overridden. */
  engineScript?: string;
}

/** Retries and failures the proxy adds to what IPVS counts (IPVS never retries a real server). */
export interface ProxyCounters {
  /** Connection attempts to a real server that were refused, reset or timed out. */
  connectFailures: number;
  /** Connections moved to a second real server after such a failure. */
  retries: number;
  /** Connections or flows dropped because no real server was available. */
  noDestination: number;
  /** UDP flows closed to make room for a new one (the table was full; see udp-flows.ts). */
  udpFlowsEvicted: number;
  /** New UDP flows refused, their datagram dropped (the table was full of flows in a conversation). */
  udpFlowsRefused: number;
}

/** What the services, listeners and connections of one forwarder share: options resolved to values, log, counters. */
export interface ProxyContext {
  log: Logger;
  timeouts: Timeouts;
  udpIdleTimeoutMs: number | undefined;
  connectTimeoutMs: number;
  expireQuiescentTemplate: boolean;
  estimator: Estimator;
  /** This forwarder's own: the dataplane sums every forwarder's. */
  counters: ProxyCounters;
  proxyProtocol(serviceKey: string, realServerKey: string): boolean;
}

/** A real server of a proxied virtual service: its scheduler destination, counters and configuration. */
export interface ProxyDest {
  readonly key: string;
  readonly sched: TrackedSchedDest;
  /** Its slot in the threads' shared counts (see ProxyService.sharedCounts), when it has one. */
  countSlot: number | undefined;
  readonly stats: Stats;
  config: DataplaneDest;
  proxyProtocol: boolean;
  /** False once removed from the service: kept, like the kernel's dest trash, while connections still use it. */
  listed: boolean;
}

/** A proxied TCP connection or UDP flow, as the connection table and the sweep see it. */
export interface TrackedConn {
  entry(now: number): ConnectionEntry;
  /** Close it when idle past its state's timeout. */
  sweep(now: number): void;
  destroy(): void;
}

/** A table entry the proxy can serve (see servable.ts): an address, a port, TCP or UDP. */
export type ServableService = DataplaneService & { service: InetService };

/**
 * The part of the proxy dataplane that owns some of its virtual services (the TCP ones, or the UDP ones) and moves
 * their bytes: the dataplane hands each forwarder its share of the table and merges what they answer.
 */
export interface Forwarder {
  start(): Promise<void>;
  /** Make its services equal to `table` (its share of the table, in table order). */
  reconcile(table: readonly ServableService[]): Promise<void>;
  /** The status of those of `keys` it serves now (not the retired ones). */
  status(keys: readonly string[]): Promise<Map<string, ServiceStatus>>;
  /** Its connections and persistence templates, retired services included. */
  connections(): Promise<ConnectionEntry[]>;
  zero(serviceKey?: string): Promise<void>;
  setTimeouts(timeouts: Timeouts): Promise<void>;
  exportPersistence(): Promise<PersistenceEntry[]>;
  /** Install templates learnt from the peer for those of its services they name; a failure is logged. */
  importPersistence(entries: readonly PersistenceEntry[]): void;
  counters(): ProxyCounters;
  /** Live connections and flows, retired services included. */
  connectionCount(): number;
  /** Stop listening, let connections end for up to `drainMs`, then close them. */
  close(drainMs: number): Promise<void>;
}

/** One epoll engine thread's TCP connections: accepted since start and alive now. */
export interface EngineThreadCounts {
  accepted: number;
  connections: number;
}

/**
 * Who moves the bytes of the TCP virtual services: the epoll engine threads (epoll/) or Node's sockets (node/).
 * The dataplane picks one at start (tcp-forwarder.ts) and talks to it through this contract only.
 */
export interface TcpForwarder extends Forwarder {
  readonly engine: 'epoll' | 'node';
  /** What `info().engine` says: "epoll", "epoll, 2 threads", "node". */
  describe(): string;
  /** Per epoll engine thread, in thread order ([] for an engine without threads). */
  engineThreads(): EngineThreadCounts[];
}
