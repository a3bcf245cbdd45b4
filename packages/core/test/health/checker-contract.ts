/**
 * The contract every checker kind runs: a healthy target is up, a dead one down, a hanging one down within the
 * timeout, an aborted check settles at once, and a check never rejects.
 */
import { describe, expect, it } from 'vitest';
import type { Checker } from '../../src/health/checker.js';

export type Scenario = 'up' | 'down' | 'hang';

export interface ContractSubject {
  /** A checker of a target in the given scenario, with this timeout. */
  make(scenario: Scenario, timeoutMs: number): Promise<Checker> | Checker;
  kind: string;
}

export function checkerContract(name: string, subject: () => ContractSubject): void {
  describe(`Checker contract: ${name}`, () => {
    it('reports a healthy target up, with a reason', async () => {
      const c = await subject().make('up', 2000);
      expect(c.kind).toBe(subject().kind);
      expect(c.name).toMatch(new RegExp(`^${subject().kind} `));
      const r = await c.check();
      expect(r.ok).toBe(true);
      expect(r.reason.length).toBeGreaterThan(0);
    });

    it('reports a dead target down, without rejecting', async () => {
      const c = await subject().make('down', 2000);
      const r = await c.check();
      expect(r.ok).toBe(false);
      expect(r.reason.length).toBeGreaterThan(0);
    });

    it('reports a hanging target down within its timeout', async () => {
      const c = await subject().make('hang', 150);
      const t0 = Date.now();
      const r = await c.check();
      const took = Date.now() - t0;
      expect(r).toEqual({ ok: false, reason: 'timeout after 150 ms' });
      expect(took).toBeGreaterThanOrEqual(140);
      // Well before anything else would end it (a busy machine may run the timer late).
      expect(took).toBeLessThan(2500);
    });

    it('settles at once when aborted, and never blocks the event loop while waiting', async () => {
      const c = await subject().make('hang', 5000);
      const ac = new AbortController();
      let ticks = 0;
      const tick = setInterval(() => ticks++, 5);
      const p = c.check(ac.signal);
      setTimeout(() => ac.abort(), 100);
      const t0 = Date.now();
      const r = await p;
      clearInterval(tick);
      expect(r.ok).toBe(false);
      expect(Date.now() - t0).toBeLessThan(2500);
      // The loop kept turning while the check waited (how often depends on how busy the machine is).
      expect(ticks).toBeGreaterThan(0);
    });

    it('can run many checks at once', async () => {
      const c = await subject().make('up', 3000);
      const rs = await Promise.all(Array.from({ length: 20 }, () => c.check()));
      expect(rs.every((r) => r.ok)).toBe(true);
    });
  });
}
