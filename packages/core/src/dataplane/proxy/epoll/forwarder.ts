/**
 * The epoll engine as a TcpForwarder: its threads own the TCP services (./thread.ts) and this main-thread side sends
 * them the table, with the PROXY protocol decisions resolved here where the option lives, and merges their answers.
 */
import type { Logger } from '@vsd/sys';
import type { Timeouts } from '../../../model/schema.js';
import type { ConnectionEntry, PersistenceEntry, ServiceStatus } from '../../types.js';
import { zeroProxyCounters } from '../context.js';
import type { EngineThreadCounts, ProxyContext, ProxyCounters, ServableService, TcpForwarder } from '../types.js';
import { EngineGroup } from './group.js';
import { proxyProtocolPair, type EngineOptions } from './protocol.js';
import { steeringPrefix } from './steer.js';

export class EpollForwarder implements TcpForwarder {
  readonly engine = 'epoll';
  private readonly group: EngineGroup;
  /** The last table, by key: which services are ours and which persistence prefix each steers by. */
  private services = new Map<string, ServableService>();

  constructor(
    private readonly ctx: ProxyContext,
    private readonly log: Logger,
    options: EngineOptions,
    script?: string,
  ) {
    this.group = new EngineGroup(log, options, script);
  }

  start(): Promise<void> {
    return this.group.start();
  }

  async reconcile(table: readonly ServableService[]): Promise<void> {
    this.services = new Map(table.map((e) => [e.key, e]));
    const pairs: string[] = [];
    for (const entry of table) for (const d of entry.dests) if (this.ctx.proxyProtocol(entry.key, d.key)) pairs.push(proxyProtocolPair(entry.key, d.key));
    await this.group.reconcile([...table], pairs);
  }

  async status(keys: readonly string[]): Promise<Map<string, ServiceStatus>> {
    return new Map(Object.entries(await this.group.status([...keys])));
  }

  connections(): Promise<ConnectionEntry[]> {
    return this.group.connections();
  }

  zero(serviceKey?: string): Promise<void> {
    return this.group.zero(serviceKey);
  }

  setTimeouts(timeouts: Timeouts): Promise<void> {
    return this.group.setTimeouts(timeouts);
  }

  exportPersistence(): Promise<PersistenceEntry[]> {
    return this.group.exportPersistence();
  }

  importPersistence(entries: readonly PersistenceEntry[]): void {
    const prefixOf = (key: string): number | null => {
      const s = this.services.get(key)?.service;
      return s ? steeringPrefix(s) : null;
    };
    this.group.importPersistence(entries, prefixOf).catch((err: unknown) => this.log.error({ err }, 'persistence import failed'));
  }

  counters(): ProxyCounters {
    const e = this.group.counters();
    return { ...zeroProxyCounters(), connectFailures: e.connectFailures, retries: e.retries, noDestination: e.noDestination };
  }

  connectionCount(): number {
    return this.group.counters().connections;
  }

  describe(): string {
    return this.group.threads > 1 ? `epoll, ${this.group.threads} threads` : 'epoll';
  }

  engineThreads(): EngineThreadCounts[] {
    return this.group.perThread();
  }

  close(drainMs: number): Promise<void> {
    return this.group.stop(drainMs);
  }
}
