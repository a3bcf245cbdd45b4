import { createSchedDest, createSchedPacket } from '../../src/scheduler/dest.js';
import type { SchedDest, SchedPacket, Scheduler } from '../../src/scheduler/types.js';

/** Letters -> real servers 10.0.0.1.. in the given list order (the kernel's svc->destinations order). */
export function dests(weights: Record<string, number>): SchedDest[] {
  return Object.entries(weights).map(([name, weight], i) => Object.assign(createSchedDest({ address: `10.0.0.${i + 1}`, port: 80, weight }), { name }));
}

export function nameOf(d: SchedDest | null): string {
  return d === null ? '-' : (d as SchedDest & { name: string }).name;
}

export function byName(list: SchedDest[], name: string): SchedDest {
  const d = list.find((x) => nameOf(x) === name);
  if (!d) throw new Error(`no dest ${name}`);
  return d;
}

export const PKT: SchedPacket = createSchedPacket(0x0a010101, 40000, 0x0a000064, 80);

/** `count` picks as a space-separated string of names ("-" for none). */
export function seq(s: Scheduler, count: number, onPick?: (d: SchedDest) => void): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const d = s.pick(PKT);
    out.push(nameOf(d));
    if (d && onPick) onPick(d);
  }
  return out.join(' ');
}

/** A fake millisecond clock. */
export function fakeClock(start = 0): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms), set: (ms) => (t = ms) };
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
