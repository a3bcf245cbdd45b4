/**
 * The checks of one real server on their timers. Each check runs on its own schedule (first one at the offset
 * the monitor gives, so checks spread over the interval instead of firing together), one at a time, and feeds
 * its CheckState. The real server is alive only when every checker is up (keepalived: num_failed_checkers == 0);
 * `onChange` fires when that, or the dynamic weight, changes.
 */
import type { Checker } from './checker.js';
import { CheckState } from './check-state.js';
import type { CheckSpec } from './config.js';

export interface RunnerCheck {
  spec: CheckSpec;
  checker: Checker;
  intervalMs: number;
}

export interface RunnerChange {
  alive: boolean;
  /** Lowest dynamic weight reported by a misc_dynamic checker, if any. */
  weight: number | undefined;
  /** The checker whose result caused the change, and its reason. */
  checker: string;
  reason: string;
}

export interface CheckEvent {
  checker: string;
  ok: boolean;
  reason: string;
  retrying: boolean;
  changed: boolean;
  up: boolean;
}

export interface RunnerHooks {
  onChange(change: RunnerChange): void;
  onCheck?(event: CheckEvent): void;
}

interface Loop extends RunnerCheck {
  state: CheckState;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
}

export class RealServerRunner {
  private readonly loops: Loop[];
  private abort = new AbortController();
  private started = false;
  private lastAlive: boolean;
  private lastWeight: number | undefined;

  constructor(
    checks: readonly RunnerCheck[],
    initiallyUp: boolean,
    private readonly hooks: RunnerHooks,
  ) {
    this.loops = checks.map((c) => ({
      ...c,
      state: new CheckState({ rise: c.spec.rise, fall: c.spec.fall, retry: c.spec.retry, initiallyUp }),
      timer: undefined,
      running: false,
    }));
    this.lastAlive = this.alive;
    this.lastWeight = this.weight;
  }

  get alive(): boolean {
    return this.loops.every((l) => l.state.up);
  }

  get weight(): number | undefined {
    let w: number | undefined;
    for (const l of this.loops) if (l.state.weight !== undefined) w = w === undefined ? l.state.weight : Math.min(w, l.state.weight);
    return w;
  }

  get checks(): readonly (RunnerCheck & { state: CheckState })[] {
    return this.loops;
  }

  /** `firstDelayMs` gives each check's offset before its first run. */
  start(firstDelayMs: (check: RunnerCheck) => number): void {
    if (this.started) return;
    this.started = true;
    this.abort = new AbortController();
    for (const l of this.loops) this.schedule(l, firstDelayMs(l));
  }

  stop(): void {
    this.started = false;
    this.abort.abort();
    for (const l of this.loops) clearTimeout(l.timer);
  }

  private schedule(loop: Loop, delayMs: number): void {
    if (!this.started) return;
    loop.timer = setTimeout(() => void this.run(loop), Math.max(0, delayMs));
    loop.timer.unref();
  }

  private async run(loop: Loop): Promise<void> {
    if (!this.started || loop.running) return;
    loop.running = true;
    const signal = this.abort.signal;
    const startedAt = Date.now();
    const result = await loop.checker.check(signal);
    loop.running = false;
    if (signal.aborted) return;
    const now = Date.now();
    const outcome = loop.state.record(result, now, now - startedAt);
    this.hooks.onCheck?.({ checker: loop.checker.name, ok: result.ok, reason: result.reason, ...outcome, up: loop.state.up });
    const alive = this.alive;
    const weight = this.weight;
    if (alive !== this.lastAlive || weight !== this.lastWeight) {
      this.lastAlive = alive;
      this.lastWeight = weight;
      this.hooks.onChange({ alive, weight, checker: loop.checker.name, reason: result.reason });
    }
    // As keepalived, the next run is timed from the start of this one (a slow check does not stretch the period).
    const wait = outcome.retrying ? loop.spec.delayBeforeRetryMs : loop.intervalMs;
    this.schedule(loop, startedAt + wait - now);
  }
}
