/**
 * The state of one checker of one real server: keepalived's retry logic (check_tcp.c tcp_epilog) with rise/fall
 * counts on top.
 *
 * - A failure while up is retried `retry` times, `delay_before_retry` apart, before it counts; any success
 *   resets the retries. A counted failure is one step toward `fall`; `fall` consecutive counted failures
 *   take the checker down.
 * - While down there are no retries: every failure counts, checks run every interval, and `rise` consecutive
 *   successes bring it up.
 * - keepalived has rise = fall = 1, the defaults here.
 */
import type { CheckResult } from './checker.js';

export interface CheckStateOptions {
  rise: number;
  fall: number;
  retry: number;
  /** Without alpha a checker starts up; with alpha it starts down until it succeeds. */
  initiallyUp: boolean;
}

export interface CheckOutcome {
  /** The checker's state flipped with this result. */
  changed: boolean;
  /** Run the next check after delay_before_retry instead of the interval. */
  retrying: boolean;
}

export class CheckState {
  up: boolean;
  retryIt = 0;
  okStreak = 0;
  failStreak = 0;
  checks = 0;
  failures = 0;
  /** Last dynamic weight a check reported (MISC_CHECK misc_dynamic); kept until another is reported. */
  weight: number | undefined;
  last: (CheckResult & { at: number; durationMs: number }) | undefined;

  constructor(private readonly o: CheckStateOptions) {
    this.up = o.initiallyUp;
  }

  record(result: CheckResult, at: number, durationMs: number): CheckOutcome {
    this.checks++;
    this.last = { ok: result.ok, reason: result.reason, weight: result.weight, at, durationMs };
    if (result.ok) {
      this.retryIt = 0;
      this.failStreak = 0;
      this.okStreak++;
      if (result.weight !== undefined) this.weight = result.weight;
      if (this.up || this.okStreak < this.o.rise) return { changed: false, retrying: false };
      this.up = true;
      return { changed: true, retrying: false };
    }
    this.failures++;
    this.okStreak = 0;
    if (this.up && this.retryIt < this.o.retry) {
      this.retryIt++;
      return { changed: false, retrying: true };
    }
    this.retryIt = 0;
    this.failStreak++;
    if (!this.up || this.failStreak < this.o.fall) return { changed: false, retrying: false };
    this.up = false;
    return { changed: true, retrying: false };
  }
}
