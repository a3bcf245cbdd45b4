/**
 * Messages between the proxy dataplane (main thread) and its epoll engine thread. Requests carry an id and get
 * exactly one reply with it; the engine also sends log records and, once, `ready`. Counters the main thread must
 * read synchronously (proxyCounters(), connectionCount()) live in a shared Float64Array at the slots below.
 */
import type { Timeouts } from '../../../model/schema.js';
import type { DataplaneService, PersistenceEntry } from '../../types.js';

export const COUNTER_SLOTS = { connectFailures: 0, retries: 1, noDestination: 2, connections: 3, accepted: 4 } as const;
export const COUNTER_COUNT = 5;

export interface EngineOptions {
  logLevel: string;
  timeouts: Timeouts;
  connectTimeoutMs: number;
  expireQuiescentTemplate: boolean;
  bindFreely: boolean;
  sweepIntervalMs: number;
  listenRetryMs: number;
  /** Engine threads sharing each TCP service's VIP:port (see ./steer.ts); this one is one of them. */
  threads: number;
  /** With several threads: one Int32 cell per service for rr/wrr's shared position (slots in each reconcile). */
  positions?: SharedArrayBuffer;
  /** With several threads: each real server's connection counts, a column per thread (scheduler/shared-counts.ts). */
  counts?: SharedArrayBuffer;
}

/** Real servers (of all services together) whose connections the threads count for each other. */
export const COUNT_SLOTS = 32_768;

export interface EngineData {
  options: EngineOptions;
  /** eventfd the main thread writes to after posting, so a waiting epoll_wait returns at once. */
  wakeFd: number;
  counters: SharedArrayBuffer;
  /** Bitmap of the descriptors the thread holds (see Reactor), for the main thread to close if the thread dies. */
  owned: SharedArrayBuffer;
  /** This thread's place among the engine threads (its column in `counts`). */
  index: number;
}

/** Descriptors below this are tracked in EngineData.owned (one bit each). */
export const OWNED_FDS = 1 << 20;

export type EngineRequest =
  | {
      id: number;
      op: 'reconcile';
      table: DataplaneService[];
      proxyProtocol: string[];
      positions?: Record<string, number>;
      /** Slots in `counts`, by service key then real server key. */
      countSlots?: Record<string, Record<string, number>>;
    }
  | { id: number; op: 'status'; keys: string[] }
  | { id: number; op: 'connections' }
  | { id: number; op: 'zero'; key?: string }
  | { id: number; op: 'timeouts'; timeouts: Timeouts }
  | { id: number; op: 'exportPersistence' }
  | { id: number; op: 'importPersistence'; entries: PersistenceEntry[] }
  | { id: number; op: 'close'; drainMs: number };

export type EngineMessage =
  | { t: 'ready' }
  // A failed request carries the VsdError's code, errno and details so the dispatcher thread rethrows the same error.
  | { t: 'reply'; id: number; result?: unknown; error?: string; code?: string; errno?: string; details?: Record<string, unknown> }
  | { t: 'log'; line: string };

/** "service|realServer" pairs that get a PROXY v2 header (resolved in the main thread, where the option lives). */
export function proxyProtocolPair(service: string, realServer: string): string {
  return `${service}|${realServer}`;
}
