/**
 * ParsedCommand -> the StateOp vsd applies. -E and -e send whole objects, as ipvsadm sends whole service and
 * destination structs: whatever the command line leaves out takes ipvsadm's default, not the current value.
 */
import { netmaskToPrefix, type RealServer, type ServiceId, type StateOp, type SyncDaemon, type VirtualService } from '@vsd/core';
import type { ParsedCommand, ServiceSpec } from './command.js';
import { fail, VsadmExit } from './exit.js';
import { interfaceMtu, syncMaxlen } from './netdev.js';

export function serviceIdOfSpec(svc: ServiceSpec): ServiceId {
  if (svc.fwmark) return { fwmark: svc.fwmark, family: svc.family ?? 'inet' };
  return { protocol: svc.protocol ?? 'tcp', address: svc.address ?? '0.0.0.0', port: svc.port };
}

const SCHED_FLAG_NAMES: Record<string, readonly string[]> = {
  sh: ['sh-fallback', 'sh-port', 'flag-3'],
  mh: ['mh-fallback', 'mh-port', 'flag-3'],
};

/** IP_VS_SVC_F_SCHED1..3 bits -> the model's names for this scheduler. */
export function schedFlagNames(scheduler: string, bits: number): VirtualService['schedFlags'] {
  const names = SCHED_FLAG_NAMES[scheduler] ?? ['flag-1', 'flag-2', 'flag-3'];
  return names.filter((_, i) => bits & (1 << i)) as VirtualService['schedFlags'];
}

function persistenceOf(svc: ServiceSpec): VirtualService['persistence'] {
  const timeout = svc.persistent ? svc.timeout : 0;
  if (svc.family === 'inet6') return svc.netmask === 128 ? { timeout } : { timeout, netmask: svc.netmask };
  if (svc.netmask === 0xffffffff) return { timeout };
  const prefix = netmaskToPrefix(u32ToDotted(svc.netmask));
  // The model keeps a prefix length; a non-contiguous IPv4 mask has none.
  if (prefix === null) throw fail(2, 'illegal virtual server persistent mask specified');
  return { timeout, netmask: prefix };
}

function u32ToDotted(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export function virtualServiceOf(svc: ServiceSpec): VirtualService {
  return {
    ...serviceIdOfSpec(svc),
    scheduler: svc.scheduler,
    schedFlags: schedFlagNames(svc.scheduler, svc.schedFlags),
    persistence: persistenceOf(svc),
    pe: svc.pe || null,
    onePacket: svc.onePacket,
    realServers: [],
  } as VirtualService;
}

export function realServerOf(ce: ParsedCommand): RealServer {
  const d = ce.dest;
  return {
    address: d.address!,
    port: d.port,
    forwarding: d.forwarding,
    weight: d.weight,
    upperThreshold: d.upperThreshold,
    lowerThreshold: d.lowerThreshold,
    tunnel: d.forwarding === 'tunnel' ? { type: d.tunType, port: d.tunPort, csum: d.csum } : null,
  };
}

function daemonOf(ce: ParsedCommand): SyncDaemon {
  const d = ce.daemon;
  // The kernel refuses an interface it does not have; vsd runs on this host (its socket is local).
  const mtu = interfaceMtu(d.mcastInterface);
  if (mtu === null) throw new VsadmExit(255, 'No such device\n');
  return {
    state: d.state,
    mcastInterface: d.mcastInterface,
    syncId: d.syncId,
    maxlen: syncMaxlen(d.state, d.maxlen, mtu, d.group?.includes(':') ?? false),
    ...(d.group ? { group: d.group } : {}),
    ...(d.port ? { port: d.port } : {}),
    ...(d.ttl ? { ttl: d.ttl } : {}),
  };
}

/** The operation for a command that changes state; null for list/save/restore. */
export function buildOp(ce: ParsedCommand): StateOp | null {
  switch (ce.cmd) {
    case 'add-service':
      return { op: 'add-service', service: virtualServiceOf(ce.svc) };
    case 'edit-service':
      return { op: 'edit-service', service: virtualServiceOf(ce.svc) };
    case 'delete-service':
      return { op: 'delete-service', service: serviceIdOfSpec(ce.svc) };
    case 'add-server':
    case 'edit-server':
      return { op: ce.cmd, service: serviceIdOfSpec(ce.svc), server: realServerOf(ce) };
    case 'delete-server':
      return { op: 'delete-server', service: serviceIdOfSpec(ce.svc), server: { address: ce.dest.address!, port: ce.dest.port } };
    case 'flush':
      return { op: 'clear' };
    case 'zero':
      return ce.options.has('service-address') ? { op: 'zero', service: serviceIdOfSpec(ce.svc) } : { op: 'zero' };
    case 'set':
      return { op: 'set-timeouts', timeouts: { ...ce.timeouts } };
    case 'start-daemon':
      return { op: 'start-daemon', daemon: daemonOf(ce) };
    case 'stop-daemon':
      return { op: 'stop-daemon', state: ce.daemon.state };
    default:
      return null;
  }
}
