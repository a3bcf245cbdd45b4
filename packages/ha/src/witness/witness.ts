/**
 * The split-brain guard of one dispatcher: one Witness shared by all its VRRP instances, a MasterGate per vrid.
 * An instance that wants to be MASTER says so (want); the witness then asks every agent witness for the vrid's
 * lease every probe_interval (a renewal while it holds it) and probes the gateways; the gate is open while this
 * dispatcher holds the votes of a majority of its agent witnesses and reaches a majority of its gateways. When the
 * instance leaves MASTER it releases the votes at once, so the peer does not wait for the leases to run out.
 */
import { invariant, silentLogger, type Logger, type Vote, type VoteChannel } from '@vsd/core';
import { addressBytes, bytesToAddress } from '../vrrp/addr.js';
import { systemTimers, type TimerHandle, type Timers } from '../vrrp/state-machine.js';
import type { GatewayProber } from './icmp-probe.js';
import { GatewayBook, VoteBook, majority } from './quorum.js';
import type { WitnessInstanceStatus, WitnessStatus } from '@vsd/protocol';
export type { WitnessInstanceStatus, WitnessStatus };

/** The small hook a VRRP instance is given (VrrpInstanceDeps.gate). */
export interface MasterGate {
  /** May be MASTER now: holds a majority of the agent votes for its vrid and reaches a majority of gateways. */
  allowed(): boolean;
  /**
   * May contend (advertise while waiting for votes, so a lower-priority MASTER yields): a majority of the agent
   * witnesses answer us and a majority of gateways are reached, so the votes a yielding peer releases can come here.
   */
  canContend(): boolean;
  /** The instance wants to be (or stay) MASTER, or no longer does (its votes are released). */
  want(wanted: boolean): void;
  /** Called when allowed() or canContend() may have changed; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

export interface WitnessOptions {
  /** Agent names whose votes count (the electorate); may be empty with gateways. */
  agents: readonly string[];
  gateways: readonly string[];
  leaseMs: number;
  probeIntervalMs: number;
  /** The agent vote channel (the hub's HubVotes); null when no agent witnesses. */
  channel: VoteChannel | null;
  /** Gateway probes; needed when gateways are listed. */
  prober?: GatewayProber | null;
  timers?: Timers;
  logger?: Logger;
  /** Random numbers in [0, 1) for the contention back-off; tests pass a fixed sequence. */
  random?: () => number;
}

interface GateState {
  vrid: number;
  wanted: boolean;
  allowed: boolean;
  contend: boolean;
  listeners: Set<() => void>;
  /** Since when we hold some votes but not a majority while wanting them (split vote), and how long we accept that. */
  partialSince: number | undefined;
  partialLimitMs: number;
  /** No requests before this time (after giving a split vote back). */
  backoffUntil: number;
}

export class Witness {
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly book: VoteBook;
  private readonly gws: GatewayBook;
  private readonly gates = new Map<number, GateState>();
  private readonly connected = new Set<string>();
  private seq = 0;
  private tickTimer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  private unsubscribe: (() => void) | undefined;
  private running = false;

  constructor(private readonly opts: WitnessOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'witness' });
    this.timers = opts.timers ?? systemTimers;
    // Guard: our belief ends a fifth of a lease before the agent's, time to remove the VIPs before the peer may add them.
    this.book = new VoteBook(opts.agents, opts.leaseMs, Math.round(opts.leaseMs / 5));
    this.gws = new GatewayBook(
      opts.gateways.map((g) => bytesToAddress(addressBytes(g))),
      opts.leaseMs,
    );
    invariant(!opts.agents.length || opts.channel, 'Witness: agent witnesses without the agents hub (WitnessOptions.channel)');
    invariant(!opts.gateways.length || opts.prober, 'Witness: gateway witnesses without a prober (WitnessOptions.prober)');
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.opts.channel) {
      for (const a of this.opts.channel.voters()) this.connected.add(a);
      this.unsubscribe = this.opts.channel.subscribe({ vote: (a, v) => this.onVote(a, v), voter: (a, c) => this.onVoter(a, c) });
    }
    this.opts.prober?.onReply((g) => {
      this.gws.replied(g, this.timers.now());
      this.evaluate();
    });
    this.log.info(
      { agents: this.opts.agents, gateways: this.opts.gateways, leaseMs: this.opts.leaseMs, probeIntervalMs: this.opts.probeIntervalMs },
      'split-brain witness on',
    );
    this.tick();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    for (const g of this.gates.values()) if (g.wanted) this.setWanted(g, false);
    this.running = false;
    if (this.tickTimer !== undefined) this.timers.clearTimeout(this.tickTimer);
    if (this.expiryTimer !== undefined) this.timers.clearTimeout(this.expiryTimer);
    this.unsubscribe?.();
    await this.opts.prober?.close();
  }

  /** The gate of one VRRP instance (one per vrid; asking twice gives the same state). */
  gate(vrid: number): MasterGate {
    let g = this.gates.get(vrid);
    if (!g)
      this.gates.set(
        vrid,
        (g = { vrid, wanted: false, allowed: false, contend: false, listeners: new Set(), partialSince: undefined, partialLimitMs: 0, backoffUntil: 0 }),
      );
    const state = g;
    return {
      allowed: () => this.running && this.computeAllowed(state.vrid, this.timers.now()),
      canContend: () => this.running && this.computeContend(state.vrid, this.timers.now()),
      want: (wanted) => this.setWanted(state, wanted),
      onChange: (l) => {
        state.listeners.add(l);
        return () => state.listeners.delete(l);
      },
    };
  }

  status(): WitnessStatus {
    const now = this.timers.now();
    const vrids = [...this.gates.keys()].sort((a, b) => a - b);
    const reached = new Set(this.gws.reached(now));
    return {
      enabled: true,
      leaseMs: this.opts.leaseMs,
      probeIntervalMs: this.opts.probeIntervalMs,
      agents: this.opts.agents.map((agent) => ({
        agent,
        connected: this.connected.has(agent),
        votes: vrids.map((vrid) => ({ vrid, ...this.book.view(vrid, agent, now) })),
      })),
      gateways: this.gws.gateways.map((address) => {
        const t = this.gws.lastReply(address);
        return { address, reached: reached.has(address), lastReplyAgoMs: t === undefined ? null : Math.round(now - t) };
      }),
      gatewaysNeeded: this.gws.gateways.length ? majority(this.gws.gateways.length) : 0,
      instances: vrids.map((vrid) => {
        const g = this.gates.get(vrid)!;
        const allowed = this.computeAllowed(vrid, now);
        return {
          vrid,
          wanted: g.wanted,
          quorum: allowed ? 'allowed' : this.computeContend(vrid, now) ? 'contending' : 'no-quorum',
          votesHeld: this.book.held(vrid, now),
          votesNeeded: this.opts.agents.length ? this.book.needed : 0,
        };
      }),
    };
  }

  private computeAllowed(vrid: number, now: number): boolean {
    const agentsOk = this.opts.agents.length === 0 || this.book.hasMajority(vrid, now);
    return agentsOk && this.gws.hasMajority(now);
  }

  private computeContend(vrid: number, now: number): boolean {
    const agentsOk = this.opts.agents.length === 0 || this.book.answering(vrid, now).length >= this.book.needed;
    return agentsOk && this.gws.hasMajority(now);
  }

  private setWanted(g: GateState, wanted: boolean): void {
    if (g.wanted === wanted) return;
    g.wanted = wanted;
    if (wanted) {
      this.log.debug({ vrid: g.vrid }, 'asking the witnesses for votes');
      this.request(g.vrid);
    } else {
      const held = this.book.held(g.vrid, this.timers.now());
      for (const a of this.connected) if (this.opts.agents.includes(a)) this.opts.channel?.release(a, g.vrid);
      this.book.released(g.vrid);
      if (held.length) this.log.info({ vrid: g.vrid, released: held }, 'witness votes released');
    }
    this.evaluate();
  }

  private request(vrid: number): void {
    const now = this.timers.now();
    for (const a of this.opts.agents) {
      if (!this.connected.has(a)) continue;
      const seq = ++this.seq;
      this.book.sent(a, vrid, seq, now);
      this.opts.channel!.request(a, vrid, seq, this.opts.leaseMs);
    }
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.timers.now();
    for (const g of this.gates.values()) if (g.wanted && now >= g.backoffUntil) this.request(g.vrid);
    for (const gw of this.gws.gateways) this.opts.prober?.probe(gw);
    this.evaluate();
    this.tickTimer = this.timers.setTimeout(() => this.tick(), this.opts.probeIntervalMs);
  }

  private onVote(agent: string, v: Vote): void {
    if (!this.running) return;
    if (!this.gates.get(v.vrid)?.wanted) return;
    if (this.book.answered(agent, v.vrid, v.seq, v.granted, v.remainingMs, this.timers.now())) this.evaluate();
  }

  private onVoter(agent: string, connected: boolean): void {
    if (connected) {
      this.connected.add(agent);
      if (this.opts.agents.includes(agent)) for (const g of this.gates.values()) if (g.wanted) this.request(g.vrid);
    } else {
      this.connected.delete(agent);
      this.book.dropAgent(agent);
    }
    if (this.opts.agents.includes(agent))
      this.log.info({ agent, connected }, connected ? 'agent witness connected' : 'agent witness disconnected: its votes are void');
    this.evaluate();
  }

  /**
   * Two dispatchers asking at the same moment can each get some of the votes and no majority (1 + 1 of 2), and
   * renewing them would block each other for ever. A dispatcher that has held a minority for longer than a lease
   * (plus a random part) gives it back and waits a random fraction of a lease before asking again, so the other one
   * collects the majority (Raft's randomised election timeout, for the same reason). A peer that crashed does not
   * cause this: its leases end within one lease, and then we get the rest.
   */
  private breakSplitVote(g: GateState, allowed: boolean, now: number): void {
    const held = g.wanted && !allowed && this.opts.agents.length > 0 ? this.book.held(g.vrid, now) : [];
    if (held.length === 0) {
      g.partialSince = undefined;
      return;
    }
    const random = this.opts.random ?? Math.random;
    if (g.partialSince === undefined) {
      g.partialSince = now;
      g.partialLimitMs = this.opts.leaseMs * (1 + random());
      return;
    }
    if (now - g.partialSince < g.partialLimitMs) return;
    this.log.warn({ vrid: g.vrid, held, needed: this.book.needed }, 'split vote: giving back a minority of the witness votes and asking again later');
    for (const a of held) this.opts.channel?.release(a, g.vrid);
    this.book.released(g.vrid);
    g.partialSince = undefined;
    g.backoffUntil = now + (this.opts.leaseMs / 2) * random();
  }

  /** Recompute every gate, tell the instances whose gate changed, and wake up when the next vote runs out. */
  private evaluate(): void {
    if (!this.running) return;
    const now = this.timers.now();
    let next: number | undefined;
    for (const g of this.gates.values()) {
      const allowed = this.computeAllowed(g.vrid, now);
      const contend = this.computeContend(g.vrid, now);
      const changed = allowed !== g.allowed || contend !== g.contend;
      if (allowed !== g.allowed)
        this.log[allowed ? 'info' : 'warn'](
          { vrid: g.vrid, votes: this.book.held(g.vrid, now), needed: this.book.needed, gateways: this.gws.reached(now) },
          allowed ? 'witness quorum held' : 'witness quorum lost',
        );
      g.allowed = allowed;
      g.contend = contend;
      if (changed)
        for (const l of g.listeners) {
          try {
            l();
          } catch (err) {
            this.log.error({ err: (err as Error).message }, 'gate listener threw');
          }
        }
      this.breakSplitVote(g, allowed, now);
      const e = this.book.nextExpiry(g.vrid, now);
      if (e !== undefined && (next === undefined || e < next)) next = e;
    }
    if (this.expiryTimer !== undefined) this.timers.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (next !== undefined) this.expiryTimer = this.timers.setTimeout(() => this.evaluate(), Math.max(1, next - now));
  }
}
