/**
 * A budget of log lines per time window, for events a remote party can trigger at will (refused connections, bad
 * frames): the first `perWindow` lines of a window are written, the rest only counted, and the count is written as
 * one line when the next window opens (or on flush()). A flood then costs O(1) lines per window, not one per frame.
 */
import type { Logger } from '@vsd/sys';

export class LogLimiter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly perWindow = 10,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(fields: Record<string, unknown>, msg: string): void {
    if (this.allow()) this.log.warn(fields, msg);
  }

  info(fields: Record<string, unknown>, msg: string): void {
    if (this.allow()) this.log.info(fields, msg);
  }

  /** Write the pending count of suppressed lines, if any. */
  flush(): void {
    if (this.suppressed === 0) return;
    this.log.warn({ suppressed: this.suppressed, windowMs: this.windowMs }, 'log lines suppressed (rate limit)');
    this.suppressed = 0;
  }

  private allow(): boolean {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = t;
      this.used = 0;
    }
    if (this.used < this.perWindow) {
      this.used++;
      return true;
    }
    this.suppressed++;
    return false;
  }
}
