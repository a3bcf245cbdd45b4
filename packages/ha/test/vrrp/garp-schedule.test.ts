import { describe, expect, it } from 'vitest';
import { GarpSchedule } from '../../src/vrrp/garp-schedule.js';
import { FakeTimers } from '../fake-timers.js';

describe('GARP schedule (garp_master_delay/repeat/refresh)', () => {
  it('sends repeat per VIP at once, again after delay, then refresh bursts; stop() cancels', () => {
    const timers = new FakeTimers();
    const sent: [number, string][] = [];
    const g = new GarpSchedule({ delayMs: 5000, repeat: 3, refreshMs: 10_000, refreshRepeat: 1, intervalMs: 0 }, timers, (v) => sent.push([timers.now(), v]));
    g.start(['a', 'b']);
    expect(sent.length).toBe(6);
    timers.advance(5000);
    expect(sent.length).toBe(12);
    timers.advance(5000);
    expect(sent.slice(12)).toEqual([[10_000, 'a'], [10_000, 'b']]);
    timers.advance(10_000);
    expect(sent.length).toBe(16);
    g.stop();
    timers.advance(60_000);
    expect(sent.length).toBe(16);
    expect(timers.size).toBe(0);
  });
  it('spaces single announcements by the interval and has no second burst with delay 0', () => {
    const timers = new FakeTimers();
    const sent: number[] = [];
    const g = new GarpSchedule({ delayMs: 0, repeat: 3, refreshMs: 0, refreshRepeat: 1, intervalMs: 10 }, timers, () => sent.push(timers.now()));
    g.start(['a']);
    timers.advance(1000);
    expect(sent).toEqual([0, 10, 20]);
  });
});
