/**
 * When a new master announces its VIPs (keepalived's garp_master_*): one burst of `repeat` announcements per
 * VIP at once, a second burst after `delay` (0 = none), then `refreshRepeat` every `refresh` (0 = never).
 */
import type { TimerHandle, Timers } from './state-machine.js';

export interface GarpScheduleOptions {
  delayMs: number;
  repeat: number;
  refreshMs: number;
  refreshRepeat: number;
  /** Spacing between single announcements (keepalived vrrp_garp_interval); 0 = back to back. */
  intervalMs: number;
}

export class GarpSchedule {
  private readonly handles = new Set<TimerHandle>();
  private generation = 0;

  constructor(
    private readonly options: GarpScheduleOptions,
    private readonly timers: Timers,
    private readonly announce: (vip: string) => void,
  ) {}

  start(vips: readonly string[]): void {
    this.stop();
    const gen = this.generation;
    this.burst(vips, this.options.repeat, gen);
    if (this.options.delayMs > 0) this.later(this.options.delayMs, () => this.burst(vips, this.options.repeat, gen));
    if (this.options.refreshMs > 0) this.refresh(vips, gen);
  }

  stop(): void {
    this.generation++;
    for (const h of this.handles) this.timers.clearTimeout(h);
    this.handles.clear();
  }

  private refresh(vips: readonly string[], gen: number): void {
    this.later(this.options.refreshMs, () => {
      this.burst(vips, this.options.refreshRepeat, gen);
      this.refresh(vips, gen);
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
