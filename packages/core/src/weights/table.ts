import type { DataplaneService } from '../dataplane/types.js';
import { realServerKey, serviceKey } from '../model/keys.js';
import type { DesiredState } from '../model/schema.js';
import { effectiveWeight, type WeightOverlay } from './overlay.js';

/** The table a dataplane must program: desired state with effective weights, removals and sorry servers applied. */
export function buildTable(state: Readonly<DesiredState>, overlay: WeightOverlay): DataplaneService[] {
  return state.services.map((service) => {
    const key = serviceKey(service);
    const sorry = overlay.sorryServer(key);
    if (sorry) {
      return { key, service, dests: [{ ...sorry, key: realServerKey(sorry), effectiveWeight: sorry.weight, sorry: true }] };
    }
    const dests = [];
    for (const rs of service.realServers) {
      const rsKey = realServerKey(rs);
      const v = overlay.view(key, rsKey);
      if (v.removed) continue;
      dests.push({ ...rs, key: rsKey, effectiveWeight: effectiveWeight(rs.weight, v.factor), sorry: false });
    }
    return { key, service, dests };
  });
}
