/**
 * What a listing shows, joined from the desired state (configuration) and the dataplane status (counters and
 * connection counts), in ipvsadm's order: sorted as libipvs sorts, or in the kernel's order with --nosort.
 */
import {
  addressBytes,
  familyOf,
  isFwmark,
  realServerKey,
  serviceKey,
  zeroCounters,
  type Counters,
  type DesiredState,
  type RealServer,
  type ServiceStatus,
  type VirtualService,
} from '@vsd/core';

export interface DestView {
  rs: RealServer;
  activeConns: number;
  inactiveConns: number;
  persistConns: number;
  counters: Counters;
}

export interface ServiceView {
  svc: VirtualService;
  counters: Counters;
  dests: DestView[];
}

/** What the dataplane runs for a real server (/v1/realservers), when it differs from the configuration. */
export interface Effective {
  effectiveWeight: number;
  removed: boolean;
}

/**
 * `effective` (keyed "serviceKey|realServerKey") makes the listing show what the dataplane runs, as ipvsadm
 * shows the kernel's table: weights after health and agent feedback, removed real servers left out.
 */
export function buildView(
  state: Pick<DesiredState, 'services'>,
  status: readonly ServiceStatus[],
  nosort: boolean,
  effective?: ReadonlyMap<string, Effective>,
): ServiceView[] {
  const byKey = new Map(status.map((s) => [s.key, s]));
  const views = state.services.map((svc): ServiceView => {
    const key = serviceKey(svc);
    const st = byKey.get(key);
    const destStatus = new Map((st?.dests ?? []).map((d) => [d.key, d]));
    const running = svc.realServers.filter((rs) => !effective?.get(`${key}|${realServerKey(rs)}`)?.removed);
    const dests = running.map((rs): DestView => {
      const d = destStatus.get(realServerKey(rs));
      const eff = effective?.get(`${key}|${realServerKey(rs)}`);
      return {
        rs: eff ? { ...rs, weight: eff.effectiveWeight } : rs,
        activeConns: d?.activeConns ?? 0,
        inactiveConns: d?.inactiveConns ?? 0,
        persistConns: d?.persistConns ?? 0,
        counters: d?.counters ?? zeroCounters(),
      };
    });
    // The kernel adds a destination at the head of its list: --nosort shows the newest first.
    if (nosort) dests.reverse();
    else dests.sort(compareDests);
    return { svc, counters: st?.counters ?? zeroCounters(), dests };
  });
  if (!nosort) views.sort((a, b) => compareServices(a.svc, b.svc));
  return views;
}

/** libipvs subtracts unsigned 32-bit words into an int: differences of 2^31 or more change sign. */
function diff32(a: number, b: number): number {
  return (a - b) | 0;
}

function words(address: string): number[] {
  const b = addressBytes(address);
  const out: number[] = [];
  for (let i = 0; i < b.length; i += 4) out.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
  return out;
}

function compareAddresses(a: string, b: string): number {
  const wa = words(a);
  const wb = words(b);
  if (wa.length === 1 || wb.length === 1) return diff32(wa[0]!, wb[0]!);
  for (let i = 0; i < 4; i++) {
    const r = diff32(wa[i]!, wb[i]!);
    if (r) return r;
  }
  return 0;
}

function compareDests(a: DestView, b: DestView): number {
  return compareAddresses(a.rs.address, b.rs.address) || a.rs.port - b.rs.port;
}

const AF = { inet: 2, inet6: 10 } as const;
const PROTO = { tcp: 6, udp: 17, sctp: 132 } as const;

function compareServices(a: VirtualService, b: VirtualService): number {
  const fa = isFwmark(a) ? a.fwmark : 0;
  const fb = isFwmark(b) ? b.fwmark : 0;
  const famA = isFwmark(a) ? a.family : familyOf(a.address);
  const famB = isFwmark(b) ? b.family : familyOf(b.address);
  const r = diff32(fa, fb) || AF[famA] - AF[famB];
  if (r) return r;
  if (isFwmark(a) || isFwmark(b)) return 0;
  return PROTO[a.protocol] - PROTO[b.protocol] || compareAddresses(a.address, b.address) || a.port - b.port;
}
