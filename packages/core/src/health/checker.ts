/**
 * The checker contract: one check of one target, never blocking the event loop, always settling within its
 * timeout. Every checker kind (tcp.ts, http.ts, script.ts) implements it and runs the same contract suite
 * (test/health/checker-contract.ts). The state machine around checks (retries, rise/fall) is runner.ts's job.
 */
export interface CheckResult {
  ok: boolean;
  /** Why, in a few words: "connected", "status 503", "timeout after 1000 ms", "exit 1". */
  reason: string;
  /** Dynamic weight (MISC_CHECK misc_dynamic: exit status - 2). Absent: the weight is unchanged. */
  weight?: number;
}

/** Where a check goes: the real server's address and port unless the check overrides them. */
export interface CheckTarget {
  address: string;
  port: number;
}

/**
 * What a check listens to for cancellation: an AbortSignal, or the runner's lighter equivalent (EventTarget
 * listeners cost about a tenth of a TCP check, paid a thousand times a second).
 */
export interface CheckSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A CheckSignal without EventTarget: one listener set, fired once. */
export class CheckAbort implements CheckSignal {
  aborted = false;
  private readonly listeners = new Set<() => void>();

  addEventListener(_type: 'abort', listener: () => void): void {
    this.listeners.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.listeners.delete(listener);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    for (const l of [...this.listeners]) l();
    this.listeners.clear();
  }
}

export interface Checker {
  /** "tcp", "http", "https", "misc" */
  readonly kind: string;
  /** What is checked, for logs: "tcp 10.0.0.1:80", "http 10.0.0.1:80/health", "misc /usr/bin/check". */
  readonly name: string;
  /**
   * Run one check. Resolves (never rejects) with the result; settles within the checker's timeout.
   * `signal` aborts a check in flight (the monitor stopping); the result is then a failure nobody reads.
   */
  check(signal?: CheckSignal): Promise<CheckResult>;
}

export const ok = (reason: string, weight?: number): CheckResult => (weight === undefined ? { ok: true, reason } : { ok: true, reason, weight });
export const fail = (reason: string): CheckResult => ({ ok: false, reason });

/** A socket/HTTP error as a short reason: the errno code when there is one. */
export function errorReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? String(e?.message ?? err);
}
