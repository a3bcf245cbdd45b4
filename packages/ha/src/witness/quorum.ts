/**
 * The quorum arithmetic of the split-brain guard, pure: what this dispatcher believes about the votes (leases) its
 * agent witnesses gave it per vrid, and which gateways answered lately. Time is passed in (ms, monotonic), so the
 * rules are tested on a fake clock.
 *
 * Safety rests on one rule: a granted lease counts from the moment the *request* was sent, for `leaseMs - guardMs`,
 * while the agent counts it from when it received the request, for `leaseMs`. The dispatcher's belief therefore
 * always ends before the agent's lease, by at least `guardMs` (room for removing the VIPs and a late timer), and an
 * agent grants a vrid to one dispatcher at a time: two dispatchers cannot both hold a majority of the same electorate.
 */
import type { VoteView } from '@vsd/protocol';
export type { VoteView };

/** Smallest number of n witnesses that is more than half. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

interface AgentVote {
  /** Our belief ends here (ms); undefined = not held. */
  heldUntil: number | undefined;
  /** Last answer of any kind (granted or refused): the agent is reachable and judging. */
  answeredAt: number | undefined;
  refusedRemainingMs: number | undefined;
  /** seq -> sent-at of requests not answered yet. */
  pending: Map<number, number>;
}

/** Pending requests kept per agent and vrid; older ones are forgotten (their answers are then ignored). */
const MAX_PENDING = 64;

export class VoteBook {
  private readonly votes = new Map<number, Map<string, AgentVote>>();

  constructor(
    readonly electorate: readonly string[],
    readonly leaseMs: number,
    readonly guardMs: number,
  ) {
    if (guardMs < 0 || guardMs >= leaseMs) throw new RangeError('guardMs must be in [0, leaseMs)');
  }

  get needed(): number {
    return majority(this.electorate.length);
  }

  private entry(vrid: number, agent: string): AgentVote {
    let m = this.votes.get(vrid);
    if (!m) this.votes.set(vrid, (m = new Map()));
    let e = m.get(agent);
    if (!e) m.set(agent, (e = { heldUntil: undefined, answeredAt: undefined, refusedRemainingMs: undefined, pending: new Map() }));
    return e;
  }

  /** A vote-request with `seq` went to `agent` at `at`. */
  sent(agent: string, vrid: number, seq: number, at: number): void {
    if (!this.electorate.includes(agent)) return;
    const p = this.entry(vrid, agent).pending;
    p.set(seq, at);
    if (p.size > MAX_PENDING) p.delete(p.keys().next().value!);
  }

  /**
   * An answer arrived. Only answers to requests we still wait for count: one sent before a release or before the
   * connection it came over was dropped is ignored (the agent may have freed that lease since).
   */
  answered(agent: string, vrid: number, seq: number, granted: boolean, remainingMs: number, at: number): boolean {
    if (!this.electorate.includes(agent)) return false;
    const e = this.entry(vrid, agent);
    const sentAt = e.pending.get(seq);
    if (sentAt === undefined) return false;
    // Answers on one connection come in order: older requests will not be answered any more.
    for (const s of [...e.pending.keys()]) if (s <= seq) e.pending.delete(s);
    e.answeredAt = at;
    if (granted) {
      const until = sentAt + Math.min(remainingMs, this.leaseMs) - this.guardMs;
      e.heldUntil = Math.max(e.heldUntil ?? -Infinity, until);
      e.refusedRemainingMs = undefined;
    } else {
      e.heldUntil = undefined;
      e.refusedRemainingMs = remainingMs;
    }
    return true;
  }

  /** The agent's connection ended: every vote it gave is void, and answers still on their way are ignored. */
  dropAgent(agent: string): void {
    for (const m of this.votes.values()) m.delete(agent);
  }

  /** We released `vrid` at every agent: nothing held, late grants ignored. */
  released(vrid: number): void {
    this.votes.delete(vrid);
  }

  /** Agents whose vote for `vrid` we hold at `now`. */
  held(vrid: number, now: number): string[] {
    const m = this.votes.get(vrid);
    if (!m) return [];
    return this.electorate.filter((a) => {
      const u = m.get(a)?.heldUntil;
      return u !== undefined && u > now;
    });
  }

  hasMajority(vrid: number, now: number): boolean {
    return this.held(vrid, now).length >= this.needed;
  }

  /** Agents that answered a request for `vrid` (either way) within the last lease: they are reachable and judging. */
  answering(vrid: number, now: number): string[] {
    const m = this.votes.get(vrid);
    if (!m) return [];
    return this.electorate.filter((a) => {
      const t = m.get(a)?.answeredAt;
      return t !== undefined && now - t <= this.leaseMs;
    });
  }

  /** The next time `held(vrid)` shrinks on its own (a belief runs out), for the expiry timer. */
  nextExpiry(vrid: number, now: number): number | undefined {
    let next: number | undefined;
    for (const e of this.votes.get(vrid)?.values() ?? [])
      if (e.heldUntil !== undefined && e.heldUntil > now && (next === undefined || e.heldUntil < next)) next = e.heldUntil;
    return next;
  }

  view(vrid: number, agent: string, now: number): { vote: VoteView; remainingMs: number | null } {
    const e = this.votes.get(vrid)?.get(agent);
    if (e?.heldUntil !== undefined && e.heldUntil > now) return { vote: 'held', remainingMs: Math.round(e.heldUntil - now) };
    if (e?.refusedRemainingMs !== undefined && e.answeredAt !== undefined && now - e.answeredAt <= this.leaseMs)
      return { vote: 'refused', remainingMs: e.refusedRemainingMs };
    return { vote: 'none', remainingMs: null };
  }
}

/** Gateways that answered a probe within `windowMs`. */
export class GatewayBook {
  private readonly last = new Map<string, number>();

  constructor(
    readonly gateways: readonly string[],
    readonly windowMs: number,
  ) {}

  get needed(): number {
    return majority(this.gateways.length);
  }

  replied(gateway: string, at: number): void {
    if (this.gateways.includes(gateway)) this.last.set(gateway, at);
  }

  reached(now: number): string[] {
    return this.gateways.filter((g) => {
      const t = this.last.get(g);
      return t !== undefined && now - t <= this.windowMs;
    });
  }

  /** True with no gateways configured: they then do not take part. */
  hasMajority(now: number): boolean {
    return this.gateways.length === 0 || this.reached(now).length >= this.needed;
  }

  lastReply(gateway: string): number | undefined {
    return this.last.get(gateway);
  }
}
