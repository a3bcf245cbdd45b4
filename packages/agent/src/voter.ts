/**
 * The agent as a witness (feature `vote/1`): for each VRRP instance (vrid) it grants a time-limited lease to at most
 * one dispatcher at a time. The holder renews it; another dispatcher gets it only after it expired or was released
 * (vote-release, or the holder's side ended the connection: its process is gone). A dispatcher counts a lease from
 * the moment it *sent* its request, so its view always ends before the agent's: the two dispatchers can never both
 * believe they hold this agent's vote. Time is monotonic (performance.now), never the wall clock.
 */
import { MAX_LEASE_MS, MIN_LEASE_MS } from '@vsd/protocol';

export interface Lease {
  vrid: number;
  holder: string;
  remainingMs: number;
}

export interface VoteAnswer {
  granted: boolean;
  /** Granted: the lease length; refused: how long the other holder's lease still runs. */
  remainingMs: number;
}

export class Voter {
  private readonly leases = new Map<number, { holder: string; expiresAt: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** A request (or renewal) from `holder` (the dispatcher's configured address) for `vrid`. */
  request(holder: string, vrid: number, leaseMs: number): VoteAnswer {
    const ms = Math.min(MAX_LEASE_MS, Math.max(MIN_LEASE_MS, Math.round(leaseMs)));
    const now = this.now();
    const cur = this.leases.get(vrid);
    if (cur && cur.holder !== holder && cur.expiresAt > now) return { granted: false, remainingMs: Math.ceil(cur.expiresAt - now) };
    this.leases.set(vrid, { holder, expiresAt: now + ms });
    return { granted: true, remainingMs: ms };
  }

  /** The holder gives the lease back; a release from anyone else changes nothing. */
  release(holder: string, vrid: number): boolean {
    const cur = this.leases.get(vrid);
    if (!cur || cur.holder !== holder) return false;
    this.leases.delete(vrid);
    return true;
  }

  /** Every lease `holder` has: its connection was ended from its side. Returns the vrids freed. */
  releaseAll(holder: string): number[] {
    const freed: number[] = [];
    const now = this.now();
    for (const [vrid, l] of this.leases)
      if (l.holder === holder) {
        if (l.expiresAt > now) freed.push(vrid);
        this.leases.delete(vrid);
      }
    return freed;
  }

  /** Leases in force now. */
  leasesNow(): Lease[] {
    const now = this.now();
    const out: Lease[] = [];
    for (const [vrid, l] of this.leases) if (l.expiresAt > now) out.push({ vrid, holder: l.holder, remainingMs: Math.ceil(l.expiresAt - now) });
    return out.sort((a, b) => a.vrid - b.vrid);
  }
}
