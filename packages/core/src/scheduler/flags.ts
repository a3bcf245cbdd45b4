/**
 * Scheduler flags (ipvsadm -b). The kernel stores them as bits IP_VS_SVC_F_SCHED1..3; sh and mh read SCHED1 as
 * "fallback" and SCHED2 as "port", so flag-1/flag-2 mean the same to them as sh-fallback/sh-port (mh-*).
 */
import { ValidationError } from '../errors.js';
import type { SchedFlag } from './types.js';

export const IP_VS_SVC_F_SCHED1 = 0x08;
export const IP_VS_SVC_F_SCHED2 = 0x10;
export const IP_VS_SVC_F_SCHED3 = 0x20;

const FLAG_BITS: Record<SchedFlag, number> = {
  'flag-1': IP_VS_SVC_F_SCHED1,
  'sh-fallback': IP_VS_SVC_F_SCHED1,
  'mh-fallback': IP_VS_SVC_F_SCHED1,
  'flag-2': IP_VS_SVC_F_SCHED2,
  'sh-port': IP_VS_SVC_F_SCHED2,
  'mh-port': IP_VS_SVC_F_SCHED2,
  'flag-3': IP_VS_SVC_F_SCHED3,
};

/** The IP_VS_SVC_F_SCHED* bits of a flag list. */
export function schedFlagBits(flags: readonly SchedFlag[] | undefined): number {
  let bits = 0;
  for (const f of flags ?? []) bits |= FLAG_BITS[f] ?? 0;
  return bits;
}

/** ipvsadm's check: sh-* flags only with sh, mh-* only with mh; otherwise "incompatible scheduler flag". */
export function validateSchedFlags(scheduler: string, flags: readonly string[] | undefined): void {
  for (const f of flags ?? []) {
    if (!(f in FLAG_BITS)) throw new ValidationError('schedFlags', f, 'unknown scheduler flag');
    const owner = f.startsWith('sh-') ? 'sh' : f.startsWith('mh-') ? 'mh' : null;
    if (owner !== null && owner !== scheduler) throw new ValidationError('schedFlags', f, 'incompatible scheduler flag');
  }
}
