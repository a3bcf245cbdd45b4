/**
 * The userspace `proxy` dataplane: a full TCP/UDP proxy per virtual service (NAT semantics: the real
 * server sees the dispatcher as its client unless PROXY protocol v2 is on), scheduled by the IPVS
 * schedulers over effective weights, with IPVS's counters, connection table, persistence, quiesce and
 * thresholds. See the "Proxy dataplane" section of docs/ARCHITECTURE.md for the choices made.
 */
import { ValidationError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { CONN_TAB_SIZE, DEFAULT_TIMEOUTS, IPVS_VERSION } from '../../model/constants.js';
import { isFwmark, type ForwardingMethod, type InetService, type Timeouts } from '../../model/schema.js';
import { zeroCounters, type ConnectionEntry, type Dataplane, type DataplaneService, type PersistenceEntry, type ServiceStatus } from '../types.js';
import { proxyProtocolPredicate, type ProxyContext, type ProxyCounters, type ProxyDataplaneOptions } from './context.js';
import { proxyIgnoreReason } from './servable.js';
import { ProxyService } from './service.js';
import { applyServiceTable } from './service-table.js';
import { Estimator } from './stats.js';
import { TcpListener } from './tcp-listener.js';
import { UdpListener } from './udp.js';
import { defaultUdpMaxFlows, UdpFlowBudget, type UdpFlowLimits } from './udp-flows.js';
import { defaultWorkerScript, WorkerPool } from './workers.js';
import { epollEngineUnavailable } from './engine/client.js';
import { EngineGroup } from './engine/group.js';
import { proxyProtocolPair } from './engine/protocol.js';
import { steeringPrefix } from './engine/steer.js';
import { availableParallelism } from 'node:os';

export interface ProxyDataplane extends Dataplane {
  readonly name: 'proxy';
  /** Connect failures, retries and "no destination" drops since start. */
  proxyCounters(): ProxyCounters;
  /** Live proxied connections and UDP flows, all services (retired ones included). */
  connectionCount(): number;
  /** Per epoll engine thread, in thread order: TCP connections accepted since start and alive now ([] without the engine). */
  engineThreads(): Array<{ accepted: number; connections: number }>;
}

function udpFlowLimits(options: ProxyDataplaneOptions): UdpFlowLimits {
  const max = options.udpMaxFlows ?? defaultUdpMaxFlows();
  const perService = options.udpMaxFlowsPerService ?? max;
  for (const [field, v] of [['udpMaxFlows', max], ['udpMaxFlowsPerService', perService]] as const)
    if (!Number.isInteger(v) || v < 1) throw new ValidationError(field, v, 'must be a positive integer');
  return { max, perService: Math.min(perService, max) };
}

interface Entry {
  svc: ProxyService;
  listener: TcpListener | UdpListener | null;
  retryTimer: NodeJS.Timeout | undefined;
}

export function createProxyDataplane(options: ProxyDataplaneOptions = {}): ProxyDataplane {
  const log = (options.logger ?? silentLogger).child({ component: 'dataplane', dataplane: 'proxy' });
  const counters: ProxyCounters = { connectFailures: 0, retries: 0, noDestination: 0, forwardedByWorkers: 0, udpFlowsEvicted: 0, udpFlowsRefused: 0 };
  const ctx: ProxyContext = {
    log,
    timeouts: { ...DEFAULT_TIMEOUTS },
    udpIdleTimeoutMs: options.udpIdleTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? 3000,
    expireQuiescentTemplate: options.expireQuiescentTemplate ?? false,
    estimator: new Estimator(),
    counters,
    proxyProtocol: proxyProtocolPredicate(options.proxyProtocol),
    udpFlows: new UdpFlowBudget(udpFlowLimits(options), counters, log),
    pool: null,
  };
  const bindFreely = options.bindFreely ?? true;
  const listenRetryMs = options.listenRetryMs ?? 1000;
  const services = new Map<string, Entry>();
  /** Removed services whose connections have not ended yet. */
  const retired = new Map<string, Entry>();
  const warned = new Set<string>();
  let order: readonly DataplaneService[] = [];
  let sweepTimer: NodeJS.Timeout | undefined;
  let closing = false;
  /** The epoll engine threads that own the TCP services, when they run (see `engine` and `threads` in the options). */
  let engine: EngineGroup | null = null;

  const servable = (entry: DataplaneService): entry is DataplaneService & { service: InetService } => {
    const reason = proxyIgnoreReason(entry.service);
    if (reason === null) return true;
    if (!warned.has(entry.key)) {
      warned.add(entry.key);
      log.warn({ service: entry.key, reason }, 'virtual service ignored by the proxy dataplane');
    }
    return false;
  };

  const openListener = async (e: Entry): Promise<void> => {
    clearTimeout(e.retryTimer);
    e.retryTimer = undefined;
    if (e.listener instanceof UdpListener && e.listener.isOpen) return;
    const l = e.listener ?? (e.svc.service.protocol === 'udp' ? new UdpListener(e.svc, ctx) : new TcpListener(e.svc, ctx));
    try {
      await l.open(bindFreely);
      e.listener = l;
      if (l instanceof TcpListener) ctx.pool?.share(e.svc, l.netServer);
      log.info({ service: e.svc.key }, 'listening');
    } catch (err) {
      e.listener = null;
      log.error({ err, service: e.svc.key, retryMs: listenRetryMs }, 'cannot listen on the virtual service; retrying');
      e.retryTimer = setTimeout(() => {
        if (services.get(e.svc.key) === e && !closing) void openListener(e);
      }, listenRetryMs);
      e.retryTimer.unref();
    }
  };

  const retire = async (e: Entry): Promise<void> => {
    clearTimeout(e.retryTimer);
    e.svc.retired = true;
    services.delete(e.svc.key);
    retired.set(e.svc.key, e);
    ctx.pool?.unshare(e.svc.key);
    await e.listener?.close();
    if (e.listener instanceof TcpListener) e.listener = null;
    reap();
  };

  /** Dispose of retired services whose last connection ended. */
  const reap = (): void => {
    for (const [key, e] of retired) {
      if (e.svc.conns.size > 0) continue;
      if (e.listener instanceof UdpListener) e.listener.release();
      e.svc.dispose();
      retired.delete(key);
    }
  };

  const sweep = (): void => {
    const now = Date.now();
    for (const e of services.values()) e.svc.sweep(now);
    for (const e of retired.values()) e.svc.sweep(now);
    reap();
  };

  const reconcile = async (table: readonly DataplaneService[]): Promise<void> => {
    if (closing) return;
    order = table;
    const local: DataplaneService[] = [];
    const engineTable: DataplaneService[] = [];
    const proxyProtocolPairs: string[] = [];
    for (const entry of table) {
      if (!servable(entry)) continue;
      if (engine && entry.service.protocol === 'tcp') {
        engineTable.push(entry);
        for (const d of entry.dests) if (ctx.proxyProtocol(entry.key, d.key)) proxyProtocolPairs.push(proxyProtocolPair(entry.key, d.key));
      } else local.push(entry);
    }
    const create = (entry: DataplaneService): Entry => ({ svc: new ProxyService(entry.key, entry.service as InetService, ctx), listener: null, retryTimer: undefined });
    const { added, removed } = applyServiceTable(local, services, retired, create, log);
    for (const e of added) await openListener(e);
    for (const e of removed) await retire(e);
    if (engine) await engine.reconcile(engineTable, proxyProtocolPairs);
  };

  const all = (): Entry[] => [...services.values(), ...retired.values()];

  /** The epoll engine for TCP unless the options ask for Node's sockets or forwarding worker processes. */
  const startEngine = async (): Promise<void> => {
    const wanted = options.engine ?? 'auto';
    if (engine || wanted === 'node' || (wanted === 'auto' && (options.workers ?? 0) > 0)) return;
    const why = options.engineScript ? null : epollEngineUnavailable();
    if (why) {
      if (wanted === 'epoll') throw new Error(why);
      log.warn({ reason: why }, 'TCP forwarded with Node sockets (the epoll engine is unavailable)');
      return;
    }
    const threads = options.threads === 'auto' ? availableParallelism() : (options.threads ?? 1);
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new ValidationError('threads', options.threads, 'must be an integer 1..64 or "auto"');
    const e = new EngineGroup(log, {
      logLevel: log.level,
      timeouts: ctx.timeouts,
      connectTimeoutMs: ctx.connectTimeoutMs,
      expireQuiescentTemplate: ctx.expireQuiescentTemplate,
      bindFreely,
      sweepIntervalMs: options.sweepIntervalMs ?? 1000,
      listenRetryMs,
      threads,
    }, options.engineScript);
    try {
      await e.start();
    } catch (err) {
      if (wanted === 'epoll') throw err;
      log.warn({ err }, 'TCP forwarded with Node sockets (the epoll engine thread did not start)');
      return;
    }
    engine = e;
    log.info({ threads }, threads > 1 ? 'TCP forwarded by the epoll engine threads' : 'TCP forwarded by the epoll engine thread');
  };

  return {
    name: 'proxy',
    supports: (method: ForwardingMethod) => method === 'masq',
    async start() {
      ctx.estimator.start();
      await startEngine();
      const n = engine ? 0 : (options.workers ?? 0);
      if (n > 0 && !ctx.pool) {
        ctx.pool = new WorkerPool(ctx, n, options.workerScript ?? defaultWorkerScript());
        await ctx.pool.start();
      }
      sweepTimer = setInterval(sweep, options.sweepIntervalMs ?? 1000);
      sweepTimer.unref();
    },
    reconcile,
    async status(): Promise<ServiceStatus[]> {
      const remote = engine ? await engine.status(order.map((e) => e.key)) : {};
      return order.map((entry) => {
        const e = services.get(entry.key);
        if (e) return e.svc.status();
        const r = remote[entry.key];
        if (r) return r;
        return {
          key: entry.key,
          counters: zeroCounters(),
          dests: entry.dests.map((d) => ({ key: d.key, activeConns: 0, inactiveConns: 0, persistConns: 0, counters: zeroCounters() })),
        };
      });
    },
    async connections(): Promise<ConnectionEntry[]> {
      const remote = engine ? await engine.connections() : [];
      const now = Date.now();
      return [...all().flatMap((e) => e.svc.entries(now)), ...remote];
    },
    async zero(serviceKey?: string) {
      for (const e of all()) if (serviceKey === undefined || e.svc.key === serviceKey) e.svc.zero();
      if (engine) await engine.zero(serviceKey);
    },
    info: async () => ({
      version: IPVS_VERSION,
      connTableSize: CONN_TAB_SIZE,
      ...(engine && engine.threads > 1 ? { engineThreads: engine.perThread() } : {}),
      engine: engine ? (engine.threads > 1 ? `epoll, ${engine.threads} threads` : 'epoll') : ctx.pool ? `node, ${options.workers} workers` : 'node',
      udpFlows: { live: ctx.udpFlows.used, ...ctx.udpFlows.limits, evicted: counters.udpFlowsEvicted, refused: counters.udpFlowsRefused },
    }),
    async setTimeouts(t: Timeouts) {
      // 0 means "leave unchanged", as ipvsadm --set does.
      ctx.timeouts = { tcp: t.tcp || ctx.timeouts.tcp, tcpfin: t.tcpfin || ctx.timeouts.tcpfin, udp: t.udp || ctx.timeouts.udp };
      if (engine) await engine.setTimeouts(ctx.timeouts);
    },
    async exportPersistence(): Promise<PersistenceEntry[]> {
      const now = Date.now();
      const local = [...services.values()].flatMap((e) => e.svc.exportTemplates(now).map((t) => ({ service: e.svc.key, ...t })));
      return engine ? [...local, ...(await engine.exportPersistence())] : local;
    },
    importPersistence(entries: readonly PersistenceEntry[]) {
      const now = Date.now();
      for (const p of entries) services.get(p.service)?.svc.importTemplate(p.client, p.dest, p.expiresAt, now);
      if (!engine) return;
      const byKey = new Map(order.map((e) => [e.key, e.service]));
      const prefixOf = (key: string): number | null => {
        const s = byKey.get(key);
        return s && !isFwmark(s) ? steeringPrefix(s) : null;
      };
      engine.importPersistence(entries, prefixOf).catch((err: unknown) => log.error({ err }, 'persistence import failed'));
    },
    proxyCounters: () => {
      const c = { ...ctx.counters };
      if (engine) {
        const e = engine.counters();
        c.connectFailures += e.connectFailures;
        c.retries += e.retries;
        c.noDestination += e.noDestination;
      }
      return c;
    },
    engineThreads: () => engine?.perThread() ?? [],
    connectionCount: () => all().reduce((n, e) => n + e.svc.conns.size, 0) + (engine?.counters().connections ?? 0),
    async close(drainMs = 0) {
      if (closing) return;
      closing = true;
      const engineStopped = engine?.stop(drainMs);
      for (const e of [...services.values()]) await retire(e);
      const deadline = Date.now() + drainMs;
      while (Date.now() < deadline && all().some((e) => e.svc.conns.size > 0)) await new Promise((r) => setTimeout(r, 25));
      for (const e of all()) for (const c of [...e.svc.conns]) c.destroy();
      // Destroyed sockets report 'close' once libuv has closed their handles, a loop turn or two later.
      const until = Date.now() + 1000;
      while (Date.now() < until && all().some((e) => e.svc.conns.size > 0)) await new Promise((r) => setTimeout(r, 5));
      for (const e of all()) if (e.listener instanceof UdpListener) e.listener.release();
      reap();
      await engineStopped;
      await ctx.pool?.stop();
      clearInterval(sweepTimer);
      ctx.estimator.stop();
    },
  };
}
