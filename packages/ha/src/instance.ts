/**
 * A VRRP instance: the state machine wired to the wire (raw sockets), to VIPs (rtnetlink), to GARP/NA, to
 * trackers and to notify hooks. Every effect comes through `deps`, so the daemon injects the real ones and
 * tests pass fakes; nothing is global, and stop() is a clean async shutdown that sends priority 0 first.
 */
import { channel } from 'node:diagnostics_channel';
import { networkInterfaces } from 'node:os';
import { HaReloadError, InterfaceError, invariant, netlink, silentLogger, sys, SyscallError, type Logger } from '@vsd/core';
import type { InterfaceInfo, VrrpCounters, VrrpInstance, VrrpInstanceDeps, VrrpStatus } from './instance-api.js';
import { HA_FILE_KEYS, intervalCs, virtualMac, vmacName, type HaConfig } from './config.js';
import { openAnnouncer, type Announcer } from './io/announce.js';
import { processVipLedger, type VipLedger } from './io/vip-ledger.js';
import { openVmac, type VmacLink } from './io/vmac.js';
import { openVrrpTransport, type ReceivedPacket, type VrrpTransport } from './io/vrrp-socket.js';
import { notifyArgs, spawnNotify, type NotifyState } from './notify.js';
import { effectivePriority, InterfaceTracker, runCommand, ScriptTracker, sysfsLinkUp, type Tracker } from './track.js';
import { familyOf, type Family } from './vrrp/addr.js';
import { checkAdvert, decodeAdvert, encodeAdvert, VRRP_GROUP_V4, VRRP_GROUP_V6, type DropReason, type LocalView } from './vrrp/codec.js';
import { GarpSchedule } from './vrrp/garp-schedule.js';
import { systemTimers, VrrpStateMachine, type Timers, type Transition, type VrrpState } from './vrrp/state-machine.js';

export function createVrrpInstance(config: HaConfig, deps: VrrpInstanceDeps = {}): VrrpInstance {
  return new Instance(config, deps);
}

/** The interface's index and the address VRRP uses as its own: the first non-VIP IPv4, or the IPv6 link-local. */
export function systemInterfaceInfo(ifname: string, family: Family, exclude: readonly string[]): InterfaceInfo {
  const ifindex = sys.ifIndex(ifname);
  const addrs = networkInterfaces()[ifname] ?? [];
  const pick = addrs.find((a) => (family === 4 ? a.family === 'IPv4' && !exclude.includes(a.address) : a.family === 'IPv6' && a.address.startsWith('fe80:')));
  if (!pick)
    throw new InterfaceError(ifname, `has no ${family === 4 ? 'IPv4 address besides the VIPs' : 'IPv6 link-local address'} (VRRP sends its adverts from it)`, {
      family,
    });
  return { ifindex, primary: pick.address.split('%')[0] };
}

const EADDRNOTAVAIL = 99;
/** How long start() waits for the source address to become bindable (IPv6 DAD takes 1-2 s after link up). */
const SOURCE_WAIT_MS = 30_000;

/** Every transition of every instance is published here as `{ instance, vrid, ...Transition }`. */
export const VRRP_STATE_CHANNEL = 'vsd:ha:vrrp:state';
const stateChannel = channel(VRRP_STATE_CHANNEL);

const NOTIFY_STATE: Partial<Record<VrrpState, NotifyState>> = { MASTER: 'MASTER', BACKUP: 'BACKUP', FAULT: 'FAULT', STOP: 'STOP' };

class Instance implements VrrpInstance {
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly family: Family;
  private vipAddresses: string[];
  private readonly listeners = new Set<(t: Transition) => void>();
  private readonly vipListeners = new Set<(held: string[]) => void>();
  private readonly faultListeners = new Set<(ownFault: boolean) => void>();
  private readonly masterListeners = new Set<(master: string) => void>();
  private readonly externalFaults = new Set<string>();
  private ownFault = false;
  private readonly counters: VrrpCounters = {
    advertsSent: 0,
    advertsReceived: 0,
    priorityZeroSent: 0,
    priorityZeroReceived: 0,
    dropped: {},
    transitions: 0,
    announcementsSent: 0,
    errors: 0,
  };
  private readonly held = new Set<string>();
  private readonly trackers: Tracker[] = [];
  private readonly trackerKeys = new WeakMap<Tracker, string>();
  private sm!: VrrpStateMachine;
  private info!: InterfaceInfo;
  private transport: VrrpTransport | undefined;
  private addresses: netlink.AddressManager | undefined;
  private announcer: Announcer | undefined;
  private garp!: GarpSchedule;
  private local!: LocalView;
  private vipQueue: Promise<void> = Promise.resolve();
  private started = false;
  private stopped = false;
  private readonly dropLogged = new Map<DropReason, number>();
  private lastMaster: string | undefined;
  private unsubscribeGate: (() => void) | undefined;
  private mismatchLogged: string | undefined;
  private readonly ledger: VipLedger;
  private vmac: VmacLink | undefined;
  /** Where the VIPs go: the VRRP interface, or its vmac macvlan. */
  private vipIfindex = 0;

  constructor(
    private config: HaConfig,
    private readonly deps: VrrpInstanceDeps,
  ) {
    this.log = (deps.logger ?? silentLogger).child({ component: 'vrrp', instance: config.instance });
    this.timers = deps.timers ?? systemTimers;
    this.ledger = deps.ledger ?? processVipLedger;
    this.vipAddresses = config.vips.map((v) => v.split('/')[0]);
    this.family = familyOf(this.vipAddresses[0])!;
  }

  async start(): Promise<void> {
    invariant(!this.started, () => `VRRP instance ${this.config.instance} started twice`);
    this.started = true;
    const c = this.config;
    this.info = (this.deps.interfaceInfo ?? systemInterfaceInfo)(c.interface, this.family, this.vipAddresses);
    const src = c.unicastSrcIp ?? this.info.primary;
    const unicast = c.unicastPeers.length > 0;
    this.local = {
      version: c.version,
      vrid: c.vrid,
      family: this.family,
      addresses: this.vipAddresses,
      intervalCs: intervalCs(c),
      authType: 0,
      unicast,
      ownAddresses: [src, this.info.primary],
      peers: c.unicastPeers,
    };
    this.addresses = this.deps.addresses ?? netlink.openRtnetlink();
    const vmac = vmacName(c);
    if (vmac) {
      const options = {
        name: vmac,
        parent: c.interface,
        parentIndex: this.info.ifindex,
        mac: virtualMac(c.vrid, this.family),
        mode: c.vmacMode,
        family: this.family,
      };
      this.vmac = (this.deps.openVmac ?? openVmac)(options, this.ledger, this.log);
    }
    this.vipIfindex = this.vmac?.ifindex ?? this.info.ifindex;
    this.announcer = (this.deps.openAnnouncer ?? openAnnouncer)(this.vmac?.name ?? c.interface, this.vipIfindex);
    this.garp = this.newGarpSchedule(c);
    this.sm = new VrrpStateMachine(
      {
        version: c.version,
        priority: c.priority,
        intervalCs: intervalCs(c),
        preempt: c.preempt,
        preemptDelayMs: c.preemptDelayMs,
        primaryAddress: src,
        lowerPriorityAdvert: !c.lowerPrioNoAdvert,
        higherPriorityAdvert: c.higherPrioSendAdvert,
        gate: this.deps.gate,
      },
      {
        send: (p) => this.sendAdvert(p),
        transition: (t) => this.onTransition(t),
        lowerPriorityHeard: (from, p) => this.onLowerPriority(from, p),
        contending: (reason) => this.log.warn({ reason }, "would become MASTER: waiting for the witnesses' votes (staying BACKUP)"),
      },
      this.timers,
    );
    this.unsubscribeGate = this.deps.gate?.onChange(() => this.sm.gateChanged());
    await this.removeLeftovers();
    await this.startTrackers();
    this.transport = await this.openTransportWhenUsable({
      family: this.family,
      interface: c.interface,
      ifindex: this.info.ifindex,
      src,
      group: unicast ? undefined : this.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6,
    });
    this.transport.onPacket((p) => this.onPacket(p));
    this.log.info({ vrid: c.vrid, version: c.version, priority: c.priority, src, unicast, advertIntCs: intervalCs(c) }, 'VRRP instance starting');
    this.applyTrackers();
    this.sm.start();
  }

  /**
   * Open the VRRP sockets, waiting while the source address cannot be bound yet: an IPv6 link-local address is
   * "tentative" (unbindable, EADDRNOTAVAIL) until duplicate address detection ends, a second or two after the link
   * comes up, which is exactly when a dispatcher boots. Logged once, then every 10 s; gives up after
   * SOURCE_WAIT_MS with the error, since an address that never becomes usable is a configuration problem.
   */
  private async openTransportWhenUsable(options: Parameters<typeof openVrrpTransport>[0]): Promise<VrrpTransport> {
    const open = this.deps.openTransport ?? openVrrpTransport;
    const started = Date.now();
    let lastLog = -Infinity;
    for (;;) {
      try {
        const t = open(options);
        if (lastLog > -Infinity) this.log.info({ src: options.src, waitedMs: Date.now() - started }, 'VRRP source address usable');
        return t;
      } catch (err) {
        const unusable = err instanceof SyscallError && err.errnoNumber === EADDRNOTAVAIL;
        if (!unusable || this.stopped || Date.now() - started > SOURCE_WAIT_MS) throw err;
        if (Date.now() - lastLog >= 10_000) {
          lastLog = Date.now();
          this.log.warn(
            {
              src: options.src,
              interface: options.interface,
              reason: options.family === 6 ? 'IPv6 duplicate address detection not finished (tentative)' : 'address not on the interface',
            },
            'VRRP source address not usable yet; waiting',
          );
        }
        // Real time on purpose: DAD runs in the kernel, whatever clock drives the state machine.
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.started || this.stopped) return;
    this.stopped = true;
    for (const t of this.trackers) t.stop();
    this.sm?.stop();
    this.unsubscribeGate?.();
    await this.settled();
    await this.transport?.close();
    this.announcer?.close();
    this.vmac?.close();
    if (!this.deps.addresses) await this.addresses?.close();
    this.log.info('VRRP instance stopped');
  }

  resign(): boolean {
    const done = this.sm.resign();
    this.log.info({ done }, 'resign requested');
    return done;
  }

  takeover(): boolean {
    const done = this.sm.takeover();
    this.log.info({ done, advertisedPriority: this.sm.advertisedPriority }, 'takeover requested');
    return done;
  }

  release(): void {
    this.sm.release();
    this.log.info('resign/takeover hold released');
  }

  settled(): Promise<void> {
    return this.vipQueue;
  }

  /**
   * Config reload in place (keepalived issues #349/#2159: a reload must not move VIPs that did not change). The
   * state stays: a MASTER keeps its VIPs and only adds the new ones (with their GARP/NA burst) and removes the
   * dropped ones, then advertises the new list and priority at once; a BACKUP just takes the new settings for the
   * next election. Trackers whose settings did not change keep running as they are. What cannot change in place
   * (VRID, interface, version, VIP family, unicast source or mode, use_vmac) is refused and nothing is changed.
   */
  async reconfigure(next: HaConfig): Promise<string[]> {
    const c = this.config;
    const family = familyOf(next.vips[0]!.split('/')[0]!);
    const fixed: [string, unknown, unknown][] = [
      ['vrid', c.vrid, next.vrid],
      ['interface', c.interface, next.interface],
      ['version', c.version, next.version],
      ['VIP family', this.family, family],
      ['unicast_src_ip', c.unicastSrcIp ?? null, next.unicastSrcIp ?? null],
      ['unicast mode', c.unicastPeers.length > 0, next.unicastPeers.length > 0],
      ['instance', c.instance, next.instance],
      // The VIPs live on the vmac interface: switching it would move them (a restart does that cleanly).
      ['use_vmac', vmacName(c) ?? null, vmacName(next) ?? null],
      ['vmac_mode', c.vmacMode, next.vmacMode],
    ];
    for (const [field, was, now] of fixed)
      if (was !== now) throw new HaReloadError(c.instance, field, `cannot change in place (${String(was)} -> ${String(now)})`);
    const changed = (Object.keys(HA_FILE_KEYS) as (keyof HaConfig)[]).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(c[k]));
    // Said back in the file's names: the operator wrote track_interval, not trackIntervalMs.
    const changedKeys = changed.map((k) => HA_FILE_KEYS[k]);
    if (changed.length === 0) return [];
    if (!this.started || this.stopped) {
      this.config = next;
      this.vipAddresses = next.vips.map((v) => v.split('/')[0]!);
      return changedKeys;
    }
    const trackersChanged = (['trackInterfaces', 'trackScripts', 'trackIntervalMs', 'dontTrackPrimary'] as const).some((k) => changed.includes(k));
    // Trackers first: the only step that waits (interface priming); nothing is switched until they are ready.
    let trackers: Tracker[] | undefined;
    let dropped: Tracker[] = [];
    if (trackersChanged) {
      const keep = new Map(this.trackers.map((t) => [this.trackerKeys.get(t) ?? '', t] as const));
      trackers = await this.buildTrackers(next, keep);
      dropped = [...keep.values()];
    }
    const before = new Set(c.vips);
    const added = next.vips.filter((v) => !before.has(v));
    const removed = c.vips.filter((v) => !next.vips.includes(v));
    this.config = next;
    this.vipAddresses = next.vips.map((v) => v.split('/')[0]!);
    this.local = { ...this.local, addresses: this.vipAddresses, intervalCs: intervalCs(next), peers: next.unicastPeers };
    this.sm.reconfigure({
      priority: next.priority,
      intervalCs: intervalCs(next),
      preempt: next.preempt,
      preemptDelayMs: next.preemptDelayMs,
      lowerPriorityAdvert: !next.lowerPrioNoAdvert,
      higherPriorityAdvert: next.higherPrioSendAdvert,
    });
    if (changed.includes('garp')) {
      this.garp.stop();
      this.garp = this.newGarpSchedule(next);
      if (this.sm.state === 'MASTER') this.garp.start(next.vips.filter((v) => this.held.has(v)));
    }
    if (trackers) {
      for (const t of dropped) t.stop();
      const fresh = trackers.filter((t) => !this.trackers.includes(t));
      this.trackers.splice(0, this.trackers.length, ...trackers);
      for (const t of fresh) t.start();
    }
    this.applyTrackers();
    if (this.sm.state === 'MASTER' && (added.length || removed.length)) this.queueVipChange(added, removed);
    if (changed.some((k) => k === 'vips' || k === 'priority')) this.sm.advertiseNow();
    this.log.info({ changed: changedKeys, state: this.sm.state, vipsAdded: added, vipsRemoved: removed }, 'VRRP instance reconfigured in place');
    return changedKeys;
  }

  onVipsChange(listener: (held: string[]) => void): () => void {
    this.vipListeners.add(listener);
    return () => this.vipListeners.delete(listener);
  }

  onMasterChange(listener: (master: string) => void): () => void {
    this.masterListeners.add(listener);
    return () => this.masterListeners.delete(listener);
  }

  onFaultChange(listener: (ownFault: boolean) => void): () => void {
    this.faultListeners.add(listener);
    return () => this.faultListeners.delete(listener);
  }

  setExternalFault(source: string, fault: boolean): void {
    if (fault === this.externalFaults.has(source)) return;
    if (fault) this.externalFaults.add(source);
    else this.externalFaults.delete(source);
    this.log.info({ source, fault }, fault ? 'held in FAULT from outside' : 'outside FAULT hold ended');
    if (this.sm && this.started && !this.stopped) this.applyTrackers();
  }

  onStateChange(listener: (t: Transition) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): VrrpStatus {
    const sm = this.sm;
    const lt = sm?.lastTransition;
    return {
      instance: this.config.instance,
      interface: this.config.interface,
      vrid: this.config.vrid,
      version: this.config.version,
      state: sm?.state ?? 'INIT',
      priority: sm?.priority ?? this.config.priority,
      basePriority: this.config.priority,
      advertisedPriority: sm?.advertisedPriority ?? this.config.priority,
      advertIntervalCs: intervalCs(this.config),
      masterAdverIntervalCs: sm?.masterAdverInterval ?? intervalCs(this.config),
      masterAddress: sm?.masterAddress ?? null,
      primaryAddress: this.local?.ownAddresses[0] ?? '',
      lastTransition: lt ? { ...lt, atIso: new Date(lt.at).toISOString() } : null,
      vipsHeld: [...this.held],
      holds: sm?.holds ?? { resign: false, takeover: false },
      contending: sm?.contending ?? false,
      ownFault: this.ownFault,
      externalFaults: [...this.externalFaults],
      counters: structuredClone(this.counters),
    };
  }

  /**
   * A previous run killed with SIGKILL left its VIPs configured: this host would answer ARP for them next to the real
   * MASTER. Take them off before joining the election (entering MASTER adds them back).
   */
  private async removeLeftovers(): Promise<void> {
    const found: string[] = [];
    for (const vip of this.config.vips) {
      try {
        if (await this.addresses!.remove(vip, this.info.ifindex)) found.push(vip);
      } catch (err) {
        this.counters.errors++;
        this.log.error({ vip, err: (err as Error).message }, 'removing a leftover VIP failed');
      }
    }
    if (found.length) this.log.warn({ vips: found, interface: this.config.interface }, 'removed leftover VIPs of an earlier run before joining the election');
  }

  private async startTrackers(): Promise<void> {
    this.trackers.push(...(await this.buildTrackers(this.config, new Map())));
    for (const t of this.trackers) t.start();
  }

  /**
   * The trackers a config asks for. One whose settings did not change is taken from `keep` as it runs (a reload
   * must not reset a failing script's rise/fall count, or flap the priority); the others are new and primed.
   */
  private async buildTrackers(c: HaConfig, keep: Map<string, Tracker>): Promise<Tracker[]> {
    const linkUp = this.deps.linkUp ?? sysfsLinkUp;
    const onChange = () => this.applyTrackers();
    const intervalMs = c.trackIntervalMs;
    const ifaces = [...c.trackInterfaces];
    if (!c.dontTrackPrimary && !ifaces.some((t) => t.name === c.interface)) ifaces.unshift({ name: c.interface, weight: 0 });
    const out: Tracker[] = [];
    for (const t of ifaces) {
      const key = JSON.stringify(['if', t.name, t.weight, intervalMs]);
      const kept = keep.get(key);
      if (kept) {
        keep.delete(key);
        out.push(kept);
        continue;
      }
      const tracker = new InterfaceTracker(t.name, t.weight, intervalMs, this.timers, linkUp, onChange);
      await tracker.prime();
      this.trackerKeys.set(tracker, key);
      out.push(tracker);
    }
    for (const options of c.trackScripts) {
      const key = JSON.stringify(['script', options]);
      const kept = keep.get(key);
      if (kept) {
        keep.delete(key);
        out.push(kept);
        continue;
      }
      const tracker = new ScriptTracker(options, this.timers, this.deps.runCommand ?? runCommand, onChange);
      this.trackerKeys.set(tracker, key);
      out.push(tracker);
    }
    return out;
  }

  private applyTrackers(): void {
    const { priority, fault } = effectivePriority(this.config.priority, this.trackers);
    if (priority !== this.sm.priority) this.log.info({ from: this.sm.priority, to: priority }, 'effective priority changed');
    this.sm.setPriority(priority);
    if (fault && !this.ownFault) this.log.warn({ failing: this.trackers.filter((t) => !t.ok).map((t) => t.name) }, 'tracker failed');
    const ownChanged = fault !== this.ownFault;
    this.ownFault = fault;
    this.sm.setFault(fault || this.externalFaults.size > 0);
    if (ownChanged)
      for (const l of this.faultListeners) {
        try {
          l(fault);
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'fault listener threw');
        }
      }
  }

  private sendAdvert(priority: number): void {
    if (!this.transport) return;
    const c = this.config;
    const advert = { version: c.version, vrid: c.vrid, priority, intervalCs: intervalCs(c), addresses: this.vipAddresses };
    const src = this.local.ownAddresses[0];
    const dsts = this.local.unicast ? c.unicastPeers : [this.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6];
    for (const dst of dsts) {
      try {
        const checksum = this.family === 6 ? 'unchecked' : c.v3ChecksumAsV2 ? 'plain' : 'pseudo';
        this.transport.send(encodeAdvert(advert, { family: this.family, src, dst, checksum }), dst);
        this.counters.advertsSent++;
        if (priority === 0) this.counters.priorityZeroSent++;
      } catch (err) {
        this.counters.errors++;
        this.log.warn({ dst, err: (err as Error).message }, 'advert send failed');
      }
    }
  }

  private onPacket(p: ReceivedPacket): void {
    if (!p.ok) return this.drop(p.reason);
    const d = decodeAdvert(p.payload, { family: this.family, src: p.src, dst: p.dst, checksumVerified: p.checksumVerified });
    if (!d.ok) return this.drop(d.reason, p.src);
    const reason = checkAdvert(d.advert, p.src, p.ttl, this.local);
    if (reason && !this.toleratedAddressMismatch(reason, p.src, d.advert.addresses)) return this.drop(reason, p.src, d.advert.priority);
    this.counters.advertsReceived++;
    if (d.advert.priority === 0) this.counters.priorityZeroReceived++;
    try {
      this.sm.receive(d.advert, p.src);
      const master = this.sm.state === 'BACKUP' ? this.sm.masterAddress : undefined;
      const learnt = master && master !== this.lastMaster;
      if (learnt) this.log.info({ master, priority: d.advert.priority }, 'new master');
      this.lastMaster = master;
      if (learnt) for (const l of this.masterListeners) l(master);
    } catch (err) {
      // A bug must not kill the receive loop: count it and keep the instance running.
      this.counters.errors++;
      this.log.error({ err: (err as Error).message, src: p.src }, 'advert handling failed');
    }
  }

  /**
   * skip_check_adv_addr: the master this BACKUP follows may advertise another VIP list for a while, when a reload
   * reached one node before the other. Dropping its adverts would make the BACKUP take over (split brain until the
   * second reload). Logged once per list.
   */
  private toleratedAddressMismatch(reason: DropReason, src: string, addresses: readonly string[]): boolean {
    if (reason !== 'addr_count' && reason !== 'addr_list') return false;
    if (!this.config.skipCheckAdvAddr || this.sm.state !== 'BACKUP' || this.sm.masterAddress !== src) return false;
    const list = addresses.join(' ');
    if (this.mismatchLogged !== `${src} ${list}`) {
      this.mismatchLogged = `${src} ${list}`;
      this.log.warn(
        { master: src, advertised: addresses, configured: this.vipAddresses },
        'the master advertises another VIP list than ours (accepted from the known master: skip_check_adv_addr); reload the other node too',
      );
    }
    return true;
  }

  private drop(reason: DropReason, src?: string, priority?: number): void {
    this.counters.dropped[reason] = (this.counters.dropped[reason] ?? 0) + 1;
    if (reason === 'own_packet' || reason === 'vrid_mismatch') return;
    // A misconfigured peer repeats every interval and junk can arrive by the thousand: warn once per reason,
    // then at most one debug line per reason and second (the counters keep the totals).
    const now = this.timers.now();
    const last = this.dropLogged.get(reason);
    if (last !== undefined && now - last < 1000) return;
    this.dropLogged.set(reason, now);
    this.log[last === undefined ? 'warn' : 'debug']({ reason, src, priority, total: this.counters.dropped[reason] }, 'VRRP packet dropped');
  }

  private announce(vip: string): void {
    try {
      this.announcer?.announce(vip);
      this.counters.announcementsSent++;
    } catch (err) {
      this.counters.errors++;
      this.log.warn({ vip, err: (err as Error).message }, 'gratuitous ARP / NA failed');
    }
  }

  /**
   * Another master with a lower priority exists (a partition healed, or it preempted and lost): neighbours it
   * announced to still send the VIPs' traffic to its MAC, which drops it once it yields. Re-announce at once
   * (keepalived garp_lower_prio_*), unless our own VIP add is still queued (its burst follows).
   */
  private onLowerPriority(from: string, priority: number): void {
    const sent = this.held.size > 0 ? this.garp.reassert(this.config.vips) : 0;
    this.log.info({ from, priority, sent }, 'received advert with lower priority, forcing new election');
  }

  private onTransition(t: Transition): void {
    this.counters.transitions++;
    this.log.info({ from: t.from, to: t.to, reason: t.reason, priority: this.sm?.advertisedPriority }, `entering ${t.to} state`);
    if (t.to === 'MASTER') this.queueVips('add');
    else if (t.from === 'MASTER' || t.from === 'INIT') this.queueVips('remove');
    const state = NOTIFY_STATE[t.to];
    const script = state && this.config.notify[state.toLowerCase() as 'master' | 'backup' | 'fault' | 'stop'];
    if (state && script)
      (this.deps.notify ?? spawnNotify(this.log))(script, notifyArgs(this.config.instance, state, this.sm?.priority ?? this.config.priority));
    if (stateChannel.hasSubscribers) stateChannel.publish({ instance: this.config.instance, vrid: this.config.vrid, ...t });
    for (const l of this.listeners) {
      try {
        l(t);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'state change listener threw');
      }
    }
  }

  private queueVips(op: 'add' | 'remove'): void {
    if (op === 'remove') this.garp.stop();
    this.vipQueue = this.vipQueue.then(() => this.applyVips(op));
  }

  private newGarpSchedule(c: HaConfig): GarpSchedule {
    return new GarpSchedule(c.garp, this.timers, (vip) => this.announce(vip));
  }

  /** A reload on a MASTER: only the VIPs that changed are touched; the added ones are announced. */
  private queueVipChange(added: readonly string[], removed: readonly string[]): void {
    this.vipQueue = this.vipQueue.then(async () => {
      const mgr = this.addresses!;
      for (const vip of removed) {
        try {
          await mgr.remove(vip, this.vipIfindex);
          this.ledger.removeAddress(vip, this.vipIfindex);
          this.held.delete(vip);
        } catch (err) {
          this.counters.errors++;
          this.log.error({ vip, op: 'remove', err: (err as Error).message }, 'VIP change failed');
        }
      }
      if (this.sm.state !== 'MASTER') return;
      for (const vip of added) {
        try {
          this.ledger.addAddress(vip, this.vipIfindex);
          await mgr.add(vip, this.vipIfindex);
          this.held.add(vip);
        } catch (err) {
          this.counters.errors++;
          this.log.error({ vip, op: 'add', err: (err as Error).message }, 'VIP change failed');
        }
      }
      this.log.info({ added, removed }, 'VIPs changed by reload');
      for (const l of this.vipListeners) {
        try {
          l([...this.held]);
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'VIP listener threw');
        }
      }
      // Only the new VIPs get a burst now; the refreshes announce the new list from here on.
      this.garp.setVips(this.config.vips);
      for (let r = 0; r < this.config.garp.repeat; r++) for (const vip of added) this.announce(vip);
    });
  }

  private async applyVips(op: 'add' | 'remove'): Promise<void> {
    const mgr = this.addresses!;
    // Stale if the state moved on while earlier work was queued.
    if (op === 'add' && this.sm.state !== 'MASTER') return;
    // A removal also takes what is held but no longer configured (a reload that raced with a transition).
    const vips = op === 'add' ? this.config.vips : [...new Set([...this.config.vips, ...this.held])];
    for (const vip of vips) {
      try {
        if (op === 'add') {
          // Recorded first: a crash between the netlink call and the next line must still find it.
          this.ledger.addAddress(vip, this.vipIfindex);
          await mgr.add(vip, this.vipIfindex);
          this.held.add(vip);
        } else {
          await mgr.remove(vip, this.vipIfindex);
          this.ledger.removeAddress(vip, this.vipIfindex);
          this.held.delete(vip);
        }
      } catch (err) {
        this.counters.errors++;
        this.log.error({ vip, op, err: (err as Error).message }, 'VIP change failed');
      }
    }
    this.log.info({ op, vips: this.config.vips }, op === 'add' ? 'VIPs added' : 'VIPs removed');
    for (const l of this.vipListeners) {
      try {
        l([...this.held]);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'VIP listener threw');
      }
    }
    if (op === 'add' && this.sm.state === 'MASTER') {
      const before = this.counters.announcementsSent;
      this.garp.start(this.config.vips);
      this.log.info({ vips: this.config.vips, sent: this.counters.announcementsSent - before }, 'sent gratuitous ARPs / unsolicited NAs');
    }
  }
}
