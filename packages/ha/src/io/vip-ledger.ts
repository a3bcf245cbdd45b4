/**
 * What this process has configured on the host's interfaces (VIPs, use_vmac interfaces), so that every exit path
 * that still runs code can take it back synchronously: an uncaught exception, an unhandled rejection, a stop that
 * hangs past its deadline, process.exit(). Only SIGKILL (and a kernel panic) escape it; for those the systemd unit's
 * ExecStopPost (`vsd cleanup-vips`) and the next start's leftover sweep remain (docs/ARCHITECTURE.md, "Stale VIPs").
 */
import { netlink, SyscallError } from '@vsd/core';

export interface LedgerRelease {
  removed: string[];
  links: string[];
  errors: string[];
}

export interface LedgerOps {
  removeAddresses: typeof netlink.removeAddressesSync;
  deleteLink: typeof netlink.deleteLinkSync;
}

export class VipLedger {
  private readonly addresses = new Map<string, { vip: string; ifindex: number }>();
  private readonly linkNames = new Set<string>();

  constructor(private readonly ops: LedgerOps = { removeAddresses: netlink.removeAddressesSync, deleteLink: netlink.deleteLinkSync }) {}

  addAddress(vip: string, ifindex: number): void {
    this.addresses.set(`${ifindex} ${vip}`, { vip, ifindex });
  }
  removeAddress(vip: string, ifindex: number): void {
    this.addresses.delete(`${ifindex} ${vip}`);
  }
  addLink(name: string): void {
    this.linkNames.add(name);
  }
  removeLink(name: string): void {
    this.linkNames.delete(name);
  }
  get size(): number {
    return this.addresses.size + this.linkNames.size;
  }

  /** Remove everything recorded, now, without the event loop. Never throws: it runs on the way out. */
  releaseAllSync(): LedgerRelease {
    const out: LedgerRelease = { removed: [], links: [], errors: [] };
    const entries = [...this.addresses.values()];
    this.addresses.clear();
    try {
      const r = this.ops.removeAddresses(entries);
      out.removed.push(...r.removed);
      out.errors.push(...r.errors.map((e) => new SyscallError('RTM_DELADDR', e.errno, { vip: e.vip }).message));
    } catch (err) {
      out.errors.push((err as Error).message);
    }
    // Deleting the interface also deletes the addresses on it.
    for (const name of this.linkNames) {
      try {
        if (this.ops.deleteLink(name)) out.links.push(name);
      } catch (err) {
        out.errors.push((err as Error).message);
      }
    }
    this.linkNames.clear();
    return out;
  }
}

/** The process's ledger: every VRRP instance records into it unless given another (tests). */
export const processVipLedger = new VipLedger();
