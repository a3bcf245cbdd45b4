/**
 * Rate-limited warnings: at most one line per reason per interval, the next one carrying how many were suppressed,
 * so a flood of refused connections or bad frames costs a counter increment, not a log line each.
 */
import type { Logger } from '@vsd/core';

export class LimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(reason: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const seen = this.last.get(reason);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    this.log.warn({ ...fields, ...(seen?.suppressed ? { suppressed: seen.suppressed } : {}) }, msg);
    this.last.set(reason, { at: t, suppressed: 0 });
    if (this.last.size > 100) this.last.delete(this.last.keys().next().value!);
  }
}
