/**
 * Virtual services served in this thread, each with a listener of its kind (Node's TCP sockets, UDP): listeners opened
 * and retried, services retired while their connections live and reaped after, the sweep, and the answers a
 * Forwarder gives. The node TCP engine (node/forwarder.ts) and the UDP side of the dataplane are both one of these.
 */
import type { Timeouts } from '../../model/schema.js';
import type { ConnectionEntry, DataplaneService, PersistenceEntry, ServiceStatus } from '../types.js';
import { ProxyService } from './service.js';
import { applyServiceTable } from './service-table.js';
import type { Forwarder, ProxyContext, ProxyCounters, ServableService } from './types.js';

/** A service's listening side, as the local forwarder drives it. */
export interface ServiceListener {
  /** Listening already (a revived UDP service keeps its socket while its flows live): nothing to open. */
  readonly isOpen: boolean;
  /** Bind VIP:port; with `bindFreely`, an address not on the host is bound anyway (see freebind.ts). */
  open(bindFreely: boolean): Promise<void>;
  /** Stop taking new clients; what the connections still need may stay open (`isOpen`) until `release`. */
  close(): Promise<void>;
  /** The service's last connection ended: free what `close` kept. */
  release(): void;
}

export interface LocalForwarderSettings {
  bindFreely: boolean;
  listenRetryMs: number;
  sweepIntervalMs: number;
}

export interface LocalForwarderOptions<L extends ServiceListener> extends LocalForwarderSettings {
  listener(svc: ProxyService, ctx: ProxyContext): L;
}

interface Entry<L> {
  svc: ProxyService;
  listener: L | null;
  retryTimer: NodeJS.Timeout | undefined;
}

export class LocalForwarder<L extends ServiceListener> implements Forwarder {
  private readonly services = new Map<string, Entry<L>>();
  /** Removed services whose connections have not ended yet. */
  private readonly retired = new Map<string, Entry<L>>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(
    readonly ctx: ProxyContext,
    private readonly options: LocalForwarderOptions<L>,
  ) {}

  async start(): Promise<void> {
    this.sweepTimer ??= setInterval(() => this.sweep(), this.options.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  private async openListener(e: Entry<L>): Promise<void> {
    clearTimeout(e.retryTimer);
    e.retryTimer = undefined;
    if (e.listener?.isOpen) return;
    const l = e.listener ?? this.options.listener(e.svc, this.ctx);
    const { log } = this.ctx;
    try {
      await l.open(this.options.bindFreely);
      e.listener = l;
      log.info({ service: e.svc.key }, 'listening');
    } catch (err) {
      e.listener = null;
      const retryMs = this.options.listenRetryMs;
      log.error({ err, service: e.svc.key, retryMs }, 'cannot listen on the virtual service; retrying');
      e.retryTimer = setTimeout(() => {
        if (this.services.get(e.svc.key) === e && !this.closing) void this.openListener(e);
      }, retryMs);
      e.retryTimer.unref();
    }
  }

  private async retire(e: Entry<L>): Promise<void> {
    clearTimeout(e.retryTimer);
    e.svc.retired = true;
    this.services.delete(e.svc.key);
    this.retired.set(e.svc.key, e);
    await e.listener?.close();
    // A listener that closed for good is not reused by a revived service: it gets a new one.
    if (e.listener && !e.listener.isOpen) e.listener = null;
    this.reap();
  }

  /** Dispose of retired services whose last connection ended. */
  private reap(): void {
    for (const [key, e] of this.retired) {
      if (e.svc.conns.size > 0) continue;
      e.listener?.release();
      e.svc.dispose();
      this.retired.delete(key);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const e of this.all()) e.svc.sweep(now);
    this.reap();
  }

  private all(): Array<Entry<L>> {
    return [...this.services.values(), ...this.retired.values()];
  }

  async reconcile(table: readonly ServableService[]): Promise<void> {
    if (this.closing) return;
    const create = (entry: DataplaneService): Entry<L> => ({
      svc: new ProxyService(entry.key, entry.service as ServableService['service'], this.ctx),
      listener: null,
      retryTimer: undefined,
    });
    const { added, removed } = applyServiceTable(table, this.services, this.retired, create, this.ctx.log);
    for (const e of added) await this.openListener(e);
    for (const e of removed) await this.retire(e);
  }

  async status(keys: readonly string[]): Promise<Map<string, ServiceStatus>> {
    const out = new Map<string, ServiceStatus>();
    for (const k of keys) {
      const e = this.services.get(k);
      if (e) out.set(k, e.svc.status());
    }
    return out;
  }

  async connections(): Promise<ConnectionEntry[]> {
    const now = Date.now();
    return this.all().flatMap((e) => e.svc.entries(now));
  }

  async zero(serviceKey?: string): Promise<void> {
    for (const e of this.all()) if (serviceKey === undefined || e.svc.key === serviceKey) e.svc.zero();
  }

  async setTimeouts(timeouts: Timeouts): Promise<void> {
    this.ctx.timeouts = timeouts;
  }

  async exportPersistence(): Promise<PersistenceEntry[]> {
    const now = Date.now();
    return [...this.services.values()].flatMap((e) => e.svc.exportTemplates(now).map((t) => ({ service: e.svc.key, ...t })));
  }

  importPersistence(entries: readonly PersistenceEntry[]): void {
    const now = Date.now();
    for (const p of entries) this.services.get(p.service)?.svc.importTemplate(p.client, p.dest, p.expiresAt, now);
  }

  counters(): ProxyCounters {
    return { ...this.ctx.counters };
  }

  connectionCount(): number {
    return this.all().reduce((n, e) => n + e.svc.conns.size, 0);
  }

  async close(drainMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const e of [...this.services.values()]) await this.retire(e);
    const live = (): boolean => this.all().some((e) => e.svc.conns.size > 0);
    const deadline = Date.now() + drainMs;
    while (Date.now() < deadline && live()) await new Promise((r) => setTimeout(r, 25));
    for (const e of this.all()) for (const c of [...e.svc.conns]) c.destroy();
    // Destroyed sockets report 'close' once libuv has closed their handles, a loop turn or two later.
    const until = Date.now() + 1000;
    while (Date.now() < until && live()) await new Promise((r) => setTimeout(r, 5));
    for (const e of this.all()) e.listener?.release();
    this.reap();
    clearInterval(this.sweepTimer);
  }
}
