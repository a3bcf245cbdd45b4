/**
 * When a master announces its VIPs (keepalived's garp_master_* and garp_lower_prio_*): one burst of `repeat`
 * announcements per VIP at once, a second burst after `delay` (0 = none), then `refreshRepeat` every `refresh`
 * (0 = never). reassert() is the burst of a master that is already master and has reason to believe neighbours
 * point elsewhere (it heard a lower-priority master: a partition healed).
 */
import type { TimerHandle, Timers } from './state-machine.js';

export interface GarpScheduleOptions {
  delayMs: number;
  repeat: number;
  refreshMs: number;
  refreshRepeat: number;
  /** Spacing between single announcements (keepalived vrrp_garp_interval); 0 = back to back. */
  intervalMs: number;
  /** keepalived garp_lower_prio_repeat: announcements per VIP when a lower-priority advert is heard; 0 = none. */
  lowerPrioRepeat?: number;
  /** keepalived garp_lower_prio_delay: the second such burst; 0 = none. */
  lowerPrioDelayMs?: number;
}

/**
 * A lower-priority master repeats its advert every Advertisement_Interval until it yields; without a floor each
 * one would restart the burst. With lower_prio_delay 0 there is no second burst to wait for, so this is the floor.
 */
const MIN_REASSERT_GAP_MS = 1000;

export class GarpSchedule {
  private readonly handles = new Set<TimerHandle>();
  private generation = 0;
  /** Until when a reassert burst (and its second burst) is in progress; later calls in the window are ignored. */
  private reassertUntil = -Infinity;

  constructor(
    private readonly options: GarpScheduleOptions,
    private readonly timers: Timers,
    private readonly announce: (vip: string) => void,
  ) {}

  /** The VIPs the later bursts (second burst, refreshes) announce; a reload changes them with setVips(). */
  private vips: readonly string[] = [];

  start(vips: readonly string[]): void {
    this.stop();
    this.vips = vips;
    // The new master's first burst has just re-announced: the advert of the node it preempted, yielding, arrives
    // within milliseconds and needs no extra burst. Only that long: a split brain that starts and heals before our
    // second burst (master_delay) must still get its burst at the heal.
    this.reassertUntil = this.timers.now() + MIN_REASSERT_GAP_MS;
    const gen = this.generation;
    this.burst(vips, this.options.repeat, gen);
    if (this.options.delayMs > 0) this.later(this.options.delayMs, () => this.burst(this.vips, this.options.repeat, gen));
    if (this.options.refreshMs > 0) this.refresh(gen);
  }

  /** A reload added or removed VIPs: later bursts announce the new list (nothing is sent now). */
  setVips(vips: readonly string[]): void {
    this.vips = vips;
  }

  /** Returns the number of announcements sent now (0 when disabled or already reasserting). */
  reassert(vips: readonly string[]): number {
    const repeat = this.options.lowerPrioRepeat ?? this.options.repeat;
    const delay = this.options.lowerPrioDelayMs ?? this.options.delayMs;
    const now = this.timers.now();
    if (repeat <= 0 || now < this.reassertUntil) return 0;
    this.reassertUntil = now + Math.max(delay, MIN_REASSERT_GAP_MS);
    const gen = this.generation;
    this.burst(vips, repeat, gen);
    if (delay > 0) this.later(delay, () => this.burst(vips, repeat, gen));
    return repeat * vips.length;
  }

  stop(): void {
    this.generation++;
    this.reassertUntil = -Infinity;
    for (const h of this.handles) this.timers.clearTimeout(h);
    this.handles.clear();
  }

  private refresh(gen: number): void {
    this.later(this.options.refreshMs, () => {
      this.burst(this.vips, this.options.refreshRepeat, gen);
      this.refresh(gen);
    });
  }

  private burst(vips: readonly string[], repeat: number, gen: number): void {
    const sends: (() => void)[] = [];
    for (let r = 0; r < repeat; r++) for (const vip of vips) sends.push(() => this.announce(vip));
    if (this.options.intervalMs <= 0) {
      for (const s of sends) if (gen === this.generation) s();
      return;
    }
    sends.forEach((s, i) => (i === 0 ? s() : this.later(i * this.options.intervalMs, s)));
  }

  private later(ms: number, fn: () => void): void {
    const gen = this.generation;
    const h = this.timers.setTimeout(() => {
      this.handles.delete(h);
      if (gen === this.generation) fn();
    }, ms);
    this.handles.add(h);
  }
}
