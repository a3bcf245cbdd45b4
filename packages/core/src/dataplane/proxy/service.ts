/**
 * One virtual service in the proxy: its real servers as scheduler destinations with counters, its scheduler
 * (one decision stream for every connection of the service), its persistence templates and its live
 * connections. Listening sockets live in the forwarders (node/, epoll/, udp.ts) and ask this object where a new client goes.
 */
import { hostPort, foldAddress, maskAddress } from '../../model/address.js';
import type { InetService } from '../../model/schema.js';
import {
  bindConnection,
  createSchedDest,
  createScheduler,
  setThresholds,
  unbindConnection,
  type SchedDest,
  type Scheduler,
  type SharedCountCells,
  type SharedPosition,
} from '../../scheduler/index.js';
import type { ConnectionEntry, DataplaneDest, DataplaneService, ServiceStatus } from '../types.js';
import type { ProxyContext, ProxyDest, TrackedConn } from './types.js';
import { Stats } from './stats.js';
import { Template } from './template.js';

export interface Binding {
  dest: ProxyDest;
  template: Template | null;
}

export class ProxyService {
  readonly stats = new Stats();
  readonly conns = new Set<TrackedConn>();
  readonly vipFold: number;
  private readonly dests = new Map<string, ProxyDest>();
  /** Listed destinations in the kernel's list order (most recently added first). */
  private list: SchedDest[] = [];
  /** Listed destination keys in the table's (insertion) order, for status. */
  private tableOrder: string[] = [];
  private weightsChanged = false;
  private scheduler: Scheduler | null = null;
  private schedulerId = '';
  private readonly templates = new Map<string, Template>();
  private readonly packet = { saddr: 0, sport: 0, daddr: 0, dport: 0 };
  /** Whether the listener is closed (service removed or dataplane closing): kept only for its connections. */
  retired = false;
  /** Where rr/wrr keep their position when several engine threads schedule copies of this service. */
  sharedPosition: SharedPosition | undefined;
  /**
   * With several engine threads: where each real server's connections are counted for all of them (thread `thread`
   * writes its own column), so lc/wlc/sed/nq and the thresholds compare totals; `slotOf` gives a real server's slot.
   */
  sharedCounts: { layout: SharedCountCells; thread: number; slotOf: (service: string, dest: string) => number | undefined } | undefined;

  constructor(
    readonly key: string,
    public service: InetService,
    private readonly ctx: ProxyContext,
  ) {
    this.vipFold = foldAddress(service.address);
    this.packet.daddr = this.vipFold;
    this.packet.dport = service.port;
    ctx.estimator.add(this.stats);
  }

  /** Apply a new table entry for this service: scheduler, destinations, weights, thresholds. Idempotent. */
  update(entry: DataplaneService): void {
    this.service = entry.service as InetService;
    let changed = this.updateScheduler();
    const seen = new Set<string>();
    // The model keeps insertion order; the kernel's list has the newest first.
    const next: SchedDest[] = [];
    for (let i = entry.dests.length - 1; i >= 0; i--) {
      const d = entry.dests[i]!;
      seen.add(d.key);
      const pd = this.upsertDest(d);
      next.push(pd.sched.shared ?? pd.sched);
    }
    for (const d of this.dests.values()) {
      if (seen.has(d.key) || !d.listed) continue;
      d.listed = false;
      // Out of the scheduler's list: its shared cells go back, its local counts stay for its last connections.
      d.sched.shareCounts(null);
      d.countSlot = undefined;
    }
    if (next.length !== this.list.length || next.some((d, i) => d !== this.list[i])) changed = true;
    this.list = next;
    if (changed || this.weightsChanged) this.scheduler!.update(this.list);
    this.weightsChanged = false;
    this.tableOrder = entry.dests.map((d) => d.key);
    this.purgeTrash();
  }

  private updateScheduler(): boolean {
    const id = `${this.service.scheduler} ${this.service.schedFlags.join(',')}`;
    if (id === this.schedulerId && this.scheduler) return false;
    // The old scheduler stays attached to the destinations' indexes until closed.
    this.scheduler?.close?.();
    this.scheduler = createScheduler(this.service.scheduler, { flags: this.service.schedFlags, shared: this.sharedPosition });
    this.schedulerId = id;
    return true;
  }

  private upsertDest(d: DataplaneDest): ProxyDest {
    let pd = this.dests.get(d.key);
    if (!pd) {
      const sched = createSchedDest({
        address: d.address,
        port: d.port,
        weight: d.effectiveWeight,
        upperThreshold: d.upperThreshold,
        lowerThreshold: d.lowerThreshold,
      });
      pd = { key: d.key, sched, countSlot: undefined, stats: new Stats(), config: d, proxyProtocol: false, listed: true };
      this.ctx.estimator.add(pd.stats);
      this.dests.set(d.key, pd);
    }
    pd.listed = true;
    pd.config = d;
    const sc = this.sharedCounts;
    const slot = sc?.slotOf(this.key, d.key);
    if (sc && slot !== pd.countSlot) {
      pd.sched.shareCounts(slot === undefined ? null : sc.layout, slot, sc.thread);
      pd.countSlot = slot;
    }
    pd.proxyProtocol = this.ctx.proxyProtocol(this.key, d.key);
    const s = pd.sched;
    if (s.weight !== d.effectiveWeight) {
      s.weight = d.effectiveWeight;
      this.weightsChanged = true;
    }
    if (s.upperThreshold !== d.upperThreshold || s.lowerThreshold !== d.lowerThreshold) {
      setThresholds(s, d.upperThreshold, d.lowerThreshold);
      this.weightsChanged = true;
    }
    return pd;
  }

  /** Forget removed destinations nothing points at any more. */
  purgeTrash(): void {
    for (const d of this.dests.values()) {
      if (d.listed || d.sched.activeConns + d.sched.inactiveConns + d.sched.persistConns > 0) continue;
      this.dests.delete(d.key);
      this.ctx.estimator.delete(d.stats);
    }
  }

  /** Where a new connection from client:cport goes (ip_vs_schedule / ip_vs_sched_persist), or null. */
  schedule(client: string, cport: number, now: number, clientFold?: number): Binding | null {
    const timeout = this.service.persistence.timeout;
    if (timeout === 0) {
      const dest = this.pick(client, cport, null, clientFold);
      return dest ? { dest, template: null } : null;
    }
    const prefix = this.service.persistence.netmask ?? (client.includes(':') ? 128 : 32);
    const tkey = maskAddress(client, prefix);
    let t = this.templates.get(tkey);
    if (t && !this.templateUsable(t)) {
      this.dropTemplate(t);
      t = undefined;
    }
    if (!t) {
      // The template does not take part in the choice: the first connection is scheduled like any other.
      const dest = this.pick(client, cport, null, clientFold);
      if (!dest) return null;
      t = new Template(tkey, dest, timeout * 1000, now);
      bindConnection(dest.sched, 'template');
      this.templates.set(tkey, t);
    }
    t.attach(now);
    return { dest: t.dest, template: t };
  }

  /**
   * A second choice after `failed` refused or timed out: the scheduler picks again with `failed` masked as
   * overloaded (every scheduler skips those), so the decision stream stays the service's own.
   */
  repick(client: string, cport: number, failed: ProxyDest): ProxyDest | null {
    return this.pick(client, cport, failed);
  }

  /** `clientFold`: the client's address already folded (by a caller that has its bytes), saving the parse. */
  private pick(client: string, cport: number, exclude: ProxyDest | null, clientFold = foldAddress(client)): ProxyDest | null {
    if (!this.scheduler) return null;
    this.packet.saddr = clientFold;
    this.packet.sport = cport;
    // Shared by several threads: masked in this thread's view only, the flag the others read is left alone.
    const view = exclude?.sched.shared;
    const saved = exclude?.sched.overloaded ?? false;
    if (view) view.excluded = true;
    else if (exclude) exclude.sched.overloaded = true;
    const s = this.scheduler.pick(this.packet);
    if (view) view.excluded = false;
    else if (exclude) exclude.sched.overloaded = saved;
    return s ? (this.dests.get(s.key) ?? null) : null;
  }

  /** ip_vs_check_template: the destination must still be in the service, and not quiesced if the sysctl says so. */
  private templateUsable(t: Template): boolean {
    if (!t.dest.listed) return false;
    return !(this.ctx.expireQuiescentTemplate && t.dest.sched.weight === 0);
  }

  private dropTemplate(t: Template): void {
    if (this.templates.get(t.key) === t) this.templates.delete(t.key);
    if (t.bound) {
      t.bound = false;
      unbindConnection(t.dest.sched, 'template');
    }
  }

  /** Point a template created for a connection whose real server failed at the replacement. */
  moveTemplate(t: Template, to: ProxyDest): void {
    if (!t.bound || t.dest === to) return;
    unbindConnection(t.dest.sched, 'template');
    bindConnection(to.sched, 'template');
    t.dest = to;
  }

  /** Live persistence templates, for the peer; one that controls connections is reported as re-armed now. */
  exportTemplates(now: number): Array<{ client: string; dest: string; expiresAt: number }> {
    const out = [];
    for (const t of this.templates.values()) {
      if (!t.bound) continue;
      // Whole seconds: a template in use is re-armed continuously, and the peer needs no finer grain.
      const expiresAt = t.conns > 0 ? Math.ceil((now + t.timeoutMs) / 1000) * 1000 : t.expiresAt;
      out.push({ client: t.key, dest: t.dest.key, expiresAt });
    }
    return out;
  }

  /**
   * A template learnt from the peer (it was MASTER): the client keeps its real server here too. A local template
   * that controls live connections wins; an unknown or unlisted real server is ignored.
   */
  importTemplate(client: string, destKey: string, expiresAt: number, now: number): boolean {
    const dest = this.dests.get(destKey);
    const timeout = this.service.persistence.timeout;
    if (!dest?.listed || timeout === 0 || expiresAt <= now) return false;
    const existing = this.templates.get(client);
    if (existing && existing.conns > 0) return false;
    if (existing) this.dropTemplate(existing);
    const t = new Template(client, dest, timeout * 1000, now);
    t.expiresAt = expiresAt;
    bindConnection(dest.sched, 'template');
    this.templates.set(client, t);
    return true;
  }

  /** Expire idle connections and templates. */
  sweep(now: number): void {
    for (const c of this.conns) c.sweep(now);
    for (const t of this.templates.values()) {
      if (t.expiresAt > now) continue;
      // A template controlling live connections is re-armed rather than expired, as the kernel does.
      if (t.conns > 0) t.expiresAt = now + t.timeoutMs;
      else this.dropTemplate(t);
    }
    this.purgeTrash();
  }

  status(): ServiceStatus {
    const dests = [];
    for (const key of this.tableOrder) {
      const d = this.dests.get(key)!;
      dests.push({
        key: d.key,
        activeConns: d.sched.activeConns,
        inactiveConns: d.sched.inactiveConns,
        persistConns: d.sched.persistConns,
        counters: d.stats.snapshot(),
      });
    }
    return { key: this.key, counters: this.stats.snapshot(), dests };
  }

  /** Connection entries, templates included (as the kernel lists them). */
  entries(now: number): ConnectionEntry[] {
    const out: ConnectionEntry[] = [];
    for (const c of this.conns) out.push(c.entry(now));
    const proto = this.service.protocol === 'udp' ? 'UDP' : 'TCP';
    for (const t of this.templates.values()) {
      out.push({
        protocol: proto,
        expires: Math.max(0, Math.ceil((t.expiresAt - now) / 1000)),
        state: 'NONE',
        client: { address: t.key, port: 0 },
        virtual: { address: this.service.address, port: this.service.port },
        destination: { address: t.dest.sched.address, port: t.dest.sched.port },
        template: true,
      });
    }
    return out;
  }

  zero(): void {
    this.stats.zero();
    for (const d of this.dests.values()) d.stats.zero();
  }

  get vip(): string {
    return hostPort(this.service.address, this.service.port);
  }

  /** Drop every template and stop estimating; called once the service is gone and its connections ended. */
  dispose(): void {
    this.scheduler?.close?.();
    this.scheduler = null;
    for (const t of [...this.templates.values()]) this.dropTemplate(t);
    this.ctx.estimator.delete(this.stats);
    for (const d of this.dests.values()) {
      this.ctx.estimator.delete(d.stats);
      d.sched.shareCounts(null);
    }
  }
}
