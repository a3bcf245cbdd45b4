/**
 * The expiring per-service table of lblc and lblcr (ip_vs_lblc.c / ip_vs_lblcr.c share this machinery).
 *
 * Entries are keyed by the folded destination address. The kernel runs a timer every CHECK_EXPIRE_INTERVAL
 * (60 s): every COUNT_FOR_FULL_EXPIRATION-th run (30 min) is a full check removing entries unused for the
 * expiration sysctl (24 h); the other runs only act when the table holds more than max_size (1024 * 16) entries,
 * then removing entries unused for ENTRY_TIMEOUT (6 min), bucket by bucket from a rover, until 4/3 of the excess
 * (at most max_size / 2) is gone. Here the timer is driven by the injected clock: each pick first runs the ticks
 * that fell due since the last one, at their own times, so a fake clock reproduces the kernel's schedule.
 */
import { hash32 } from './hash.js';

export const CHECK_EXPIRE_INTERVAL = 60_000;
export const ENTRY_TIMEOUT = 6 * 60_000;
export const DEFAULT_EXPIRATION = 24 * 3600_000;
export const COUNT_FOR_FULL_EXPIRATION = 30;
export const LOCALITY_TAB_BITS = 10;
export const LOCALITY_MAX_SIZE = (1 << LOCALITY_TAB_BITS) * 16;
const TAB_SIZE = 1 << LOCALITY_TAB_BITS;
const TAB_MASK = TAB_SIZE - 1;

export interface LocalityEntry {
  lastuse: number;
}

export class LocalityTable<E extends LocalityEntry> {
  /** Map order is insertion order, which is all the bucket-by-bucket sweep needs within one bucket. */
  private readonly entries = new Map<number, E>();
  private rover = 0;
  private counter = 1;
  /** Time of the next expiry tick; callers compare against it in place to avoid a call per pick. */
  nextCheck: number;

  constructor(
    private readonly expiration: number,
    start: number,
  ) {
    this.nextCheck = start + CHECK_EXPIRE_INTERVAL;
  }

  get size(): number {
    return this.entries.size;
  }

  /** `key` must be an int32 (`fold | 0`) so that lookups stay allocation-free. */
  get(key: number): E | undefined {
    return this.entries.get(key);
  }

  /** Insert or replace; a replaced entry moves to the front of its bucket as hlist_add_head does. */
  set(key: number, entry: E): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  /**
   * Run the periodic expiry ticks that are due at `now`, each at its own tick time. Ticks that would only
   * count (table within max_size, no full check due) are skipped arithmetically, so a clock jump of days
   * costs one iteration per full check, not one per minute.
   */
  runTimers(now: number): void {
    while (now >= this.nextCheck) {
      const c = this.counter % COUNT_FOR_FULL_EXPIRATION;
      if (c !== 0 && this.entries.size <= LOCALITY_MAX_SIZE) {
        const due = Math.floor((now - this.nextCheck) / CHECK_EXPIRE_INTERVAL) + 1;
        const skip = Math.min(COUNT_FOR_FULL_EXPIRATION - c, due);
        this.counter += skip;
        this.nextCheck += skip * CHECK_EXPIRE_INTERVAL;
        continue;
      }
      this.checkExpire(this.nextCheck);
      this.nextCheck += CHECK_EXPIRE_INTERVAL;
    }
  }

  /** ip_vs_lblc_check_expire */
  private checkExpire(now: number): void {
    if (this.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
      this.fullCheck(now);
      this.counter = 1;
      return;
    }
    if (this.entries.size <= LOCALITY_MAX_SIZE) {
      this.counter++;
      return;
    }
    let goal = Math.trunc(((this.entries.size - LOCALITY_MAX_SIZE) * 4) / 3);
    if (goal > LOCALITY_MAX_SIZE / 2) goal = LOCALITY_MAX_SIZE / 2;
    const buckets = this.byBucket();
    let j = this.rover;
    for (let i = 0; i < TAB_SIZE; i++) {
      j = (j + 1) & TAB_MASK;
      for (const key of buckets[j] ?? []) {
        if (now < this.entries.get(key)!.lastuse + ENTRY_TIMEOUT) continue;
        this.entries.delete(key);
        goal--;
      }
      if (goal <= 0) break;
    }
    this.rover = j;
  }

  /** ip_vs_lblc_full_check: drop every entry unused for the expiration time. */
  private fullCheck(now: number): void {
    for (const [key, e] of this.entries) {
      if (now >= e.lastuse + this.expiration) this.entries.delete(key);
    }
  }

  private byBucket(): number[][] {
    const buckets: number[][] = [];
    for (const key of this.entries.keys()) {
      const b = hash32(key >>> 0, LOCALITY_TAB_BITS);
      (buckets[b] ??= []).push(key);
    }
    return buckets;
  }
}
