/** The public contract of a VRRP instance: what the vsd daemon and vsctl program against. */
import type { Logger } from '@vsd/core';
import type { HaConfig } from './config.js';
import type { Announcer } from './io/announce.js';
import type { netlink } from '@vsd/core';
import type { VipLedger } from './io/vip-ledger.js';
import type { OpenVmac } from './io/vmac.js';
import type { VrrpTransport, VrrpTransportOptions } from './io/vrrp-socket.js';
import type { NotifyRunner } from './notify.js';
import type { MasterGate } from './witness/witness.js';
import type { Family } from './vrrp/addr.js';
import type { Timers, Transition } from './vrrp/state-machine.js';
import type { VrrpCounters, VrrpStatus } from '@vsd/protocol';
export type { VrrpCounters, VrrpStatus };

export interface InterfaceInfo {
  ifindex: number;
  /** IPv4: primary address; IPv6: link-local address. */
  primary: string;
}

export interface VrrpInstanceDeps {
  logger?: Logger;
  timers?: Timers;
  openTransport?: (options: VrrpTransportOptions) => VrrpTransport;
  addresses?: netlink.AddressManager;
  openAnnouncer?: (ifname: string, ifindex: number) => Announcer;
  interfaceInfo?: (ifname: string, family: Family, exclude: readonly string[]) => InterfaceInfo;
  linkUp?: (ifname: string) => Promise<boolean> | boolean;
  runCommand?: (command: string, args: string[], timeoutMs: number) => Promise<number>;
  notify?: NotifyRunner;
  /** Where VIPs and vmac interfaces are recorded for the exit handlers; default the process's. */
  ledger?: VipLedger;
  /** Creates the use_vmac macvlan; tests pass a fake. */
  openVmac?: OpenVmac;
  /** The split-brain guard's gate for this instance's vrid (Witness.gate); absent: no guard. */
  gate?: MasterGate;
}

export interface VrrpInstance {
  start(): Promise<void>;
  /** Priority-0 advert if master, VIPs removed, sockets closed. */
  stop(): Promise<void>;
  /** Master gives up now (vsctl failover); true if it was master. */
  resign(): boolean;
  /** Backup becomes master now (vsctl takeover); true if it was backup. */
  takeover(): boolean;
  /** Ends a resign/takeover hold. */
  release(): void;
  status(): VrrpStatus;
  /** Returns an unsubscribe function. */
  onStateChange(listener: (t: Transition) => void): () => void;
  /** Called after VIPs were added (entering MASTER) or removed, with the VIPs now held. Returns an unsubscribe. */
  onVipsChange(listener: (held: string[]) => void): () => void;
  /** Resolves once the VIP additions/removals queued so far are done. */
  settled(): Promise<void>;
  /**
   * Hold the instance in FAULT (fault true) for a reason outside its own trackers, or end that hold. A sync group
   * uses it so that one member's FAULT puts the others in FAULT too. Several sources add up.
   */
  setExternalFault(source: string, fault: boolean): void;
  /**
   * Apply a reloaded config without leaving the current state (see instance.ts); resolves with the vsd.yaml keys
   * that changed (`preempt_delay`, not `preemptDelayMs`). Throws HaReloadError, changing nothing, when the VRID,
   * interface, version, VIP family or unicast source/mode differ.
   */
  reconfigure(next: HaConfig): Promise<string[]>;
  /** Called when a BACKUP learns which address is MASTER (first advert, or another master). Returns an unsubscribe. */
  onMasterChange(listener: (master: string) => void): () => void;
  /** Called when the instance's own trackers start or stop failing. Returns an unsubscribe. */
  onFaultChange(listener: (ownFault: boolean) => void): () => void;
}
