import { isFwmark, type ServiceId } from '../../model/schema.js';

/**
 * Why the proxy dataplane cannot serve a virtual service (it then ignores it with a warning), or null when it can.
 * One rule for the dataplane and for `vsd --check`, so the check refuses exactly what the proxy would ignore.
 */
export function proxyIgnoreReason(s: ServiceId): string | null {
  if (isFwmark(s)) return 'firewall-mark services need the kernel (use the ipvs dataplane)';
  if (s.protocol === 'sctp') return 'SCTP is not proxied (use the ipvs dataplane)';
  if (s.port === 0) return 'a port-0 (all ports) service cannot be listened on (use the ipvs dataplane)';
  return null;
}
