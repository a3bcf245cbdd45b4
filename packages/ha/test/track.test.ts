import { describe, expect, it } from 'vitest';
import { effectivePriority, ScriptTracker, type Tracker } from '../src/track.js';
import { FakeTimers } from './fake-timers.js';

const t = (weight: number, ok: boolean): Tracker => ({ name: 'x', weight, ok, start() {}, stop() {} });

describe('trackers', () => {
  it('combines weights as keepalived: clamp 1..254, 255 fixed, weight 0 failing = FAULT', () => {
    expect(effectivePriority(100, [t(20, true), t(-30, false), t(50, false), t(-5, true)])).toEqual({ priority: 90, fault: false });
    expect(effectivePriority(250, [t(20, true)]).priority).toBe(254);
    expect(effectivePriority(10, [t(-50, false)]).priority).toBe(1);
    expect(effectivePriority(255, [t(-50, false)]).priority).toBe(255);
    expect(effectivePriority(100, [t(0, false)]).fault).toBe(true);
  });
  it('vrrp_script: fall failures to fail, rise successes to recover, init_fail starts failed', async () => {
    const timers = new FakeTimers();
    let changes = 0;
    const s = new ScriptTracker(
      { name: 's', script: '/x', intervalMs: 1000, timeoutMs: 500, weight: 0, rise: 2, fall: 3, initFail: false },
      timers,
      async () => 0,
      () => changes++,
    );
    s.record(false);
    s.record(false);
    expect(s.ok).toBe(true);
    s.record(true);
    s.record(false);
    s.record(false);
    s.record(false);
    expect(s.ok).toBe(false);
    s.record(true);
    expect(s.ok).toBe(false);
    s.record(true);
    expect(s.ok).toBe(true);
    expect(changes).toBe(2);
    const i = new ScriptTracker(
      { name: 'i', script: '/x', intervalMs: 1000, timeoutMs: 500, weight: 0, rise: 1, fall: 1, initFail: true },
      timers,
      async () => 0,
      () => {},
    );
    expect(i.ok).toBe(false);
  });
});
