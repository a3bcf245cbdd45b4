/**
 * `vsd cleanup-vips`: take this node's VIPs (and vmac interfaces) off the host without a running vsd. Run by the
 * systemd unit's ExecStopPost, so a vsd killed with SIGKILL does not leave a second MAC answering ARP for a VIP
 * until it restarts. Idempotent: absent VIPs and interfaces are not errors.
 */
import { netlink, sys, SyscallError } from '@vsd/core';
import { vmacName, type HaConfig } from './config.js';

export interface CleanupResult {
  instance: string;
  interface: string;
  removed: string[];
  links: string[];
  errors: string[];
}

export function cleanupInstanceSync(config: HaConfig): CleanupResult {
  const out: CleanupResult = { instance: config.instance, interface: config.interface, removed: [], links: [], errors: [] };
  const vmac = vmacName(config);
  try {
    if (vmac && netlink.deleteLinkSync(vmac)) out.links.push(vmac);
  } catch (err) {
    out.errors.push((err as Error).message);
  }
  let ifindex: number;
  try {
    ifindex = sys.ifIndex(config.interface);
  } catch {
    // No interface, no address on it.
    return out;
  }
  try {
    const r = netlink.removeAddressesSync(config.vips.map((vip) => ({ vip, ifindex })));
    out.removed.push(...r.removed);
    out.errors.push(...r.errors.map((e) => new SyscallError('RTM_DELADDR', e.errno, { vip: e.vip }).message));
  } catch (err) {
    out.errors.push((err as Error).message);
  }
  return out;
}
