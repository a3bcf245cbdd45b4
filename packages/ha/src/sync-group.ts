/**
 * keepalived's `vrrp_sync_group`: instances that change state together, so a dispatcher never holds the VIP of one
 * service while its other VIP (its other leg, its other family) is on the peer.
 *
 * - FAULT: one member's own FAULT (a failing tracker) holds every other member in FAULT until it clears.
 * - MASTER -> BACKUP (a higher priority heard, `vsctl failover`): the other members that are MASTER resign too.
 * - BACKUP -> MASTER (master down, `vsctl takeover`): the other members that are BACKUP take over too.
 *
 * Members moved by their group carry the hold resign/takeover leaves (so they do not flip back on the next
 * advert); releasing one member releases the group. The group reacts to its members' events only, never to the
 * moves it makes itself.
 */
import { silentLogger, type Logger } from '@vsd/core';
import type { VrrpInstance } from './instance-api.js';
import type { Transition } from './vrrp/state-machine.js';

export class SyncGroup {
  private readonly unsubscribe: Array<() => void> = [];
  private moving = false;
  private readonly log: Logger;

  constructor(
    readonly name: string,
    private readonly members: ReadonlyMap<string, VrrpInstance>,
    logger: Logger = silentLogger,
  ) {
    this.log = logger.child({ component: 'vrrp', syncGroup: name });
  }

  get source(): string {
    return `sync_group:${this.name}`;
  }

  memberNames(): string[] {
    return [...this.members.keys()];
  }

  has(instance: string): boolean {
    return this.members.has(instance);
  }

  /** Follow the members' transitions and tracker faults. */
  attach(): void {
    for (const [name, inst] of this.members) {
      this.unsubscribe.push(inst.onStateChange((t) => this.onTransition(name, t)));
      this.unsubscribe.push(inst.onFaultChange(() => this.syncFaults()));
    }
    this.syncFaults();
  }

  /**
   * Stop following the members. `clearFaults: false` leaves the FAULT holds in place for a successor group of the
   * same name to take over (a reload rebuilds the groups; clearing first would flap a held member out of FAULT and back).
   */
  detach(clearFaults = true): void {
    for (const u of this.unsubscribe.splice(0)) u();
    if (clearFaults) for (const inst of this.members.values()) inst.setExternalFault(this.source, false);
  }

  /** The members it would hold (for a reload: whose holds a successor group does not cover). */
  memberInstances(): VrrpInstance[] {
    return [...this.members.values()];
  }

  /** `vsctl release` on one member ends the holds of the whole group. */
  release(): void {
    for (const inst of this.members.values()) inst.release();
  }

  private syncFaults(): void {
    const faulty = [...this.members].filter(([, inst]) => inst.status().ownFault).map(([n]) => n);
    for (const [name, inst] of this.members) {
      const others = faulty.filter((n) => n !== name);
      inst.setExternalFault(this.source, others.length > 0);
    }
  }

  private onTransition(name: string, t: Transition): void {
    if (this.moving) return;
    const follow = t.from === 'MASTER' && t.to === 'BACKUP' ? 'resign' : t.from === 'BACKUP' && t.to === 'MASTER' ? 'takeover' : null;
    if (!follow) return;
    this.moving = true;
    try {
      const moved: string[] = [];
      for (const [other, inst] of this.members) {
        if (other === name) continue;
        if (inst[follow]()) moved.push(other);
      }
      if (moved.length) this.log.info({ instance: name, from: t.from, to: t.to, reason: t.reason, moved }, `sync group: members follow to ${t.to}`);
    } finally {
      this.moving = false;
    }
  }
}
