/**
 * The HA pair inside vsd: the VRRP instances (`ha:`, one or several, with their sync groups) and the peer channel
 * (`peer:`), one component because each needs the other: VRRP transitions set the peer-sync role (the BACKUP refuses
 * local changes), and drive the kernel's connection sync daemon on the ipvs dataplane (master daemon on MASTER,
 * backup daemon on BACKUP).
 *
 * Several instances, one writer: the desired state is one table replicated whole, so exactly one node of the pair
 * may accept changes even when each is MASTER of some VIP (active/active). The peer-sync role and the connection
 * sync daemon follow the primary instance, the first one listed (keepalived's `lvs_sync_daemon` follows one named
 * instance too): the node that is MASTER of it takes changes, the other answers NOT_MASTER naming it. Put the
 * primary in a sync group when the role should move with a group.
 *
 * Reload (SIGHUP) applies the new `ha:` in place: an instance that keeps its name is reconfigured without leaving
 * its state (its VIPs stay where they are unless the new priorities move them through the election), a new name
 * starts an instance, a vanished one stops (priority 0 first when MASTER). What cannot change in place (VRID,
 * interface, version, VIP family, unicast source or mode, use_vmac) is refused before anything is applied.
 *
 * Routes: GET /v1/ha[?instance=NAME], POST /v1/ha/failover|takeover|release (body `{ "instance": NAME }`, optional
 * with one instance), and the peer-sync routes of sync-routes.ts.
 */
import { hostname } from 'node:os';
import {
  closestKey,
  HaInstanceNotFoundError,
  HaNotConfiguredError,
  HaReloadError,
  HaStateError,
  readKeyFile,
  route,
  ValidationError,
  type ControlRoute,
  type Logger,
  type RouteRequest,
  type SyncDaemon,
} from '@vsd/core';
import {
  checkWitnessElectorate,
  createPeerSync,
  createVrrpInstance,
  familyOf,
  openIcmpProber,
  Witness,
  splitHostPort,
  SyncGroup,
  vmacName,
  type HaConfig,
  type HaSection,
  type MasterGate,
  type PeerSync,
  type Transition,
  type VrrpInstance,
  type VrrpStatus,
} from '@vsd/ha';
import type { HaDoc, HaOperationReply } from '@vsd/protocol';
import type { ComponentFactory, DaemonComponent, DaemonContext } from './component.js';
import { agentVotes } from './component-agents.js';
import { syncRoutes } from './sync-routes.js';
import type { VsdConfig } from './config.js';

export const haComponent: ComponentFactory = (ctx) => {
  if (!ctx.config.ha && !ctx.config.peer) return null;
  return new HaComponent();
};

/** How the component makes its VRRP instances; tests pass a fake that needs no raw sockets. */
export type VrrpFactory = (config: HaConfig, deps: { logger: Logger; gate?: MasterGate }) => VrrpInstance;

interface Running {
  config: HaConfig;
  vrrp: VrrpInstance;
  unsubscribe: () => void;
}

export class HaComponent implements DaemonComponent {
  readonly name = 'ha';
  /** In config order; the first is the primary. */
  private instances = new Map<string, Running>();
  private groups: SyncGroup[] = [];
  private sync: PeerSync | null = null;
  /** The split-brain guard: one per dispatcher, a gate per instance (vote per VRID). */
  private witness: Witness | null = null;
  private witnessApplied = '';
  private log!: Logger;
  private ctx!: DaemonContext;
  /** The peer: section the channel was started with (changes need a restart). */
  private peerConfig: unknown;

  constructor(private readonly createVrrp: VrrpFactory = createVrrpInstance) {}

  async start(ctx: DaemonContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.logger.child({ component: 'ha' });
    this.peerConfig = ctx.config.peer;
    if (ctx.config.peer) {
      const peer = ctx.config.peer;
      this.sync = createPeerSync({
        id: peer.id ?? `${hostname()}/${peer.listen}`,
        key: readKeyFile(peer.keyFile),
        listen: splitHostPort(peer.listen),
        peer: peer.address,
        store: ctx.store,
        dataplane: ctx.dataplane,
        logger: ctx.logger,
        persistIntervalMs: peer.persistIntervalMs,
        divergencePath: ctx.statePath ? `${ctx.statePath}.divergence.json` : null,
        unsyncedPath: ctx.statePath ? `${ctx.statePath}.unsynced.json` : null,
        link: { maxFrameBytes: peer.maxFrameBytes, authTimeoutMs: peer.handshakeTimeoutMs, maxPending: peer.maxUnauthenticated },
      });
      await this.sync.start();
    }
    if (ctx.config.ha) {
      const ha = ctx.config.ha;
      this.witness = this.openWitness(ha);
      // Until VRRP has decided, this node is BACKUP for peer sync: it must not accept changes the MASTER would overwrite.
      this.sync?.setRole('backup', null);
      for (const c of ha.instances) this.instances.set(c.instance, this.create(c));
      this.buildGroups(ha);
      for (const r of this.instances.values()) await r.vrrp.start();
    } else this.sync?.setRole(null);
  }

  async stop(): Promise<void> {
    for (const g of this.groups.splice(0)) g.detach();
    for (const r of [...this.instances.values()].reverse()) {
      r.unsubscribe();
      await r.vrrp.stop();
    }
    await this.witness?.stop();
    await this.sync?.stop();
  }

  /** The split-brain guard (ha.witness); null when off. */
  private openWitness(ha: HaSection): Witness | null {
    const w = ha.witness;
    this.witnessApplied = JSON.stringify(w ?? null);
    if (!w?.enabled) {
      if (this.ctx.config.agents)
        this.log.warn('split-brain guard off: set ha.witness (agents and/or gateways) so a dispatcher cut from its peer does not become a second MASTER');
      return null;
    }
    const agents = this.ctx.config.agents;
    const r = checkWitnessElectorate(w, agents ? { named: Object.keys(agents.agentKeys), requireAgentKey: agents.requireAgentKey } : null);
    if ('message' in r) throw new ValidationError(`ha.witness.${r.path.join('.')}`, w.agents, r.message);
    // With the shared key anybody holding it can connect under a witness's name and vote as it.
    const unkeyed = r.electorate.filter((a) => !Object.hasOwn(agents?.agentKeys ?? {}, a));
    if (unkeyed.length)
      this.log.warn(
        { agents: unkeyed },
        'agent witnesses without a key of their own (agents.agent_keys): any holder of the shared key could vote in their name',
      );
    // Default renewal: every advert_int of the fastest instance, at least four per lease.
    const advertMs = Math.min(...ha.instances.map((c) => c.advertIntMs));
    const witness = new Witness({
      agents: r.electorate,
      gateways: w.gateways,
      leaseMs: w.leaseMs,
      probeIntervalMs: w.probeIntervalMs ?? Math.round(Math.min(advertMs, w.leaseMs / 4)),
      channel: r.electorate.length ? agentVotes(this.ctx) : null,
      prober: w.gateways.length ? openIcmpProber(w.gateways) : null,
      logger: this.ctx.logger,
    });
    witness.start();
    return witness;
  }

  /**
   * Refuses (HaReloadError) a new `ha:` that cannot be applied in place; called before the daemon applies anything
   * of the reloaded file.
   */
  checkReload(next: VsdConfig): void {
    if (!next.ha) return;
    const ha = next.ha;
    // The electorate is part of every running election's safety: changing it under running instances could let a
    // node count votes the peer also counts. It takes a restart.
    if (JSON.stringify(ha.witness ?? null) !== this.witnessApplied && this.instances.size > 0)
      throw new HaReloadError(this.primary()!.config.instance, 'ha.witness', 'cannot change on a running vsd (restart vsd to change the split-brain guard)');
    for (const c of ha.instances) {
      const r = this.instances.get(c.instance);
      if (r) checkInPlace(r.config, c);
    }
  }

  async reload(ctx: DaemonContext): Promise<void> {
    this.ctx = ctx;
    const ha: HaSection = ctx.config.ha ?? { instances: [], syncGroups: [] };
    this.checkReload(ctx.config);
    // A first `ha:` brought by a reload: its guard starts before its instances do.
    if (this.instances.size === 0 && !this.witness && ha.instances.length) this.witness = this.openWitness(ha);
    const primaryBefore = this.primary();
    const wanted = new Set(ha.instances.map((c) => c.instance));
    if (JSON.stringify(ctx.config.peer ?? null) !== JSON.stringify(this.peerConfig ?? null))
      this.log.warn('the peer: section changed: it is applied at the next restart (the peer channel keeps running as started)');
    // Old groups stop following now but keep their FAULT holds until the new groups have taken over (no flap).
    const oldGroups = this.groups.splice(0);
    for (const g of oldGroups) g.detach(false);
    // Removed first: a renamed instance may reuse its predecessor's VRID.
    for (const [name, r] of [...this.instances]) {
      if (wanted.has(name)) continue;
      r.unsubscribe();
      await r.vrrp.stop();
      this.instances.delete(name);
      this.log.info({ instance: name }, 'VRRP instance removed by reload');
    }
    const next = new Map<string, Running>();
    const started: Running[] = [];
    for (const c of ha.instances) {
      const r = this.instances.get(c.instance);
      if (!r) {
        const fresh = this.create(c);
        next.set(c.instance, fresh);
        started.push(fresh);
        continue;
      }
      const changed = await r.vrrp.reconfigure(c);
      if (changed.length) this.log.info({ instance: c.instance, changed }, 'VRRP instance reconfigured in place');
      r.config = c;
      next.set(c.instance, r);
    }
    this.instances = next;
    this.buildGroups(ha);
    for (const g of oldGroups) {
      const successor = this.groups.find((n) => n.name === g.name);
      for (const inst of g.memberInstances()) if (!successor?.memberInstances().includes(inst)) inst.setExternalFault(g.source, false);
    }
    for (const r of started) {
      await r.vrrp.start();
      this.log.info({ instance: r.config.instance, vrid: r.config.vrid }, 'VRRP instance added by reload');
    }
    const primary = this.primary();
    if (primary !== primaryBefore) {
      this.log.info(
        { from: primaryBefore?.config.instance ?? null, to: primary?.config.instance ?? null },
        'primary VRRP instance changed: peer-sync role follows it',
      );
      if (primary) this.followPrimary(primary.vrrp.status().state, primary);
      else this.sync?.setRole(null);
    }
  }

  routes(): readonly ControlRoute[] {
    return [
      route('ha', (req) => this.statusDoc(req)),
      route('ha.failover', (req) => this.failover(req)),
      route('ha.takeover', (req) => this.takeover(req)),
      route('ha.release', (req) => this.release(req)),
      ...syncRoutes(() => this.sync),
    ];
  }

  private create(config: HaConfig): Running {
    const vrrp = this.createVrrp(config, { logger: this.ctx.logger, ...(this.witness ? { gate: this.witness.gate(config.vrid) } : {}) });
    const running: Running = { config, vrrp, unsubscribe: () => undefined };
    const offState = vrrp.onStateChange((t) => this.onTransition(running, t));
    // The BACKUP's NOT_MASTER answer names the master, which it learns from the first advert after its transition.
    const offMaster = vrrp.onMasterChange((master) => {
      if (this.primary() === running && vrrp.status().state === 'BACKUP') this.sync?.setRole('backup', master);
    });
    running.unsubscribe = () => {
      offState();
      offMaster();
    };
    return running;
  }

  private buildGroups(ha: HaSection): void {
    this.groups = ha.syncGroups.map((g) => new SyncGroup(g.name, new Map(g.instances.map((n) => [n, this.instances.get(n)!.vrrp])), this.ctx.logger));
    for (const g of this.groups) g.attach();
  }

  private primary(): Running | undefined {
    return this.instances.values().next().value;
  }

  private onTransition(r: Running, t: Transition): void {
    const status = r.vrrp.status();
    const primary = this.primary() === r;
    this.log.info({ instance: r.config.instance, from: t.from, to: t.to, reason: t.reason, master: status.masterAddress, primary }, 'VRRP transition');
    if (primary) this.followPrimary(t.to, r);
  }

  /** Peer-sync role and connection sync daemon follow the primary instance's state. */
  private followPrimary(state: VrrpStatus['state'], r: Running): void {
    const status = r.vrrp.status();
    this.sync?.setRole(state === 'MASTER' ? 'master' : state === 'BACKUP' || state === 'INIT' ? 'backup' : 'fault', status.masterAddress);
    if (this.ctx.dataplane.syncDaemons && (state === 'MASTER' || state === 'BACKUP')) {
      const daemon: SyncDaemon = {
        state: state === 'MASTER' ? 'master' : 'backup',
        // keepalived's lvs_sync_daemon defaults: the VRRP interface, and the VRID as sync id.
        mcastInterface: r.config.interface,
        syncId: r.config.vrid,
      };
      this.ctx.dataplane.syncDaemons([daemon]).catch((err: Error) => this.log.error({ err }, 'switching the connection sync daemon failed'));
    }
  }

  private statusDoc(req: RouteRequest): HaDoc {
    const only = req.query?.get('instance') ?? undefined;
    const list = only ? [this.find(only)] : [...this.instances.values()];
    const statuses = list.map((r) => this.statusOf(r));
    return {
      vrrp: (only ? statuses[0] : this.primary() && this.statusOf(this.primary()!)) ?? null,
      primary: this.primary()?.config.instance ?? null,
      instances: statuses,
      syncGroups: this.groups.map((g) => ({ name: g.name, instances: g.memberNames() })),
      sync: this.sync?.status() ?? null,
      witness: this.witness?.status() ?? { enabled: false },
    };
  }

  private statusOf(r: Running): VrrpStatus {
    const group = this.groups.find((g) => g.has(r.config.instance));
    return { ...r.vrrp.status(), ...(group ? { syncGroup: group.name } : {}) };
  }

  private find(name: string): Running {
    const r = this.instances.get(name);
    if (!r) throw new HaInstanceNotFoundError(name, [...this.instances.keys()], closestKey(name, [...this.instances.keys()]));
    return r;
  }

  /** The instance an operation names (`{ "instance": "VI_1" }`); optional when there is only one. */
  private target(req: RouteRequest): Running {
    if (this.instances.size === 0) throw new HaNotConfiguredError('VRRP');
    const body = req.body;
    const name = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { instance?: unknown }).instance : undefined;
    if (name !== undefined && typeof name !== 'string') throw new ValidationError('instance', name, 'expected a VRRP instance name');
    if (name !== undefined) return this.find(name);
    if (this.instances.size > 1)
      throw new ValidationError(
        'instance',
        undefined,
        `this dispatcher runs ${this.instances.size} VRRP instances (${[...this.instances.keys()].join(', ')}): name one`,
      );
    return this.primary()!;
  }

  private failover(req: RouteRequest): HaOperationReply {
    const r = this.target(req);
    const before = r.vrrp.status();
    if (!r.vrrp.resign())
      throw new HaStateError(
        'failover',
        `${before.state} for ${r.config.instance}`,
        `run \`vsctl failover ${r.config.instance}\` on the MASTER${before.masterAddress ? ` (${before.masterAddress})` : ''}, or \`vsctl takeover ${r.config.instance}\` here`,
      );
    this.log.warn(
      { operation: 'failover', instance: r.config.instance, priority: before.priority },
      'manual failover: resigning mastership (priority 0 advert)',
    );
    return { operation: 'failover', instance: r.config.instance, before: before.state, status: this.statusOf(r) };
  }

  private takeover(req: RouteRequest): HaOperationReply {
    const r = this.target(req);
    const before = r.vrrp.status();
    if (!r.vrrp.takeover())
      throw new HaStateError(
        'takeover',
        `${before.state} for ${r.config.instance}`,
        `run \`vsctl takeover ${r.config.instance}\` on the BACKUP, or \`vsctl failover ${r.config.instance}\` here`,
      );
    this.log.warn({ operation: 'takeover', instance: r.config.instance, master: before.masterAddress }, 'manual takeover: becoming MASTER');
    return { operation: 'takeover', instance: r.config.instance, before: before.state, status: this.statusOf(r) };
  }

  private release(req: RouteRequest): HaOperationReply {
    const r = this.target(req);
    const group = this.groups.find((g) => g.has(r.config.instance));
    if (group) group.release();
    else r.vrrp.release();
    this.log.info({ operation: 'release', instance: r.config.instance, syncGroup: group?.name }, 'manual hold released');
    return { operation: 'release', instance: r.config.instance, status: this.statusOf(r) };
  }
}

/** What makes an instance a different participant in the election, or needs other sockets: not changeable by reload. */
function checkInPlace(running: HaConfig, next: HaConfig): void {
  const name = running.instance;
  const hint = 'cannot change on a running instance (rename the instance to replace it: the old one stops, the new one starts; or restart vsd)';
  if (next.vrid !== running.vrid) throw new HaReloadError(name, `vrid ${running.vrid} -> ${next.vrid}`, hint);
  if (next.interface !== running.interface) throw new HaReloadError(name, `interface ${running.interface} -> ${next.interface}`, hint);
  if (next.version !== running.version) throw new HaReloadError(name, `version ${running.version} -> ${next.version}`, hint);
  const fam = (c: HaConfig) => familyOf(c.vips[0]!.split('/')[0]!);
  if (fam(next) !== fam(running)) throw new HaReloadError(name, `VIP family IPv${fam(running)} -> IPv${fam(next)}`, hint);
  if ((next.unicastSrcIp ?? null) !== (running.unicastSrcIp ?? null))
    throw new HaReloadError(name, `unicast_src_ip ${running.unicastSrcIp ?? '(interface address)'} -> ${next.unicastSrcIp ?? '(interface address)'}`, hint);
  // The VIPs live on the vmac interface: switching it would move them.
  if ((vmacName(next) ?? null) !== (vmacName(running) ?? null))
    throw new HaReloadError(name, `use_vmac ${vmacName(running) ?? 'off'} -> ${vmacName(next) ?? 'off'}`, hint);
  if (next.vmacMode !== running.vmacMode) throw new HaReloadError(name, `vmac_mode ${running.vmacMode} -> ${next.vmacMode}`, hint);
  if (next.unicastPeers.length > 0 !== running.unicastPeers.length > 0)
    throw new HaReloadError(
      name,
      `mode ${running.unicastPeers.length ? 'unicast' : 'multicast'} -> ${next.unicastPeers.length ? 'unicast' : 'multicast'}`,
      hint,
    );
}
