/**
 * The checks of one real server on their timers. Each check runs on its own schedule (first one at the offset
 * the monitor gives, so checks spread over the interval instead of firing together), one at a time, and feeds
 * its CheckState. The real server is alive only when every checker is up (keepalived: num_failed_checkers == 0);
 * `onChange` fires when that, or the dynamic weight, changes.
 *
 * A check with a probe definition (TCP_CHECK, HTTP_GET) runs in the probe thread when one is given: the thread
 * keeps its schedule and sends its results here, where they feed the same CheckState as a Node check would.
 * Should the thread fail, the check carries on here with its Node checker.
 */
import { CheckAbort, type Checker, type CheckResult } from './checker.js';
import { CheckState, type CheckOutcome } from './check-state.js';
import type { CheckSpec } from './config.js';
import type { ProbeHost, ProbeSink } from './probe/client.js';
import type { ProbeDef } from './probe/protocol.js';

export interface RunnerCheck {
  spec: CheckSpec;
  checker: Checker;
  intervalMs: number;
  /** Set when the probe thread can run this check (see probe/spec.ts). */
  probe?: ProbeDef;
}

export interface RunnerChange {
  alive: boolean;
  /** Lowest dynamic weight reported by a misc_dynamic checker, if any. */
  weight: number | undefined;
  /** The checker whose result caused the change, and its reason. */
  checker: string;
  reason: string;
}

export interface RunnerHooks {
  onChange(change: RunnerChange): void;
  /** Every check result (called a thousand times a second in big setups: allocate nothing here). */
  onCheck?(checker: Checker, result: CheckResult, outcome: CheckOutcome): void;
}

interface Loop extends RunnerCheck {
  state: CheckState;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  /** When the current run was due (a slot boundary): the next one is due an interval after it. */
  dueAt: number;
  /** The probe thread's id for this check while it runs there. */
  probeId: number | null;
}

export class RealServerRunner {
  private readonly loops: Loop[];
  private abort = new CheckAbort();
  private started = false;
  private lastAlive: boolean;
  private lastWeight: number | undefined;
  /** The probe thread this runner's probed checks were added to. */
  private probeHost: ProbeHost | null = null;

  constructor(
    checks: readonly RunnerCheck[],
    initiallyUp: boolean,
    private readonly hooks: RunnerHooks,
    /** Batching granularity of check start times (at most an eighth of the interval). */
    private readonly slotMs = 50,
  ) {
    this.loops = checks.map((c) => ({
      ...c,
      state: new CheckState({ rise: c.spec.rise, fall: c.spec.fall, retry: c.spec.retry, initiallyUp }),
      timer: undefined,
      running: false,
      dueAt: 0,
      probeId: null,
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

  /**
   * `firstDelayMs` gives each check's offset before its first run; `probes` the probe thread, asked for only
   * when a check can run there (null: every check runs with Node sockets here).
   */
  start(firstDelayMs: (check: RunnerCheck) => number, probes?: () => ProbeHost | null): void {
    if (this.started) return;
    this.started = true;
    this.abort = new CheckAbort();
    for (const l of this.loops) {
      const now = Date.now();
      const delay = firstDelayMs(l);
      const host = l.probe && probes ? probes() : null;
      if (host && this.startProbe(l, host, now + delay)) continue;
      this.schedule(l, now, delay);
    }
  }

  stop(): void {
    this.started = false;
    this.abort.abort();
    for (const l of this.loops) {
      clearTimeout(l.timer);
      if (l.probeId !== null) this.probeHost?.remove(l.probeId);
      l.probeId = null;
    }
  }

  private startProbe(loop: Loop, host: ProbeHost, firstAt: number): boolean {
    const { state, spec } = loop;
    const sink: ProbeSink = {
      result: (result, at, durationMs) => {
        if (this.started && loop.probeId !== null) this.record(loop, result, at, durationMs);
      },
      // The thread is gone: the check goes on here, from now.
      lost: () => {
        if (loop.probeId === null) return;
        loop.probeId = null;
        this.schedule(loop, Date.now(), 0);
      },
    };
    const id = host.add(
      loop.probe!,
      {
        intervalMs: loop.intervalMs,
        delayBeforeRetryMs: spec.delayBeforeRetryMs,
        slotMs: this.slotFor(loop),
        firstAt,
        state: {
          rise: spec.rise,
          fall: spec.fall,
          retry: spec.retry,
          up: state.up,
          retryIt: state.retryIt,
          okStreak: state.okStreak,
          failStreak: state.failStreak,
        },
      },
      sink,
    );
    if (id === null) return false;
    this.probeHost = host;
    loop.probeId = id;
    return true;
  }

  private slotFor(loop: Loop): number {
    return Math.min(this.slotMs, loop.intervalMs / 8);
  }

  /** Run `loop` `delayMs` after `from` (a past due time, so that periods do not drift), rounded up to a slot. */
  private schedule(loop: Loop, from: number, delayMs: number): void {
    if (!this.started) return;
    // Due times are rounded up to a slot boundary of the wall clock, so the checks due in the same slot (across
    // all real servers) start in one event-loop turn and their connects complete in one epoll wake-up: spread
    // over the interval, but in a few dozen batches a second rather than a thousand separate wake-ups.
    const now = Date.now();
    const slot = this.slotFor(loop);
    const at = Math.max(now, from + delayMs);
    loop.dueAt = slot >= 1 ? Math.ceil(at / slot) * slot : at;
    loop.timer = setTimeout(() => void this.run(loop), loop.dueAt - now);
    loop.timer.unref();
  }

  private async run(loop: Loop): Promise<void> {
    if (!this.started || loop.running) return;
    loop.running = true;
    const signal = this.abort;
    const startedAt = Date.now();
    const result = await loop.checker.check(signal);
    loop.running = false;
    if (signal.aborted) return;
    const now = Date.now();
    const outcome = this.record(loop, result, now, now - startedAt);
    // As keepalived, the next run is timed from the start of this one (a slow check does not stretch the period),
    // taken as the slot it was due in so that rounding to slots does not lengthen every period.
    const wait = outcome.retrying ? loop.spec.delayBeforeRetryMs : loop.intervalMs;
    this.schedule(loop, Math.min(loop.dueAt, startedAt), wait);
  }

  /** One result of a check, wherever it ran: its state, the hooks, and the real server's verdict. */
  private record(loop: Loop, result: CheckResult, at: number, durationMs: number): CheckOutcome {
    const outcome = loop.state.record(result, at, durationMs);
    this.hooks.onCheck?.(loop.checker, result, outcome);
    const alive = this.alive;
    const weight = this.weight;
    if (alive !== this.lastAlive || weight !== this.lastWeight) {
      this.lastAlive = alive;
      this.lastWeight = weight;
      this.hooks.onChange({ alive, weight, checker: loop.checker.name, reason: result.reason });
    }
    return outcome;
  }
}
