/**
 * The xdp dataplane: DR and TUN (IPIP) forwarding in an XDP program (packages/core/bpf/xdp_lb.c) on one interface.
 *
 * Userspace owns every decision that needs state: destinations get stable indices with a generation (a flow in the
 * connection table that points at a removed destination is rescheduled, never sent to whoever reuses the index),
 * rings are built by vsd's schedulers (./rings.ts), and counters are summed over CPUs here. The program only looks
 * things up, so reconcile() is a diff of map entries and is idempotent.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { UnsupportedByDataplaneError, XdpLoadError } from '../../errors.js';
import { silentLogger, type Logger } from '@vsd/sys';
import { foldAddress } from '../../model/address.js';
import { DEFAULT_TIMEOUTS, IPVS_VERSION } from '../../model/constants.js';
import { serviceKey } from '../../model/keys.js';
import type { DesiredState, ForwardingMethod, InetService, Timeouts } from '../../model/schema.js';
import type { MhScheduler } from '../../scheduler/mh.js';
import type { SchedDest } from '../../scheduler/types.js';
import { Estimator, Stats } from '../proxy/stats.js';
import type { ConnectionEntry, Dataplane, DataplaneInfo, DataplaneService, ServiceStatus } from '../types.js';
import {
  configValue,
  decodeConn,
  decodeConnKey,
  destValue,
  FREE_DEST,
  IPPROTO_TCP,
  sumCounters,
  svcKey,
  svcValue,
  u32Key,
  u32Value,
  u64Value,
  VSD_CONN_MAX_DEFAULT,
  VSD_FWD_DR,
  VSD_FWD_TUN,
  VSD_MAX_DESTS,
  VSD_MAX_SERVICES,
  VSD_RING_STRIDE,
  VSD_SCHED_SEQ,
  type CounterSum,
  type L4,
} from './layout.js';
import { XdpProgram, type XdpAttachedMode, type XdpMode } from './loader.js';
import { createMhFor, dhRing, mhRing, sequenceRing, shRing, XDP_SCHEDULERS, type Ring } from './rings.js';

export interface XdpDataplaneOptions {
  /** The interface packets for the VIPs arrive on (and DR packets leave by). */
  iface: string;
  mode?: XdpMode;
  /** Outer source address of IPIP packets; default: the interface's first IPv4 address. */
  tunnelSource?: string | null;
  objectPath?: string;
  connTableSize?: number;
  /** false: load the program but attach it nowhere (BPF_PROG_TEST_RUN tests). */
  attach?: boolean;
  logger?: Logger;
  /** How often the real servers' neighbours are refreshed (ms; 0 = only when a destination appears). */
  neighbourRefreshMs?: number;
}

interface DestState {
  key: string;
  index: number;
  gen: number;
  sched: SchedDest;
  stats: Stats;
  base: CounterSum;
  written: Buffer | null;
}

interface ServiceState {
  key: string;
  id: number;
  mapKey: Buffer;
  protocol: L4;
  schedulerId: string;
  mh: MhScheduler | null;
  dests: Map<string, DestState>;
  /** Kernel list order (newest first), as the schedulers see it. */
  order: string[];
  stats: Stats;
  base: CounterSum;
  ring: Uint32Array;
  written: Buffer | null;
}

export interface XdpDataplane extends Dataplane {
  /** The loaded program (tests run packets through it); null before start() and after close(). */
  readonly program: XdpProgram | null;
  /** The program index of a destination of a service, for tests and diagnostics. */
  destIndex(service: string, dest: string): number | undefined;
}

/** A flow not seen for this long is taken as finished when draining (last-seen is refreshed once a second). */
const IDLE_MS = 2500;
const ZERO_SUM: CounterSum = Object.freeze({ packets: 0, bytes: 0, conns: 0 });

export function createXdpDataplane(options: XdpDataplaneOptions): XdpDataplane {
  return new Xdp(options);
}

class Xdp implements XdpDataplane {
  readonly name = 'xdp' as const;
  program: XdpProgram | null = null;
  private mode: XdpAttachedMode | null = null;
  private readonly services = new Map<string, ServiceState>();
  private readonly byIndex = new Map<number, { svc: ServiceState; dest: DestState }>();
  private readonly freeServiceIds: number[] = [];
  private readonly freeDestIndices: number[] = [];
  private nextServiceId = 0;
  private nextDestIndex = 0;
  private generation = 0;
  private readonly estimator = new Estimator();
  private readonly log: Logger;
  private timeouts: Timeouts = { ...DEFAULT_TIMEOUTS };
  private neighbourTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private sockets: { v4: Socket | null; v6: Socket | null } = { v4: null, v6: null };
  private tunnelSource: string | null = null;
  private ipv6Forwarding = false;

  constructor(private readonly options: XdpDataplaneOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'dataplane', dataplane: 'xdp', interface: options.iface });
  }

  supports(method: ForwardingMethod): boolean {
    return method === 'route' || method === 'tunnel';
  }

  /** Refuse what the program cannot do, before it is committed. */
  validate(state: Readonly<DesiredState>): void {
    for (const raw of state.services) {
      const svc = raw as DesiredState['services'][number];
      const name = serviceKey(svc);
      if ('fwmark' in svc) throw new UnsupportedByDataplaneError('xdp', `firewall-mark services (${name})`, 'ipvs');
      if (svc.protocol === 'sctp') throw new UnsupportedByDataplaneError('xdp', `SCTP services (${name})`, 'ipvs');
      if (!XDP_SCHEDULERS.includes(svc.scheduler))
        throw new UnsupportedByDataplaneError(
          'xdp',
          `the ${svc.scheduler} scheduler (${name}; xdp schedules only without live connection counts, with ${XDP_SCHEDULERS.join(', ')})`,
          'proxy or ipvs',
        );
      if (svc.schedFlags.includes('mh-fallback') || (svc.scheduler === 'mh' && svc.schedFlags.includes('flag-1')))
        throw new UnsupportedByDataplaneError('xdp', `mh-fallback (${name})`, 'proxy or ipvs');
      if (svc.schedFlags.includes('sh-fallback') || (svc.scheduler === 'sh' && svc.schedFlags.includes('flag-1')))
        throw new UnsupportedByDataplaneError('xdp', `sh-fallback (${name})`, 'proxy or ipvs');
      if (svc.persistence.timeout > 0) throw new UnsupportedByDataplaneError('xdp', `persistence (-p, ${name})`, 'proxy or ipvs');
      if (svc.pe) throw new UnsupportedByDataplaneError('xdp', `persistence engine ${svc.pe} (${name})`, 'proxy or ipvs');
      if (svc.onePacket) throw new UnsupportedByDataplaneError('xdp', `one-packet scheduling (-o, ${name})`, 'proxy or ipvs');
      for (const rs of svc.realServers) {
        if (rs.forwarding === 'masq')
          throw new UnsupportedByDataplaneError('xdp', `NAT (masquerading, -m) to ${rs.address}; NAT stays on the proxy and ipvs dataplanes`, 'proxy or ipvs');
        if (rs.forwarding === 'tunnel' && (!isIPv4(svc.address) || !isIPv4(rs.address)))
          throw new UnsupportedByDataplaneError('xdp', `IP tunnelling of IPv6 (${name} to ${rs.address}); xdp tunnels IPv4 in IPIP`, 'ipvs');
        if (rs.tunnel && rs.tunnel.type === 'gre') throw new UnsupportedByDataplaneError('xdp', `gre tunnels to ${rs.address}`, 'ipvs');
        if (rs.tunnel && rs.tunnel.csum !== 'nocsum')
          throw new UnsupportedByDataplaneError('xdp', `GUE checksums (${rs.tunnel.csum}) to ${rs.address}; xdp sends GUE without a UDP checksum`, 'ipvs');
        if (rs.upperThreshold > 0 || rs.lowerThreshold > 0)
          throw new UnsupportedByDataplaneError('xdp', `connection thresholds (-x/-y) on ${rs.address}`, 'proxy or ipvs');
        if (isIPv4(svc.address) !== isIPv4(rs.address) && rs.forwarding === 'route')
          throw new UnsupportedByDataplaneError('xdp', `direct routing between address families (${name} to ${rs.address})`, 'proxy');
      }
    }
  }

  destIndex(service: string, dest: string): number | undefined {
    return this.services.get(service)?.dests.get(dest)?.index;
  }

  async start(): Promise<void> {
    const o = this.options;
    const program = XdpProgram.load({ iface: o.iface, objectPath: o.objectPath, connTableSize: o.connTableSize });
    try {
      this.tunnelSource = o.tunnelSource ?? interfaceIPv4(o.iface);
      enableForwarding(o.iface, 'ipv4', this.log);
      program.map('vsd_config').update(u32Key(0), configValue(this.tunnelSource));
      if (o.attach !== false) this.mode = program.attach(o.mode ?? 'auto');
    } catch (err) {
      program.close();
      throw err;
    }
    this.program = program;
    this.statsTimer = setInterval(() => this.refreshStats(), 2000);
    this.statsTimer.unref();
    // The estimator ticks from refreshStats so that counters are read just before each tick.
    const every = o.neighbourRefreshMs ?? 30_000;
    if (every > 0) {
      this.neighbourTimer = setInterval(() => this.primeNeighbours([...this.allDestAddresses()]), every);
      this.neighbourTimer.unref();
    }
    this.log.info({ mode: this.mode ?? 'test', tunnelSource: this.tunnelSource }, 'xdp program loaded');
  }

  async reconcile(table: readonly DataplaneService[]): Promise<void> {
    const program = this.need();
    const seen = new Set<string>();
    const fresh: string[] = [];
    for (const entry of table) {
      const svc = entry.service;
      if ('fwmark' in svc || svc.protocol === 'sctp') continue;
      if (!this.ipv6Forwarding && !isIPv4(svc.address)) {
        enableForwarding(this.options.iface, 'ipv6', this.log);
        this.ipv6Forwarding = true;
      }
      seen.add(entry.key);
      this.reconcileService(program, entry, svc, fresh);
    }
    for (const [key, st] of this.services) if (!seen.has(key)) this.removeService(program, st);
    if (fresh.length > 0) this.primeNeighbours(fresh);
  }

  private reconcileService(program: XdpProgram, entry: DataplaneService, svc: InetService, fresh: string[]): void {
    let st = this.services.get(entry.key);
    if (!st) {
      const id = this.freeServiceIds.pop() ?? this.nextServiceId++;
      if (id >= VSD_MAX_SERVICES) {
        this.nextServiceId = VSD_MAX_SERVICES;
        this.log.error({ service: entry.key }, `xdp holds at most ${VSD_MAX_SERVICES} services; this one is not forwarded`);
        return;
      }
      st = {
        key: entry.key,
        id,
        mapKey: svcKey(svc.address, svc.port, svc.protocol as L4),
        protocol: svc.protocol as L4,
        schedulerId: '',
        mh: null,
        dests: new Map(),
        order: [],
        stats: new Stats(),
        base: ZERO_SUM,
        ring: new Uint32Array(0),
        written: null,
      };
      st.base = sumCounters(program.map('vsd_stats').lookup(u32Key(id)));
      this.estimator.add(st.stats);
      this.services.set(entry.key, st);
    }
    const schedulerId = `${svc.scheduler} ${svc.schedFlags.join(',')}`;
    if (schedulerId !== st.schedulerId) {
      st.schedulerId = schedulerId;
      st.mh = svc.scheduler === 'mh' ? createMhFor(svc.schedFlags) : null;
    }

    const keep = new Set<string>();
    for (const d of entry.dests) {
      keep.add(d.key);
      let ds = st.dests.get(d.key);
      if (!ds) {
        const index = this.freeDestIndices.pop() ?? this.nextDestIndex++;
        if (index >= VSD_MAX_DESTS) {
          this.nextDestIndex = VSD_MAX_DESTS;
          this.log.error({ service: entry.key, realServer: d.key }, `xdp holds at most ${VSD_MAX_DESTS} real servers; this one is not used`);
          continue;
        }
        this.generation = (this.generation % 0xfffffffe) + 1;
        ds = {
          key: d.key,
          index,
          gen: this.generation,
          sched: plainSchedDest(d.key, d.address, d.port),
          stats: new Stats(),
          base: sumCounters(program.map('vsd_stats').lookup(u32Key(VSD_MAX_SERVICES + index))),
          written: null,
        };
        this.estimator.add(ds.stats);
        st.dests.set(d.key, ds);
        this.byIndex.set(index, { svc: st, dest: ds });
        fresh.push(d.address);
      }
      ds.sched.weight = d.effectiveWeight;
      const value = destValue({
        address: d.address,
        port: d.port,
        gen: ds.gen,
        method: d.forwarding === 'tunnel' ? VSD_FWD_TUN : VSD_FWD_DR,
        available: d.effectiveWeight > 0,
        tunPort: d.forwarding === 'tunnel' && d.tunnel?.type === 'gue' ? d.tunnel.port : 0,
      });
      if (!ds.written?.equals(value)) {
        program.map('vsd_dests').update(u32Key(ds.index), value);
        ds.written = value;
      }
    }
    for (const [key, ds] of st.dests) if (!keep.has(key)) this.removeDest(program, st, ds);

    // The model keeps insertion order; the schedulers see the kernel's list, newest first.
    const list: SchedDest[] = [];
    for (let i = entry.dests.length - 1; i >= 0; i--) {
      const ds = st.dests.get(entry.dests[i]!.key);
      if (ds) list.push(ds.sched);
    }
    const indexOf = (d: SchedDest): number => st.dests.get(d.key)!.index;
    const ring: Ring = st.mh
      ? mhRing(st.mh, svc.schedFlags, list, indexOf)
      : svc.scheduler === 'sh'
        ? shRing(svc.schedFlags, list, indexOf)
        : svc.scheduler === 'dh'
          ? dhRing(foldAddress(svc.address), list, indexOf)
          : sequenceRing(svc.scheduler as 'rr' | 'wrr', list, indexOf);
    if (ring.truncated)
      this.log.warn(
        { service: entry.key, slots: VSD_RING_STRIDE },
        'the wrr cycle is longer than the ring: its first picks are used, the proportions are approximate',
      );
    this.writeRing(program, st, ring);
  }

  private writeRing(program: XdpProgram, st: ServiceState, ring: Ring): void {
    const slots = ring.slots;
    const changed = slots.length !== st.ring.length || slots.some((v, i) => v !== st.ring[i]);
    const ringMap = program.map('vsd_ring');
    const base = st.id * VSD_RING_STRIDE;
    if (changed) {
      for (let i = 0; i < slots.length; i++) if (st.ring[i] !== slots[i]) ringMap.update(u32Key(base + i), u32Value(slots[i]!));
      // A new rr/wrr cycle starts at its head, as a fresh scheduler does.
      if (ring.sched === VSD_SCHED_SEQ) program.map('vsd_seq_pos').update(u32Key(st.id), u64Value(0n));
      st.ring = slots;
    }
    const value = svcValue({ id: st.id, sched: ring.sched, ringLen: slots.length, flags: ring.flags });
    if (!st.written?.equals(value)) {
      program.map('vsd_services').update(st.mapKey, value);
      st.written = value;
    }
  }

  private removeDest(program: XdpProgram, st: ServiceState, ds: DestState): void {
    // Generation 0 in the slot: flows still in the table that point here are rescheduled.
    program.map('vsd_dests').update(u32Key(ds.index), FREE_DEST);
    st.dests.delete(ds.key);
    this.byIndex.delete(ds.index);
    this.freeDestIndices.push(ds.index);
    this.estimator.delete(ds.stats);
  }

  private removeService(program: XdpProgram, st: ServiceState): void {
    program.map('vsd_services').delete(st.mapKey);
    for (const ds of [...st.dests.values()]) this.removeDest(program, st, ds);
    this.services.delete(st.key);
    this.freeServiceIds.push(st.id);
    this.estimator.delete(st.stats);
  }

  private *allDestAddresses(): Iterable<string> {
    for (const st of this.services.values()) for (const ds of st.dests.values()) yield ds.sched.address;
  }

  /**
   * bpf_fib_lookup answers NO_NEIGH for a next hop the kernel has not resolved, and the program then passes the
   * packet to the stack; an empty datagram to the discard port makes the kernel resolve (and keep) the neighbour.
   */
  private primeNeighbours(addresses: string[]): void {
    for (const address of new Set(addresses)) {
      const v4 = isIPv4(address);
      let sock = v4 ? this.sockets.v4 : this.sockets.v6;
      if (!sock) {
        sock = createSocket(v4 ? 'udp4' : 'udp6');
        sock.on('error', () => undefined);
        sock.unref();
        if (v4) this.sockets.v4 = sock;
        else this.sockets.v6 = sock;
      }
      sock.send(Buffer.alloc(0), 9, address, () => undefined);
    }
  }

  /** Read the per-CPU counters into the Stats objects (cumulative since zero), then run the rate estimator. */
  private refreshStats(tick = true): void {
    const program = this.program;
    if (!program) return;
    const stats = program.map('vsd_stats');
    const apply = (s: Stats, sum: CounterSum, base: CounterSum): void => {
      s.conns = sum.conns - base.conns;
      s.inPkts = sum.packets - base.packets;
      s.inBytes = sum.bytes - base.bytes;
    };
    for (const st of this.services.values()) {
      apply(st.stats, sumCounters(stats.lookup(u32Key(st.id))), st.base);
      for (const ds of st.dests.values()) apply(ds.stats, sumCounters(stats.lookup(u32Key(VSD_MAX_SERVICES + ds.index))), ds.base);
    }
    if (tick) this.estimator.tick();
  }

  async status(): Promise<ServiceStatus[]> {
    const program = this.need();
    this.refreshStats(false);
    const counts = this.connCounts(program);
    const out: ServiceStatus[] = [];
    for (const st of this.services.values()) {
      out.push({
        key: st.key,
        counters: st.stats.snapshot(),
        dests: [...st.dests.values()].map((ds) => {
          const c = counts.get(ds.index);
          return { key: ds.key, activeConns: c?.active ?? 0, inactiveConns: c?.inactive ?? 0, persistConns: 0, counters: ds.stats.snapshot() };
        }),
      });
    }
    return out;
  }

  /**
   * Flows per destination index, as IPVS shows them: TCP flows seen within the TCP timeout are active, UDP flows seen
   * within the UDP timeout inactive (the program keeps no TCP state, so a closed connection stays "active" until idle).
   */
  private connCounts(program: XdpProgram): Map<number, { active: number; inactive: number }> {
    const now = process.hrtime.bigint();
    const counts = new Map<number, { active: number; inactive: number }>();
    for (const [k, v] of program.map('vsd_conns').entries(this.options.connTableSize ?? VSD_CONN_MAX_DEFAULT)) {
      const c = decodeConn(v);
      const owner = this.byIndex.get(c.dest);
      if (!owner || owner.dest.gen !== c.gen) continue;
      const tcp = k[36] === IPPROTO_TCP;
      const idle = Number((now - c.seenNs) / 1_000_000_000n);
      if (idle > (tcp ? this.timeouts.tcp : this.timeouts.udp)) continue;
      let e = counts.get(c.dest);
      if (!e) counts.set(c.dest, (e = { active: 0, inactive: 0 }));
      if (tcp) e.active++;
      else e.inactive++;
    }
    return counts;
  }

  async connections(): Promise<ConnectionEntry[]> {
    const program = this.need();
    const conns = program.map('vsd_conns');
    const now = process.hrtime.bigint();
    const out: ConnectionEntry[] = [];
    for (const [k, v] of conns.entries(this.options.connTableSize ?? VSD_CONN_MAX_DEFAULT)) {
      const c = decodeConn(v);
      const owner = this.byIndex.get(c.dest);
      if (!owner || owner.dest.gen !== c.gen) continue;
      const key = decodeConnKey(k);
      const tcp = key.protocol === IPPROTO_TCP;
      const idle = Number((now - c.seenNs) / 1_000_000_000n);
      if (idle > (tcp ? this.timeouts.tcp : this.timeouts.udp)) continue;
      out.push({
        protocol: tcp ? 'TCP' : 'UDP',
        expires: Math.max(0, (tcp ? this.timeouts.tcp : this.timeouts.udp) - idle),
        state: tcp ? 'ESTABLISHED' : 'UDP',
        client: key.client,
        virtual: key.virtual,
        destination: { address: owner.dest.sched.address, port: owner.dest.sched.port },
      });
    }
    return out;
  }

  async setTimeouts(timeouts: Timeouts): Promise<void> {
    this.timeouts = { ...timeouts };
  }

  async zero(key?: string): Promise<void> {
    const program = this.need();
    const stats = program.map('vsd_stats');
    for (const st of this.services.values()) {
      if (key !== undefined && st.key !== key) continue;
      st.base = sumCounters(stats.lookup(u32Key(st.id)));
      st.stats.zero();
      for (const ds of st.dests.values()) {
        ds.base = sumCounters(stats.lookup(u32Key(VSD_MAX_SERVICES + ds.index)));
        ds.stats.zero();
      }
    }
  }

  async info(): Promise<DataplaneInfo> {
    return {
      version: IPVS_VERSION,
      connTableSize: this.options.connTableSize ?? VSD_CONN_MAX_DEFAULT,
      engine: `xdp ${this.mode ?? 'unattached'} on ${this.options.iface}`,
    };
  }

  async close(drainMs = 0): Promise<void> {
    if (this.program && drainMs > 0) await this.drain(this.program, drainMs);
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.neighbourTimer) clearInterval(this.neighbourTimer);
    this.statsTimer = this.neighbourTimer = undefined;
    this.sockets.v4?.close();
    this.sockets.v6?.close();
    this.sockets = { v4: null, v6: null };
    this.program?.close();
    this.program = null;
    this.log.info('xdp program detached');
  }

  /**
   * No new flows (every destination unavailable), while flows already in the table keep being forwarded, until none
   * has been seen for IDLE_MS or `drainMs` passes: the program has no connection state to wait for, only last-seen
   * times (refreshed once a second).
   */
  private async drain(program: XdpProgram, drainMs: number): Promise<void> {
    const dests = program.map('vsd_dests');
    for (const st of this.services.values())
      for (const ds of st.dests.values()) {
        if (!ds.written || ds.written[24] === 0) continue;
        const value = Buffer.from(ds.written);
        value[24] = 0;
        dests.update(u32Key(ds.index), value);
        ds.written = value;
      }
    const deadline = Date.now() + drainMs;
    const started = Date.now();
    while (Date.now() < deadline && this.lastFlowAgeMs(program) < IDLE_MS)
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(250, deadline - Date.now()))));
    this.log.info({ drainMs, waitedMs: Date.now() - started }, 'xdp drain over');
  }

  /** Milliseconds since the most recently seen flow of a current destination (Infinity: none). */
  private lastFlowAgeMs(program: XdpProgram): number {
    const conns = program.map('vsd_conns');
    let newest = -1n;
    for (const [, v] of conns.entries(this.options.connTableSize ?? VSD_CONN_MAX_DEFAULT)) {
      const c = decodeConn(v);
      const owner = this.byIndex.get(c.dest);
      if (owner && owner.dest.gen === c.gen && c.seenNs > newest) newest = c.seenNs;
    }
    return newest < 0n ? Infinity : Number((process.hrtime.bigint() - newest) / 1_000_000n);
  }

  private need(): XdpProgram {
    if (!this.program) throw new XdpLoadError(this.options.iface, 'load', 'the xdp dataplane is not started');
    return this.program;
  }
}

function plainSchedDest(key: string, address: string, port: number): SchedDest {
  return {
    key,
    address,
    port,
    addrFold: foldAddress(address),
    weight: 0,
    activeConns: 0,
    inactiveConns: 0,
    persistConns: 0,
    upperThreshold: 0,
    lowerThreshold: 0,
    overloaded: false,
  };
}

/**
 * bpf_fib_lookup refuses (FWD_DISABLED) unless forwarding is on for the interface the packets arrive on, as an
 * IPVS director needs ip_forward for its own reasons; only that interface's flag is turned on.
 */
function enableForwarding(iface: string, family: 'ipv4' | 'ipv6', log: Logger): void {
  const path = `/proc/sys/net/${family}/conf/${iface}/forwarding`;
  try {
    if (readFileSync(path, 'utf8').trim() === '1') return;
    writeFileSync(path, '1\n');
    log.info({ sysctl: `net.${family}.conf.${iface}.forwarding`, value: 1 }, 'forwarding turned on for the xdp interface (bpf_fib_lookup needs it)');
  } catch (err) {
    throw new XdpLoadError(iface, 'config', `cannot turn on net.${family}.conf.${iface}.forwarding, which bpf_fib_lookup needs: ${(err as Error).message}`);
  }
}

/** The interface's first IPv4 address, or null. */
export function interfaceIPv4(iface: string): string | null {
  const addrs = networkInterfaces()[iface] ?? [];
  return addrs.find((a) => a.family === 'IPv4')?.address ?? null;
}
