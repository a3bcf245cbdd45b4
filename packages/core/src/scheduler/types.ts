/**
 * The scheduler contract shared by every IPVS scheduler and every dataplane that schedules in userspace.
 *
 * A scheduler sees the destinations (real servers) of one virtual service in the kernel's list order
 * (most recently added first, as `list_add_rcu` leaves `svc->destinations`). The dataplane owns the
 * connection counters and the overload flag; the scheduler only reads them, so a pick allocates nothing.
 */

/** Service flags that change scheduler behaviour (IP_VS_SVC_F_SCHED1..3). */
export type SchedFlag = 'sh-fallback' | 'sh-port' | 'mh-fallback' | 'mh-port' | 'flag-1' | 'flag-2' | 'flag-3';

/** One destination as a scheduler sees it. Mutable counters are updated in place by the dataplane. */
export interface SchedDest {
  /** Stable identity, "ADDR:PORT" (IPv6 in brackets). */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** The address folded to an unsigned 32-bit integer in host order: IPv4 as is, IPv6 as the XOR of its four words. */
  readonly addrFold: number;
  /** Effective weight (configured x health x agent feedback). 0 = quiesced: never picked for new connections. */
  weight: number;
  activeConns: number;
  inactiveConns: number;
  /** Persistence templates pointing at this destination (shown by `--persistent-conn`). */
  persistConns: number;
  /** 0 = no limit. */
  upperThreshold: number;
  lowerThreshold: number;
  /** IP_VS_DEST_F_OVERLOAD, maintained by {@link bindConnection}/{@link unbindConnection}. */
  overloaded: boolean;
  /**
   * When several threads schedule copies of this destination: the destination with every thread's connections
   * counted (./shared-counts.ts), which thresholds compare and schedulers are given.
   */
  readonly shared?: SchedDest;
}

/** The packet fields a scheduler may hash on, addresses folded as in {@link SchedDest.addrFold}. Reused by callers. */
export interface SchedPacket {
  saddr: number;
  sport: number;
  daddr: number;
  dport: number;
}

/**
 * A cell of shared memory holding a scheduler's position, for a service scheduled by copies of its scheduler in
 * several threads (the proxy's epoll engine threads): rr and wrr read and advance it with compare-and-swap on every
 * pick, so the copies make one sequence, as the kernel's one instance under its lock does.
 */
export interface SharedPosition {
  cells: Int32Array;
  index: number;
}

export interface SchedulerOptions {
  flags?: readonly SchedFlag[];
  /** rr, wrr: keep the position here instead of in the instance (others ignore it). */
  shared?: SharedPosition;
  /** Clock in milliseconds, for the expiring tables of lblc/lblcr. */
  now?: () => number;
  /** Uniform random in [0, 1), for twos. */
  random?: () => number;
  /** lblc/lblcr: sysctl lblc_expiration / lblcr_expiration in milliseconds (default 24 h). */
  expiration?: number;
  /** dh: CONFIG_IP_VS_DH_TAB_BITS (1..20, default 8). */
  dhTabBits?: number;
  /** sh: CONFIG_IP_VS_SH_TAB_BITS (4..20, default 8). */
  shTabBits?: number;
  /** mh: CONFIG_IP_VS_MH_TAB_INDEX (8..17, default 12 = a 4093-slot table). */
  mhTabIndex?: number;
}

export interface Scheduler {
  readonly name: string;
  /**
   * Called whenever the destination list or a weight/threshold changes (the kernel's add_dest/del_dest/upd_dest).
   * The array is kept by reference until the next update; its order is the kernel's list order.
   */
  update(dests: readonly SchedDest[]): void;
  /** Choose a destination for a new connection, or null when none is available ("no destination available"). */
  pick(packet: SchedPacket): SchedDest | null;
  /** Stop watching the destinations (schedulers that index them); call when the scheduler is replaced. */
  close?(): void;
}

export type SchedulerFactory = (options: SchedulerOptions) => Scheduler;
