/**
 * wlc — weighted least connection, the IPVS default (net/netfilter/ipvs/ip_vs_wlc.c).
 * The rule and the exactness argument are in {@link weightedLeast}. Tracked destinations are answered in O(1)
 * by {@link indexedScheduler}; others by the kernel's scan.
 */
import { indexedScheduler } from './indexed.js';
import { weightedLeast } from './least.js';
import type { SchedulerFactory } from './types.js';

export const createWlc: SchedulerFactory = () => indexedScheduler('wlc', 'wlc', weightedLeast);
