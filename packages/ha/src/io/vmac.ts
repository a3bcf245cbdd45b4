/**
 * `use_vmac`: a macvlan over the VRRP interface carrying the RFC 5798 virtual MAC, for the VIPs and their GARP/NA,
 * as keepalived and FRR do. Clients and switches that ignore gratuitous ARP keep a neighbour entry that stays right
 * across a failover: the MAC moves with the VIP. Adverts stay on the parent interface (keepalived's vmac_xmit_base),
 * so unicast peers work and the receive path is the same with and without a vmac.
 *
 * The IPv4 sysctls are keepalived's: on the macvlan arp_ignore=1 (answer only for addresses on it), accept_local=1,
 * rp_filter=0 (client packets arrive on the macvlan while the route back may be the parent's), promote_secondaries=1;
 * on the parent arp_ignore=1 and arp_filter=1 so it does not answer for the VIP with its own MAC, and (beyond
 * keepalived) arp_announce=2: replies to clients leave through the parent, and the ARP request it sends for a
 * client would otherwise carry the VIP as sender with the parent's MAC, re-pointing the client's entry for the VIP
 * at the real MAC (seen in test/netns/vrrp-faults.test.ts). All restored on close.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { netlink, sys, type Logger } from '@vsd/core';
import type { VipLedger } from './vip-ledger.js';

export interface VmacOptions {
  name: string;
  parent: string;
  parentIndex: number;
  mac: Buffer;
  mode: 'private' | 'bridge';
  family: 4 | 6;
}

export interface VmacLink {
  readonly name: string;
  readonly ifindex: number;
  close(): void;
}

export type OpenVmac = (options: VmacOptions, ledger: VipLedger, log: Logger) => VmacLink;

const conf = (ifname: string, key: string) => `/proc/sys/net/ipv4/conf/${ifname}/${key}`;

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Parent sysctls changed for vmacs of this process: restored when the last vmac over that parent closes. */
const parentChanges = new Map<string, { users: number; original: string | undefined }>();

/**
 * Set a sysctl unless it already has the value. A failure (a read-only /proc/sys under systemd's
 * ProtectKernelTunables, no CAP_NET_ADMIN) is logged with what to set by hand, not fatal: the vmac still works,
 * but the parent may answer ARP for the VIP with its own MAC as well.
 */
function setSysctl(path: string, value: string, log: Logger): boolean {
  if (readSysctl(path) === value) return true;
  try {
    writeFileSync(path, value);
    return true;
  } catch (err) {
    const name = path.replace('/proc/sys/', '').replaceAll('/', '.');
    log.error(
      { sysctl: name, value, err: (err as Error).message },
      `cannot set ${name}=${value} for use_vmac; set it in /etc/sysctl.d (or allow vsd to write sysctls)`,
    );
    return false;
  }
}

function claimParentSysctl(path: string, value: string, log: Logger): void {
  const held = parentChanges.get(path);
  if (held) {
    held.users++;
    return;
  }
  const original = readSysctl(path);
  const changed = original !== undefined && original !== value && setSysctl(path, value, log);
  parentChanges.set(path, { users: 1, original: changed ? original : undefined });
}

function releaseParentSysctl(path: string): void {
  const held = parentChanges.get(path);
  if (!held || --held.users > 0) return;
  parentChanges.delete(path);
  try {
    if (held.original !== undefined) writeFileSync(path, held.original);
  } catch {
    // The parent may be gone; nothing to restore then.
  }
}

export const openVmac: OpenVmac = (o, ledger, log) => {
  // A link of that name is ours from an earlier run (SIGKILL before cleanup): its addresses go with it.
  if (netlink.deleteLinkSync(o.name)) log.warn({ vmac: o.name }, 'removed a leftover vmac interface of an earlier run');
  ledger.addLink(o.name);
  netlink.createMacvlanSync({ name: o.name, parent: o.parentIndex, mac: o.mac, mode: o.mode });
  const ifindex = sys.ifIndex(o.name);
  // No EUI-64 link-local from the shared virtual MAC (a duplicate on the segment; the BACKUP's would also make
  // switches learn the virtual MAC on its port). Absent when IPv6 is disabled.
  // Absent when IPv6 is disabled: nothing is generated then.
  if (readSysctl(`/proc/sys/net/ipv6/conf/${o.name}/addr_gen_mode`) !== undefined) setSysctl(`/proc/sys/net/ipv6/conf/${o.name}/addr_gen_mode`, '1', log);
  const claimed: string[] = [];
  if (o.family === 4) {
    for (const [k, v] of [
      ['arp_ignore', '1'],
      ['accept_local', '1'],
      ['rp_filter', '0'],
      ['promote_secondaries', '1'],
    ])
      setSysctl(conf(o.name, k), v, log);
    for (const [k, v] of [
      ['arp_ignore', '1'],
      ['arp_filter', '1'],
      ['arp_announce', '2'],
    ]) {
      claimParentSysctl(conf(o.parent, k), v, log);
      claimed.push(conf(o.parent, k));
    }
    if (readSysctl(conf('all', 'rp_filter')) === '1')
      log.warn({ vmac: o.name }, 'net.ipv4.conf.all.rp_filter is 1 (strict): replies to clients may be dropped on the vmac interface; set it to 0 or 2');
  }
  netlink.setLinkUpSync(ifindex, true);
  log.info(
    { vmac: o.name, ifindex, mac: [...o.mac].map((b) => b.toString(16).padStart(2, '0')).join(':'), mode: o.mode, parent: o.parent },
    'vmac interface created',
  );
  let open = true;
  return {
    name: o.name,
    ifindex,
    close() {
      if (!open) return;
      open = false;
      try {
        netlink.deleteLinkSync(o.name);
      } catch (err) {
        log.error({ vmac: o.name, err: (err as Error).message }, 'deleting the vmac interface failed');
      }
      ledger.removeLink(o.name);
      for (const path of claimed) releaseParentSysctl(path);
      log.info({ vmac: o.name }, 'vmac interface deleted');
    },
  };
};
