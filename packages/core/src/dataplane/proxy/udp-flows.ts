/**
 * The bound on UDP flows. Every flow (and every one-packet path) holds its own socket toward the real server, so
 * without a bound a sender spoofing source addresses or ports takes one descriptor per datagram, kept for the UDP
 * timeout (300 s), until accept() on every TCP listener and the control socket fails with EMFILE.
 *
 * When the table is full, a new flow takes the place of the oldest flow that never saw traffic both ways (a
 * reply from the real server, then another datagram from the client), as netfilter's conntrack drops a
 * non-assured entry early. Blind spoofed sources never get past their first datagram, so they only ever displace
 * each other; clients in a conversation keep their flows. With no such flow to evict, the new flow is refused
 * (its datagram dropped). Both are counted (proxy counters, `vsctl status`) and logged at most once a second.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '@vsd/sys';
import type { ProxyCounters } from './types.js';

/** A listener's side of the bound: how many sockets it holds, and giving one up. */
export interface UdpFlowHolder {
  readonly service: string;
  /** Flows and one-packet paths it holds now. */
  readonly held: number;
  /** Flows it could give up (never assured). */
  readonly evictable: number;
  /** Close its oldest never-assured flow; false when it has none. */
  evictOldest(): boolean;
}

export interface UdpFlowLimits {
  /** Flows of all UDP services together. */
  max: number;
  /** Flows of one UDP service. */
  perService: number;
}

/** The soft RLIMIT_NOFILE of this process (Node raises it to the hard limit at start), or null when unknown. */
export function openFileLimit(limitsText?: string): number | null {
  let text = limitsText;
  try {
    text ??= readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return null;
  return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

/**
 * Half the descriptors this process may open, the other half left to TCP connections, listeners, the control API
 * and the rest; 512 flows when the limit is unknown, never below 64, never above 1 << 20.
 */
export function defaultUdpMaxFlows(nofile = openFileLimit()): number {
  if (nofile === null) return 512;
  return Math.min(1 << 20, Math.max(64, Math.floor(nofile / 2)));
}

export class UdpFlowBudget {
  /** Sockets held by every holder together. */
  used = 0;
  private readonly holders = new Set<UdpFlowHolder>();
  private lastLog = -Infinity;
  private evictedSinceLog = 0;
  private refusedSinceLog = 0;

  constructor(
    readonly limits: UdpFlowLimits,
    private readonly counters: ProxyCounters,
    private readonly log: Logger,
  ) {}

  join(h: UdpFlowHolder): void {
    this.holders.add(h);
  }

  leave(h: UdpFlowHolder): void {
    this.holders.delete(h);
  }

  /**
   * Whether `h` may open one more flow, after evicting another one when a limit is reached; false = refuse it.
   * Its own never-assured flows go first, then (at the global limit) those of the holder with the most of them.
   */
  admit(h: UdpFlowHolder): boolean {
    if (h.held >= this.limits.perService && !this.evict(h)) return this.refuse(h);
    if (this.used >= this.limits.max && !this.evict(h) && !this.evictElsewhere()) return this.refuse(h);
    return true;
  }

  private evict(h: UdpFlowHolder): boolean {
    if (!h.evictOldest()) return false;
    this.counters.udpFlowsEvicted++;
    this.evictedSinceLog++;
    this.report(h.service);
    return true;
  }

  private evictElsewhere(): boolean {
    let best: UdpFlowHolder | null = null;
    for (const h of this.holders) if (h.evictable > (best?.evictable ?? 0)) best = h;
    return best !== null && this.evict(best);
  }

  private refuse(h: UdpFlowHolder): false {
    this.counters.udpFlowsRefused++;
    this.refusedSinceLog++;
    this.report(h.service);
    return false;
  }

  /** One line a second at most, with what happened since the last one. */
  private report(service: string): void {
    const now = Date.now();
    if (now - this.lastLog < 1000) return;
    this.lastLog = now;
    this.log.warn(
      { service, flows: this.used, ...this.limits, evicted: this.evictedSinceLog, refused: this.refusedSinceLog },
      'UDP flow table full: evicting flows that never saw a reply, refusing new flows when none is left',
    );
    this.evictedSinceLog = 0;
    this.refusedSinceLog = 0;
  }
}
