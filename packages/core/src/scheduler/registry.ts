/**
 * Scheduler lookup by name, as the kernel's ip_vs_scheduler_get() does for `ipvsadm -s NAME`.
 */
import { SchedulerNotFoundError } from '../errors.js';
import { createDh } from './dh.js';
import { validateSchedFlags } from './flags.js';
import { createFo } from './fo.js';
import { createLblc } from './lblc.js';
import { createLblcr } from './lblcr.js';
import { createLc } from './lc.js';
import { createMh } from './mh.js';
import { createNq } from './nq.js';
import { createOvf } from './ovf.js';
import { createRr } from './rr.js';
import { createSed } from './sed.js';
import { createSh } from './sh.js';
import { createTwos } from './twos.js';
import type { Scheduler, SchedulerFactory, SchedulerOptions } from './types.js';
import { createWlc } from './wlc.js';
import { createWrr } from './wrr.js';

const FACTORIES: Readonly<Record<string, SchedulerFactory>> = Object.freeze({
  rr: createRr,
  wrr: createWrr,
  lc: createLc,
  wlc: createWlc,
  sed: createSed,
  nq: createNq,
  dh: createDh,
  sh: createSh,
  lblc: createLblc,
  lblcr: createLblcr,
  mh: createMh,
  fo: createFo,
  ovf: createOvf,
  twos: createTwos,
});

/** Every scheduler vsd implements. */
export const SCHEDULER_NAMES: readonly string[] = Object.freeze(Object.keys(FACTORIES));

export function isSchedulerName(name: string): boolean {
  return Object.hasOwn(FACTORIES, name);
}

/**
 * A fresh scheduler instance (one per virtual service: each keeps its own cursor or table).
 * Throws SchedulerNotFoundError for an unknown name and ValidationError for a flag of another scheduler.
 */
export function createScheduler(name: string, options: SchedulerOptions = {}): Scheduler {
  const factory = Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
  if (factory === undefined) throw new SchedulerNotFoundError(name);
  validateSchedFlags(name, options.flags);
  return factory(options);
}
