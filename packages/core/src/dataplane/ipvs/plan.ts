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
import { serviceIdOf, serviceKey } from '../../model/keys.js';
import type { DataplaneDest, DataplaneService } from '../types.js';
import { schedFlagNames, serviceFlags, type DestSpec, type KernelDest, type KernelService } from './codec.js';
import { zeroCounters } from '../types.js';
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

function destMatchesWanted(d: DataplaneDest, have: KernelDest): boolean {
  if (d.forwarding !== have.forwarding || d.effectiveWeight !== have.weight) return false;
  if (d.upperThreshold !== have.upperThreshold || d.lowerThreshold !== have.lowerThreshold) return false;
  return d.forwarding !== 'tunnel' || destMatches(destSpec(d), have);
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
    for (const op of planDests(id, s.dests, k.dests)) ops.push(op);
  }
  return ops;
}

function sameInOrder(want: readonly DataplaneDest[], have: readonly KernelDest[]): boolean {
  if (want.length !== have.length) return false;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.address !== h.address || w.port !== h.port || !destMatchesWanted(w, h)) return false;
  }
  return true;
}

function planDests(id: IpvsOp['service'], want: readonly DataplaneDest[], have: readonly KernelDest[]): IpvsOp[] {
  // Fast path without allocation: the cached view keeps the model's order, so an unchanged service
  // compares element by element (a fresh kernel dump is in reverse order and takes the map path).
  if (sameInOrder(want, have)) return [];
  const ops: IpvsOp[] = [];
  // DataplaneDest.key is realServerKey(); kernel dests get the same "ADDR:PORT" / "[ADDR]:PORT" text.
  const haveByKey = new Map(have.map((d) => [d.family === 'inet6' ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`, d]));
  const wantKeys = new Set(want.map((d) => d.key));
  for (const [key, d] of haveByKey) if (!wantKeys.has(key)) ops.push({ op: 'deleteDest', service: id, dest: { address: d.address, port: d.port } });
  for (const d of want) {
    const k = haveByKey.get(d.key);
    if (!k) ops.push({ op: 'addDest', service: id, dest: destSpec(d) });
    else if (!destMatchesWanted(d, k)) ops.push({ op: 'editDest', service: id, dest: destSpec(d) });
  }
  return ops;
}

/** The entry the kernel reports once `s` is programmed (counters zero): the cached view after a successful apply. */
export function expectedKernelEntry(s: DataplaneService): KernelEntry {
  const svc = s.service;
  const family = serviceFamily(svc);
  const flags = serviceFlags(svc);
  return {
    service: {
      id: serviceIdOf(svc),
      scheduler: svc.scheduler,
      schedFlags: schedFlagNames(flags, svc.scheduler),
      persistence: { timeout: svc.persistence.timeout, netmask: svc.persistence.netmask ?? (family === 'inet6' ? 128 : 32) },
      pe: svc.pe ?? null,
      onePacket: svc.onePacket,
      flags,
      counters: zeroCounters(),
    },
    dests: s.dests.map((d) => {
      const spec = destSpec(d);
      return {
        ...spec,
        family: d.address.includes(':') ? ('inet6' as const) : ('inet' as const),
        activeConns: 0,
        inactiveConns: 0,
        persistConns: 0,
        counters: zeroCounters(),
      };
    }),
  };
}
