/**
 * The fewest IPVS operations that make the kernel table equal to the desired one.
 *
 * Pre-existing kernel entries are adopted, not replaced: a kernel service with the identity of a desired
 * one is edited in place (SET_SERVICE) only where it differs, and likewise its dests. Deleting and
 * re-adding would drop the service's counters and orphan its connection entries, so a vsd restart
 * (or a takeover of a table ipvsadm/keepalived left behind) must not interrupt traffic. Kernel services
 * vsd does not know are deleted by default: vsd owns the IPVS table of its network namespace, as
 * `ipvsadm-restore` does (`removeUnknown: false` keeps them, for sharing a table with another manager).
 */
import { serviceFamily } from '../../model/schema.js';
import { serviceIdOf, serviceKey, realServerKey } from '../../model/keys.js';
import type { DataplaneDest, DataplaneService } from '../types.js';
import { serviceFlags, type DestSpec, type KernelDest, type KernelService } from './codec.js';
import type { IpvsOp } from './client.js';

export interface KernelEntry {
  service: KernelService;
  dests: KernelDest[];
}

export interface PlanOptions {
  removeUnknown?: boolean;
}

export function destSpec(d: DataplaneDest): DestSpec {
  return {
    address: d.address,
    port: d.port,
    forwarding: d.forwarding,
    weight: d.effectiveWeight,
    upperThreshold: d.upperThreshold,
    lowerThreshold: d.lowerThreshold,
    tunnel: d.forwarding === 'tunnel' ? (d.tunnel ?? { type: 'ipip', port: 0, csum: 'nocsum' }) : null,
  };
}

export function serviceMatches(want: DataplaneService['service'], have: KernelService): boolean {
  const full = serviceFamily(want) === 'inet6' ? 128 : 32;
  const persistent = want.persistence.timeout > 0;
  return (
    want.scheduler === have.scheduler &&
    serviceFlags(want) === have.flags &&
    (!persistent || want.persistence.timeout === have.persistence.timeout) &&
    (want.persistence.netmask ?? full) === have.persistence.netmask &&
    (want.pe ?? null) === have.pe
  );
}

export function destMatches(want: DestSpec, have: KernelDest): boolean {
  if (want.forwarding !== have.forwarding) return false;
  if (want.weight !== have.weight || want.upperThreshold !== have.upperThreshold || want.lowerThreshold !== have.lowerThreshold) return false;
  if (want.forwarding !== 'tunnel') return true;
  const w = want.tunnel!;
  const h = have.tunnel;
  return !!h && w.type === h.type && w.port === h.port && w.csum === h.csum;
}

export function planReconcile(desired: readonly DataplaneService[], kernel: readonly KernelEntry[], opts: PlanOptions = {}): IpvsOp[] {
  const ops: IpvsOp[] = [];
  const have = new Map(kernel.map((k) => [serviceKey(k.service.id), k]));
  const wanted = new Set(desired.map((s) => s.key));
  if (opts.removeUnknown ?? true) {
    for (const [key, k] of have) if (!wanted.has(key)) ops.push({ op: 'deleteService', service: k.service.id });
  }
  for (const s of desired) {
    const k = have.get(s.key);
    const id = serviceIdOf(s.service);
    if (!k) {
      ops.push({ op: 'addService', service: s.service });
      for (const d of s.dests) ops.push({ op: 'addDest', service: id, dest: destSpec(d) });
      continue;
    }
    if (!serviceMatches(s.service, k.service)) ops.push({ op: 'editService', service: s.service });
    ops.push(...planDests(id, s.dests, k.dests));
  }
  return ops;
}

function planDests(id: IpvsOp['service'], want: readonly DataplaneDest[], have: readonly KernelDest[]): IpvsOp[] {
  const ops: IpvsOp[] = [];
  const haveByKey = new Map(have.map((d) => [realServerKey(d), d]));
  const wantKeys = new Set(want.map((d) => realServerKey(d)));
  for (const [key, d] of haveByKey) if (!wantKeys.has(key)) ops.push({ op: 'deleteDest', service: id, dest: { address: d.address, port: d.port } });
  for (const d of want) {
    const spec = destSpec(d);
    const k = haveByKey.get(realServerKey(d));
    if (!k) ops.push({ op: 'addDest', service: id, dest: spec });
    else if (!destMatches(spec, k)) ops.push({ op: 'editDest', service: id, dest: spec });
  }
  return ops;
}
