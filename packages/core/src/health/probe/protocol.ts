/**
 * Messages between the health monitor (main thread) and its probe thread. The main thread adds and removes
 * probes; the thread runs each on its own schedule and sends back, in batches, every result with when it ended
 * and how long it took. Both sides run the same CheckState on the same results (the thread to know when a retry
 * is due, the main thread for rise/fall, status and the reaction), so no result needs an answer.
 */
import type { StatusRange } from '../status-codes.js';

/** What a probe checks: a TCP connect, or an HTTP_GET over plain TCP. */
export interface ProbeDef {
  kind: 'tcp' | 'http';
  address: string;
  port: number;
  /** The whole check (connect, request, answer) ends within this. */
  timeoutMs: number;
  /** HTTP_GET only: the request bytes (latin1), accepted statuses and the body's MD5 if one is expected. */
  request?: string;
  statusCodes?: StatusRange[];
  digest?: string;
}

/** The retry/rise/fall state a scheduled probe starts from (the main thread's CheckState at registration). */
export interface ProbeStateSnapshot {
  rise: number;
  fall: number;
  retry: number;
  up: boolean;
  retryIt: number;
  okStreak: number;
  failStreak: number;
}

export interface ProbeSchedule {
  intervalMs: number;
  delayBeforeRetryMs: number;
  /** Start times are rounded up to multiples of this (checks due together start in one turn); 0: not rounded. */
  slotMs: number;
  /** When the first run is due (Date.now() ms), before rounding. */
  firstAt: number;
  state: ProbeStateSnapshot;
}

/** A probe to run: on a schedule until removed, or once (`schedule` absent) and then forgotten. */
export interface ProbeAdd {
  id: number;
  def: ProbeDef;
  schedule?: ProbeSchedule;
}

export type ProbeRequest = { op: 'add'; probes: ProbeAdd[] } | { op: 'remove'; ids: number[] } | { op: 'stop' };

export type ProbeMessage =
  | { t: 'ready' }
  /**
   * Results in the order they ended: `r` holds [id, ok (1/0), ended at (ms), duration (ms)] per result and
   * `reasons` the matching reason texts.
   */
  | { t: 'results'; r: number[]; reasons: string[] }
  /** A probe threw (a bug): logged by the main thread; the probe thread goes on. */
  | { t: 'error'; message: string };

export interface ProbeData {
  /** eventfd the main thread writes to after posting, so a waiting epoll_wait returns at once. */
  wakeFd: number;
}
