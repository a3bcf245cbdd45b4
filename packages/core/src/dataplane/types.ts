/**
 * The dataplane contract. A dataplane turns the effective service table into forwarding (userspace proxy,
 * kernel IPVS, or nothing) and reports counters and connections back. It holds no state the desired-state
 * document and the weight overlay do not explain: `reconcile` is idempotent and always given the whole table.
 */
import type { DesiredState, ForwardingMethod, RealServer, SyncDaemon, Timeouts, VirtualService } from '../model/schema.js';
import type { Counters, DestStatus, ServiceStatus, ConnectionEntry, DataplaneInfo } from '@vsd/protocol';
export type { Counters, DestStatus, ServiceStatus, ConnectionEntry, DataplaneInfo };

export type DataplaneName = 'proxy' | 'ipvs' | 'xdp' | 'none';

/** A real server as the dataplane must program it. */
export interface DataplaneDest extends RealServer {
  /** "ADDR:PORT" */
  key: string;
  /** configured weight x health x agent feedback; 0 = quiesced (existing connections continue). */
  effectiveWeight: number;
  /** True for the sorry server installed while the service has lost quorum. */
  sorry: boolean;
}

export interface DataplaneService {
  /** serviceKey() of the service. */
  key: string;
  service: VirtualService;
  /** In the order the model keeps them (insertion order); a dataplane needing the kernel's list order reverses it. */
  dests: DataplaneDest[];
}

/** A persistence template (client -> real server), replicated to the standby so a client keeps its real server. */
export interface PersistenceEntry {
  /** serviceKey() */
  service: string;
  /** Client address masked by the service's persistence netmask. */
  client: string;
  /** realServerKey() of the destination. */
  dest: string;
  /** Absolute expiry, ms since the epoch (wall clock, so it means the same on both dispatchers). */
  expiresAt: number;
}

export interface Dataplane {
  readonly name: DataplaneName;
  /** Whether this dataplane can forward with `method`; the control plane refuses the rest with a typed error. */
  supports(method: ForwardingMethod): boolean;
  /** Refuse, with a typed error, a desired state this dataplane cannot serve (beyond forwarding methods). */
  validate?(state: Readonly<DesiredState>): void;
  start(): Promise<void>;
  /** Make forwarding equal to `table`. Called with the whole table after every change. */
  reconcile(table: readonly DataplaneService[]): Promise<void>;
  status(): Promise<ServiceStatus[]>;
  connections(): Promise<ConnectionEntry[]>;
  zero(serviceKey?: string): Promise<void>;
  info(): Promise<DataplaneInfo>;
  setTimeouts?(timeouts: Timeouts): Promise<void>;
  syncDaemons?(daemons: readonly SyncDaemon[]): Promise<void>;
  /** Persistence templates now alive (peer sync reads them). */
  exportPersistence?(): PersistenceEntry[] | Promise<PersistenceEntry[]>;
  /** Install templates learnt from the peer; an existing local entry for the same client is replaced. */
  importPersistence?(entries: readonly PersistenceEntry[]): void;
  /** Stop taking new connections and let existing ones finish, up to `drainMs`; then force-close. */
  close(drainMs?: number): Promise<void>;
}

export function zeroCounters(): Counters {
  return { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
}
