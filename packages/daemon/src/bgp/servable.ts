/**
 * Whether this dispatcher can serve a VIP: some virtual service on that address has a real server with an
 * effective weight above 0 (health, agents and vsadm weights applied; a service on its sorry server counts as
 * not servable: the router should prefer a dispatcher whose real servers are up).
 */
import { canonicalAddress, isFwmark, realServers, serviceKey, type StateStore, type WeightOverlay } from '@vsd/core';

export interface Servability {
  servable: boolean;
  /** Why not (or what serves it), for the status and the log. */
  reason: string;
}

export function servability(deps: { store: StateStore; overlay: WeightOverlay }, vips: readonly string[]): Map<string, Servability> {
  const views = new Map(realServers(deps).services.map((s) => [s.key, s]));
  const out = new Map<string, Servability>();
  for (const vip of vips) {
    let services = 0;
    let total = 0;
    let live = 0;
    for (const svc of deps.store.state.services) {
      if (isFwmark(svc) || canonicalAddress(svc.address) !== vip) continue;
      services++;
      for (const rs of views.get(serviceKey(svc))?.realServers ?? []) {
        total++;
        if (rs.effectiveWeight > 0) live++;
      }
    }
    if (services === 0) out.set(vip, { servable: false, reason: 'no virtual service on this address' });
    else if (live === 0) out.set(vip, { servable: false, reason: `no real server with weight > 0 (${total} in ${services} service(s))` });
    else out.set(vip, { servable: true, reason: `${live} of ${total} real server(s) with weight > 0 in ${services} service(s)` });
  }
  return out;
}

/** The default VIP list: the addresses of the configured (non-fwmark) virtual services, each once. */
export function configuredVips(services: ReadonlyArray<Parameters<typeof isFwmark>[0]>): string[] {
  const vips = new Set<string>();
  for (const s of services) if (!isFwmark(s)) vips.add(canonicalAddress(s.address) ?? s.address);
  return [...vips];
}
