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
    expect(sent.slice(12)).toEqual([
      [10_000, 'a'],
      [10_000, 'b'],
    ]);
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
  it('reassert(): lower_prio burst at once and after its delay, once per window; repeat 0 disables it', () => {
    const timers = new FakeTimers();
    const sent: [number, string][] = [];
    const opts = { delayMs: 5000, repeat: 5, refreshMs: 0, refreshRepeat: 1, intervalMs: 0, lowerPrioRepeat: 2, lowerPrioDelayMs: 3000 };
    const g = new GarpSchedule(opts, timers, (v) => sent.push([timers.now(), v]));
    g.start(['a']);
    // Right after the master's own first burst a reassert adds nothing; a second later (before its second burst) it does.
    expect(g.reassert(['a'])).toBe(0);
    timers.advance(1000);
    expect(g.reassert(['a'])).toBe(2);
    timers.advance(9000);
    sent.length = 0;
    expect(g.reassert(['a'])).toBe(2);
    timers.advance(100);
    // A lower-priority master repeats its advert every interval: the burst is not restarted each time.
    expect(g.reassert(['a'])).toBe(0);
    timers.advance(2900);
    expect(sent.map((s) => s[0])).toEqual([10_000, 10_000, 13_000, 13_000]);
    expect(g.reassert(['a'])).toBe(2);
    g.stop();
    timers.advance(10_000);
    expect(sent.length).toBe(6);
    const off = new GarpSchedule({ ...opts, lowerPrioRepeat: 0 }, timers, () => sent.push([0, 'x']));
    expect(off.reassert(['a'])).toBe(0);
    // Without a second burst the floor is 1 s.
    const nodelay = new GarpSchedule({ ...opts, lowerPrioDelayMs: 0 }, timers, () => {});
    expect(nodelay.reassert(['a'])).toBe(2);
    timers.advance(999);
    expect(nodelay.reassert(['a'])).toBe(0);
    timers.advance(1);
    expect(nodelay.reassert(['a'])).toBe(2);
  });
});
