/**
 * The epoll engine thread: owns the TCP virtual services of the proxy dataplane (their schedulers, persistence
 * templates, counters and connections) and moves their bytes in its own epoll loop. The main thread sends the
 * table and asks for status over messages (./protocol.ts); UDP services stay in the main thread.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { VsdError } from '../../../errors.js';
import type { InetService } from '../../../model/schema.js';
import type { ConnectionEntry, DataplaneService, PersistenceEntry, ServiceStatus } from '../../types.js';
import { ProxyService } from '../service.js';
import { applyServiceTable } from '../service-table.js';
import { Estimator } from '../stats.js';
import type { ProxyContext, ProxyCounters } from '../types.js';
import { COUNT_SLOTS, COUNTER_COUNT, COUNTER_SLOTS, proxyProtocolPair, type EngineData, type EngineMessage, type EngineRequest } from './protocol.js';
import type { SharedCountCells } from '../../../scheduler/index.js';
import { Reactor } from '@vsd/sys';
import { EngineShared } from './shared.js';
import { EngineTcpListener } from './tcp-listener.js';

interface Entry {
  svc: ProxyService;
  listener: EngineTcpListener;
  /** When to try binding again after a failure; 0 while listening. */
  retryAt: number;
}

const port = parentPort!;
const data = workerData as EngineData;
const opts = data.options;
const post = (m: EngineMessage): void => port.postMessage(m);

const sab = new Float64Array(data.counters, 0, COUNTER_COUNT);
const counters: ProxyCounters = {
  get connectFailures() {
    return sab[COUNTER_SLOTS.connectFailures]!;
  },
  set connectFailures(v) {
    sab[COUNTER_SLOTS.connectFailures] = v;
  },
  get retries() {
    return sab[COUNTER_SLOTS.retries]!;
  },
  set retries(v) {
    sab[COUNTER_SLOTS.retries] = v;
  },
  get noDestination() {
    return sab[COUNTER_SLOTS.noDestination]!;
  },
  set noDestination(v) {
    sab[COUNTER_SLOTS.noDestination] = v;
  },
  udpFlowsEvicted: 0,
  udpFlowsRefused: 0,
};

// Log records go to the main thread, which writes them with its own logger.
const log = pino({ level: opts.logLevel }, { write: (line: string) => post({ t: 'log', line }) }).child({
  component: 'dataplane',
  dataplane: 'proxy',
  engine: 'epoll',
});
let proxyProtocol = new Set<string>();
const ctx: ProxyContext = {
  log,
  timeouts: { ...opts.timeouts },
  udpIdleTimeoutMs: undefined,
  connectTimeoutMs: opts.connectTimeoutMs,
  expireQuiescentTemplate: opts.expireQuiescentTemplate,
  estimator: new Estimator(),
  counters,
  proxyProtocol: (s, d) => proxyProtocol.has(proxyProtocolPair(s, d)),
};
const services = new Map<string, Entry>();
const retired = new Map<string, Entry>();
let closing: { id: number; deadline: number } | null = null;

// Messages are read only when the main thread rang the eventfd: it always does after posting.
const reactor = new Reactor(
  data.wakeFd,
  () => drainMessages(),
  (err, fd) => log.error({ err, fd }, 'engine handler failed; the loop goes on'),
  1000,
  new Uint8Array(data.owned),
);
const shared = new EngineShared();

function openListener(e: Entry): void {
  try {
    e.listener.open(opts.bindFreely);
    e.retryAt = 0;
    log.info({ service: e.svc.key }, 'listening');
  } catch (err) {
    e.retryAt = reactor.now + opts.listenRetryMs;
    log.error({ err, service: e.svc.key, retryMs: opts.listenRetryMs }, 'cannot listen on the virtual service; retrying');
  }
}

function retire(e: Entry): void {
  e.svc.retired = true;
  services.delete(e.svc.key);
  retired.set(e.svc.key, e);
  e.listener.close();
  reap();
}

function reap(): void {
  for (const [key, e] of retired) {
    if (e.svc.conns.size > 0) continue;
    e.svc.dispose();
    retired.delete(key);
  }
}

const positions = opts.positions ? new Int32Array(opts.positions) : null;
const counts: SharedCountCells | null = opts.counts ? { cells: new Int32Array(opts.counts), slots: COUNT_SLOTS, threads: opts.threads } : null;
/** The last reconcile's count slots, read by the services as they (re)program their real servers. */
let countSlots: Record<string, Record<string, number>> = {};
const slotOf = (service: string, dest: string): number | undefined => countSlots[service]?.[dest];

function reconcile(table: DataplaneService[], slots: Record<string, number> = {}, destSlots: Record<string, Record<string, number>> = {}): void {
  countSlots = destSlots;
  const create = (entry: DataplaneService): Entry => {
    const svc = new ProxyService(entry.key, entry.service as InetService, ctx);
    const slot = slots[entry.key];
    if (positions && slot !== undefined) svc.sharedPosition = { cells: positions, index: slot };
    if (counts) svc.sharedCounts = { layout: counts, thread: data.index, slotOf };
    return { svc, listener: new EngineTcpListener(svc, ctx, shared, reactor, opts.threads), retryAt: 0 };
  };
  const { added, removed } = applyServiceTable(table, services, retired, create, log);
  for (const e of added) openListener(e);
  for (const e of removed) retire(e);
  // A service whose persistence changed steers its clients by the new netmask.
  for (const e of services.values()) e.listener.steer();
}

const all = (): Entry[] => [...services.values(), ...retired.values()];

function handle(req: EngineRequest): unknown {
  const now = Date.now();
  switch (req.op) {
    case 'reconcile':
      proxyProtocol = new Set(req.proxyProtocol);
      reconcile(req.table, req.positions, req.countSlots);
      return undefined;
    case 'status': {
      const out: Record<string, ServiceStatus> = {};
      for (const k of req.keys) {
        const e = services.get(k);
        if (e) out[k] = e.svc.status();
      }
      return out;
    }
    case 'connections':
      return all().flatMap((e): ConnectionEntry[] => e.svc.entries(now));
    case 'zero':
      for (const e of all()) if (req.key === undefined || e.svc.key === req.key) e.svc.zero();
      return undefined;
    case 'timeouts':
      ctx.timeouts = req.timeouts;
      return undefined;
    case 'exportPersistence':
      return [...services.values()].flatMap((e): PersistenceEntry[] => e.svc.exportTemplates(now).map((t) => ({ service: e.svc.key, ...t })));
    case 'importPersistence':
      for (const p of req.entries) services.get(p.service)?.svc.importTemplate(p.client, p.dest, p.expiresAt, now);
      return undefined;
    case 'close':
      for (const e of [...services.values()]) retire(e);
      closing = { id: req.id, deadline: now + req.drainMs };
      return closing;
  }
}

function drainMessages(): void {
  for (;;) {
    const m = receiveMessageOnPort(port);
    if (!m) return;
    const req = m.message as EngineRequest;
    try {
      const result = handle(req);
      // The close request is answered once the connections are gone (see afterTurn).
      if (req.op !== 'close') post({ t: 'reply', id: req.id, result });
    } catch (err) {
      post({ t: 'reply', id: req.id, ...replyError(err) });
    }
  }
}

function afterTurn(): void {
  const n = shared.liveConns;
  sab[COUNTER_SLOTS.connections] = n;
  sab[COUNTER_SLOTS.accepted] = shared.accepted;
  if (closing && (n === 0 || reactor.now >= closing.deadline)) {
    for (const e of all()) for (const c of [...e.svc.conns]) c.destroy();
    reap();
    sab[COUNTER_SLOTS.connections] = 0;
    post({ t: 'reply', id: closing.id });
    reactor.stop();
  }
}

reactor.every(opts.sweepIntervalMs, (now) => {
  for (const e of services.values()) e.svc.sweep(now);
  for (const e of retired.values()) e.svc.sweep(now);
  reap();
  for (const e of services.values()) if (e.retryAt && now >= e.retryAt) openListener(e);
});
reactor.every(2000, () => ctx.estimator.tick());
// Connect timeouts: checked often enough that a short timeout is honoured to within a few tens of ms.
reactor.every(Math.max(10, Math.min(100, Math.floor(opts.connectTimeoutMs / 10))), (now) => {
  for (const c of shared.connecting) if (now >= c.connectDeadline) c.connectTimedOut();
  // A safety net under the eventfd: a message whose wake-up was consumed before the message itself was visible on
  // the port is picked up here within one tick instead of waiting for the next request.
  drainMessages();
});

post({ t: 'ready' });
reactor.run(afterTurn);

/** A thrown error as the reply carries it: a VsdError keeps its code, errno and details (plain data, cloneable). */
function replyError(err: unknown): { error: string; code?: string; errno?: string; details?: Record<string, unknown> } {
  if (err instanceof VsdError)
    return {
      error: err.message,
      code: err.code,
      ...(err.errno ? { errno: err.errno } : {}),
      details: JSON.parse(JSON.stringify(err.details)) as Record<string, unknown>,
    };
  return { error: err instanceof Error ? err.message : String(err) };
}
