/**
 * The userspace `proxy` dataplane: a full TCP/UDP proxy per virtual service (NAT semantics: the real
 * server sees the dispatcher as its client unless PROXY protocol v2 is on), scheduled by the IPVS
 * schedulers over effective weights, with IPVS's counters, connection table, persistence, quiesce and
 * thresholds. See the "Proxy dataplane" section of docs/ARCHITECTURE.md for the choices made.
 *
 * Two forwarders share the table: the TCP engine chosen at start (tcp-forwarder.ts) and UDP, served in this thread.
 * This file splits the table between them and merges their answers; it knows neither engine.
 */
import { ValidationError } from '../../errors.js';
import { silentLogger } from '@vsd/sys';
import { CONN_TAB_SIZE, IPVS_VERSION } from '../../model/constants.js';
import type { ForwardingMethod, Timeouts } from '../../model/schema.js';
import { zeroCounters, type ConnectionEntry, type Dataplane, type DataplaneService, type PersistenceEntry, type ServiceStatus } from '../types.js';
import { createProxyContext, forkContext, sumProxyCounters } from './context.js';
import { LocalForwarder } from './local.js';
import { proxyIgnoreReason } from './servable.js';
import { startTcpForwarder } from './tcp-forwarder.js';
import type { EngineThreadCounts, Forwarder, ProxyCounters, ProxyDataplaneOptions, ServableService, TcpForwarder } from './types.js';
import { UdpListener } from './udp.js';
import { defaultUdpMaxFlows, UdpFlowBudget, type UdpFlowLimits } from './udp-flows.js';

export interface ProxyDataplane extends Dataplane {
  readonly name: 'proxy';
  /** Connect failures, retries and "no destination" drops since start. */
  proxyCounters(): ProxyCounters;
  /** Live proxied connections and UDP flows, all services (retired ones included). */
  connectionCount(): number;
  /** Per epoll engine thread, in thread order: TCP connections accepted since start and alive now ([] without the engine). */
  engineThreads(): EngineThreadCounts[];
}

function udpFlowLimits(options: ProxyDataplaneOptions): UdpFlowLimits {
  const max = options.udpMaxFlows ?? defaultUdpMaxFlows();
  const perService = options.udpMaxFlowsPerService ?? max;
  for (const [field, v] of [
    ['udpMaxFlows', max],
    ['udpMaxFlowsPerService', perService],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new ValidationError(field, v, 'must be a positive integer');
  return { max, perService: Math.min(perService, max) };
}

export function createProxyDataplane(options: ProxyDataplaneOptions = {}): ProxyDataplane {
  const log = (options.logger ?? silentLogger).child({ component: 'dataplane', dataplane: 'proxy' });
  const ctx = createProxyContext(options, log);
  const settings = { bindFreely: options.bindFreely ?? true, listenRetryMs: options.listenRetryMs ?? 1000, sweepIntervalMs: options.sweepIntervalMs ?? 1000 };
  const udpCtx = forkContext(ctx);
  const udpFlows = new UdpFlowBudget(udpFlowLimits(options), udpCtx.counters, log);
  const udp = new LocalForwarder(udpCtx, { ...settings, listener: (svc, c) => new UdpListener(svc, c, udpFlows) });
  /** Chosen at start; a table given before that is applied then. */
  let tcp: TcpForwarder | null = null;
  const parts = (): Forwarder[] => (tcp ? [udp, tcp] : [udp]);
  const warned = new Set<string>();
  let order: readonly DataplaneService[] = [];
  let closing = false;

  const servable = (entry: DataplaneService): entry is ServableService => {
    const reason = proxyIgnoreReason(entry.service);
    if (reason === null) return true;
    if (!warned.has(entry.key)) {
      warned.add(entry.key);
      log.warn({ service: entry.key, reason }, 'virtual service ignored by the proxy dataplane');
    }
    return false;
  };

  /** The table's servable entries for each forwarder: [UDP, TCP]. */
  const split = (table: readonly DataplaneService[]): [ServableService[], ServableService[]] => {
    const byProtocol: [ServableService[], ServableService[]] = [[], []];
    for (const entry of table) if (servable(entry)) byProtocol[entry.service.protocol === 'tcp' ? 1 : 0].push(entry);
    return byProtocol;
  };

  const reconcile = async (table: readonly DataplaneService[]): Promise<void> => {
    if (closing) return;
    order = table;
    const [udpTable, tcpTable] = split(table);
    await udp.reconcile(udpTable);
    if (tcp) await tcp.reconcile(tcpTable);
  };

  const gather = async <T>(ask: (f: Forwarder) => Promise<T[]>): Promise<T[]> => (await Promise.all(parts().map(ask))).flat();

  return {
    name: 'proxy',
    supports: (method: ForwardingMethod) => method === 'masq',
    async start() {
      if (tcp) return;
      ctx.estimator.start();
      await udp.start();
      const t = await startTcpForwarder(options, forkContext(ctx), log, settings);
      tcp = t;
      if (order.length > 0) await t.reconcile(split(order)[1]);
    },
    reconcile,
    async status(): Promise<ServiceStatus[]> {
      const keys = order.map((e) => e.key);
      const answers = await Promise.all(parts().map((f) => f.status(keys)));
      return order.map((entry) => {
        for (const a of answers) {
          const s = a.get(entry.key);
          if (s) return s;
        }
        return {
          key: entry.key,
          counters: zeroCounters(),
          dests: entry.dests.map((d) => ({ key: d.key, activeConns: 0, inactiveConns: 0, persistConns: 0, counters: zeroCounters() })),
        };
      });
    },
    connections: (): Promise<ConnectionEntry[]> => gather((f) => f.connections()),
    async zero(serviceKey?: string) {
      await Promise.all(parts().map((f) => f.zero(serviceKey)));
    },
    info: async () => {
      const threads = tcp?.engineThreads() ?? [];
      const c = udp.counters();
      return {
        version: IPVS_VERSION,
        connTableSize: CONN_TAB_SIZE,
        ...(threads.length > 1 ? { engineThreads: threads } : {}),
        engine: tcp?.describe() ?? 'node',
        udpFlows: { live: udpFlows.used, ...udpFlows.limits, evicted: c.udpFlowsEvicted, refused: c.udpFlowsRefused },
      };
    },
    async setTimeouts(t: Timeouts) {
      // 0 means "leave unchanged", as ipvsadm --set does.
      const cur = ctx.timeouts;
      ctx.timeouts = { tcp: t.tcp || cur.tcp, tcpfin: t.tcpfin || cur.tcpfin, udp: t.udp || cur.udp };
      await Promise.all(parts().map((f) => f.setTimeouts(ctx.timeouts)));
    },
    exportPersistence: (): Promise<PersistenceEntry[]> => gather((f) => f.exportPersistence()),
    importPersistence(entries: readonly PersistenceEntry[]) {
      for (const f of parts()) f.importPersistence(entries);
    },
    proxyCounters: () => sumProxyCounters(parts().map((f) => f.counters())),
    engineThreads: () => tcp?.engineThreads() ?? [],
    connectionCount: () => parts().reduce((n, f) => n + f.connectionCount(), 0),
    async close(drainMs = 0) {
      if (closing) return;
      closing = true;
      await Promise.all(parts().map((f) => f.close(drainMs)));
      ctx.estimator.stop();
    },
  };
}
