/**
 * The `ipvs` dataplane: the Linux kernel's IP Virtual Server, programmed over generic netlink.
 * Every forwarding method (NAT, DR, TUN incl. GUE/GRE) and fwmark/SCTP services are the kernel's own;
 * counters, rates and connection entries are read back from it. See plan.ts for how pre-existing
 * kernel entries are treated (adopted in place; unknown services removed unless `removeUnknown: false`).
 *
 * Reconcile diffs against a cached view of the kernel table rather than dumping it every time: a dest
 * dump is one netlink round trip per service, which at thousands of services costs far more than the
 * change itself. The view is re-read from the kernel at start, after any refused operation, on every
 * status() (which dumps anyway), and when older than `resyncMs`; so an entry changed behind vsd's back
 * (ipvsadm by hand) is repaired at the latest one resync period later.
 */
import type { Logger } from 'pino';
import { silentLogger } from '@vsd/sys';
import { serviceIdOf, parseServiceKey, realServerKey, serviceKey } from '../../model/keys.js';
import type { SyncDaemon, Timeouts } from '../../model/schema.js';
import { ValidationError, type VsdError } from '../../errors.js';
import type { ConnectionEntry, Dataplane, DataplaneInfo, DataplaneService, ServiceStatus } from '../types.js';
import { IpvsClient, type IpvsClientOptions, type IpvsOp } from './client.js';
import type { KernelDaemon } from './codec.js';
import { IP_VS_CONN_PATH, readIpvsConn } from './conn.js';
import { expectedKernelEntry, planReconcile, type KernelEntry } from './plan.js';

export interface IpvsDataplaneOptions extends IpvsClientOptions {
  logger?: Logger;
  /** Delete kernel services that are not in the table (default true: vsd owns the netns's IPVS table). */
  removeUnknown?: boolean;
  /** Leave the programmed services in the kernel on close (default false: they are removed, as keepalived does). */
  keepOnClose?: boolean;
  /** Where the connection table is read from (tests). */
  connPath?: string;
  /** Longest time the cached kernel view is trusted before reconcile re-reads the kernel (default 30 s). */
  resyncMs?: number;
}

export interface IpvsDataplane extends Dataplane {
  readonly name: 'ipvs';
  /** The operations the last reconcile sent (its size is what "fewest operations" is measured by). */
  lastPlan(): readonly IpvsOp[];
  /** The underlying client, for vsadm-style direct reads (timeouts, daemons). */
  client(): IpvsClient;
  /** Drop the cached kernel view so the next reconcile reads the kernel first. */
  resync(): void;
}

export function createIpvsDataplane(options: IpvsDataplaneOptions = {}): IpvsDataplane {
  const log = (options.logger ?? silentLogger).child({ component: 'dataplane', dataplane: 'ipvs' });
  let ipvs: IpvsClient | undefined;
  let plan: IpvsOp[] = [];
  let programmed: readonly DataplaneService[] = [];
  /** Cached kernel view by service key, and when it was last read from the kernel. */
  let view: Map<string, KernelEntry> | undefined;
  let viewReadAt = 0;
  const resyncMs = options.resyncMs ?? 30_000;

  const c = (): IpvsClient => {
    if (!ipvs) ipvs = IpvsClient.open(options);
    return ipvs;
  };

  const readKernel = (): KernelEntry[] => {
    const services = c().services();
    const dests = c().destsOf(services.map((s) => s.id));
    // The kernel lists dests newest first; reversed, they are in insertion order, which is the model's
    // order for everything vsd added, so the plan's in-order fast path applies.
    const entries = services.map((service, i) => ({ service, dests: dests[i]!.reverse() }));
    view = new Map(entries.map((e) => [serviceKey(e.service.id), e]));
    viewReadAt = Date.now();
    return entries;
  };

  const currentView = (): KernelEntry[] => {
    if (!view || Date.now() - viewReadAt > resyncMs) return readKernel();
    return [...view.values()];
  };

  /**
   * After a fully successful apply the kernel holds the table: only the services the plan touched (or
   * that are new to the view) get a new entry, so a one-dest change does not rebuild 1,000 entries.
   */
  const updateView = (table: readonly DataplaneService[], ops: readonly IpvsOp[]): void => {
    if (!view) return;
    const touched = new Set(ops.map((o) => serviceKey(o.service)));
    for (const o of ops) if (o.op === 'deleteService') view.delete(serviceKey(o.service));
    for (const s of table) if (touched.has(s.key) || !view.has(s.key)) view.set(s.key, expectedKernelEntry(s));
  };

  const applyOps = (ops: readonly IpvsOp[]): void => {
    const errors = c().apply(ops);
    const failed = errors.map((e, i) => [e, ops[i]!] as const).filter((x): x is readonly [VsdError, IpvsOp] => x[0] !== null);
    for (const [err, op] of failed) log.warn({ err, op: op.op, service: serviceKey(op.service) }, 'IPVS operation refused');
    if (failed.length) throw failed[0]![0];
  };

  return {
    name: 'ipvs',
    supports: () => true,
    async start() {
      const info = c().info();
      log.info({ version: info.version, connTableSize: info.connTableSize }, 'kernel IPVS ready');
    },
    async reconcile(table) {
      plan = planReconcile(table, currentView(), { removeUnknown: options.removeUnknown ?? true });
      programmed = table;
      if (plan.length === 0) return;
      log.debug({ ops: plan.length }, 'reconciling IPVS');
      try {
        applyOps(plan);
      } catch (err) {
        view = undefined; // some ops failed: the next reconcile starts from what the kernel really holds
        throw err;
      }
      updateView(table, plan);
    },
    /** Forget the cached kernel view: the next reconcile re-reads the kernel. */
    resync() {
      view = undefined;
    },
    async status(): Promise<ServiceStatus[]> {
      return readKernel().map(({ service, dests }) => ({
        key: serviceKey(service.id),
        counters: service.counters,
        dests: dests.map((d) => ({
          key: realServerKey(d),
          activeConns: d.activeConns,
          inactiveConns: d.inactiveConns,
          persistConns: d.persistConns,
          counters: d.counters,
        })),
      }));
    },
    connections: (): Promise<ConnectionEntry[]> => readIpvsConn(options.connPath ?? IP_VS_CONN_PATH),
    async zero(key) {
      const id = key === undefined ? undefined : parseServiceKey(key);
      if (id === null) throw new ValidationError('service', key, 'not a virtual service key (e.g. tcp 10.0.0.1:80, fwmark 1)');
      c().zero(id);
    },
    async info(): Promise<DataplaneInfo> {
      const i = c().info();
      return { version: i.version, connTableSize: i.connTableSize };
    },
    async setTimeouts(t: Timeouts) {
      c().setTimeouts(t);
    },
    async syncDaemons(daemons) {
      syncDaemonsTo(c(), daemons);
    },
    async close(drainMs = 0) {
      view = undefined;
      if (!ipvs) return;
      try {
        if (!options.keepOnClose && programmed.length) {
          if (drainMs > 0) await drain(c(), programmed, drainMs);
          c().apply(programmed.map((s) => ({ op: 'deleteService', service: serviceIdOf(s.service) })));
        }
      } finally {
        ipvs.close();
        ipvs = undefined;
      }
    },
    lastPlan: () => plan,
    client: c,
  };
}

/** Quiesce every programmed dest (weight 0), then wait until their active connections end or `drainMs` passes. */
async function drain(ipvs: IpvsClient, table: readonly DataplaneService[], drainMs: number): Promise<void> {
  ipvs.apply(
    table.flatMap((s) =>
      s.dests.map(
        (d): IpvsOp => ({ op: 'editDest', service: serviceIdOf(s.service), dest: { ...d, weight: 0, tunnel: d.forwarding === 'tunnel' ? d.tunnel : null } }),
      ),
    ),
  );
  const until = Date.now() + drainMs;
  const ids = table.map((s) => serviceIdOf(s.service));
  while (Date.now() < until) {
    const active = ipvs
      .destsOf(ids)
      .flat()
      .reduce((n, d) => n + d.activeConns, 0);
    if (active === 0) return;
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, until - Date.now()))));
  }
}

function daemonMatches(want: SyncDaemon, have: KernelDaemon): boolean {
  return (
    want.mcastInterface === have.mcastInterface &&
    want.syncId === have.syncId &&
    (want.maxlen === undefined || want.maxlen === have.maxlen) &&
    (want.group === undefined || want.group === have.group) &&
    (want.port === undefined || want.port === have.port) &&
    (want.ttl === undefined || want.ttl === have.ttl)
  );
}

/** Stop daemons that are not wanted or differ, start the missing ones (one master and one backup at most). */
export function syncDaemonsTo(ipvs: IpvsClient, daemons: readonly SyncDaemon[]): void {
  const have = ipvs.daemons();
  for (const state of ['master', 'backup'] as const) {
    const want = daemons.find((d) => d.state === state);
    const cur = have.find((d) => d.state === state);
    if (cur && (!want || !daemonMatches(want, cur))) ipvs.stopDaemon(state);
    if (want && (!cur || !daemonMatches(want, cur))) ipvs.startDaemon(want);
  }
}
