/**
 * Connection counters and the OVERLOAD flag of a destination, exactly as ip_vs_conn.c and ip_vs_ctl.c keep them.
 *
 * A dataplane that schedules in userspace calls these instead of touching the counters itself, so that the
 * thresholds behave as in the kernel:
 * - ip_vs_bind_dest: count the connection, then set OVERLOAD if u_threshold != 0 && total >= u_threshold;
 * - ip_vs_unbind_dest: uncount it, then clear OVERLOAD if l_threshold != 0 && total < l_threshold, or, with
 *   no lower threshold, if u_threshold != 0 && total * 4 < u_threshold * 3;
 * - __ip_vs_update_dest: an edit clears OVERLOAD when the new u_threshold is 0 or larger than the old one.
 * `total` is activeconns + inactconns (ip_vs_dest_totalconns); persistence templates do not count. A destination
 * scheduled by several threads compares the total of every thread's connections (SchedDest.shared).
 */
import type { SchedDest } from './types.js';

/** How a connection is counted: active, inactive (IP_VS_CONN_F_INACTIVE) or a persistence template. */
export type ConnKind = 'active' | 'inactive' | 'template';

/** ip_vs_dest_totalconns */
export function totalConns(dest: SchedDest): number {
  return dest.activeConns + dest.inactiveConns;
}

/** ip_vs_dest_conn_overhead: active connections weigh 256 times an inactive one. */
export function connOverhead(dest: SchedDest): number {
  return dest.activeConns * 256 + dest.inactiveConns;
}

/** ip_vs_bind_dest: a new connection (or template) now points at `dest`. */
export function bindConnection(dest: SchedDest, kind: ConnKind = 'active'): void {
  if (kind === 'active') dest.activeConns++;
  else if (kind === 'inactive') dest.inactiveConns++;
  else dest.persistConns++;
  if (dest.upperThreshold !== 0 && totalConns(dest.shared ?? dest) >= dest.upperThreshold) dest.overloaded = true;
}

/**
 * ip_vs_unbind_dest: a connection expired. `was` is how it was counted at that moment
 * (true/false are shorthands for 'active'/'inactive').
 */
export function unbindConnection(dest: SchedDest, was: boolean | ConnKind): void {
  const kind: ConnKind = was === true ? 'active' : was === false ? 'inactive' : was;
  if (kind === 'active') dest.activeConns--;
  else if (kind === 'inactive') dest.inactiveConns--;
  else dest.persistConns--;
  maybeClearOverload(dest);
}

function maybeClearOverload(dest: SchedDest): void {
  const total = totalConns(dest.shared ?? dest);
  if (dest.lowerThreshold !== 0) {
    if (total < dest.lowerThreshold) dest.overloaded = false;
  } else if (dest.upperThreshold !== 0) {
    if (total * 4 < dest.upperThreshold * 3) dest.overloaded = false;
  }
}

/** A TCP connection left ESTABLISHED (set_tcp_state): moves one count from active to inactive. */
export function connectionBecameInactive(dest: SchedDest): void {
  dest.activeConns--;
  dest.inactiveConns++;
}

/** A connection (re)entered ESTABLISHED: moves one count from inactive to active. */
export function connectionBecameActive(dest: SchedDest): void {
  dest.inactiveConns--;
  dest.activeConns++;
}

/**
 * __ip_vs_update_dest: call after the thresholds of `dest` were edited, with the upper threshold it had before.
 * The flag is left alone otherwise; it is re-evaluated at the next bind or unbind.
 */
export function onThresholdsEdited(dest: SchedDest, oldUpper: number): void {
  if (dest.upperThreshold === 0 || dest.upperThreshold > oldUpper) dest.overloaded = false;
}

/** Edit both thresholds with the kernel's flag rule. */
export function setThresholds(dest: SchedDest, upper: number, lower: number): void {
  const oldUpper = dest.upperThreshold;
  dest.upperThreshold = upper;
  dest.lowerThreshold = lower;
  onThresholdsEdited(dest, oldUpper);
}
