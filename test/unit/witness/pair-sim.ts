/**
 * A dispatcher pair on a fake clock: two VRRP state machines gated by their Witness, agents voting through the
 * real Voter, and a network whose links can be cut one by one (VRRP between the dispatchers, each
 * dispatcher <-> agent connection). A cut drops packets both ways and closes nothing (TCP stays up, as with a
 * pulled cable); crash() ends a dispatcher's process, whose agent connections then end from its side.
 */
import type { Vote, VoteChannel, VoteListener } from '@vsd/core';
import { Voter } from '../../../packages/agent/src/voter.js';
import { VrrpStateMachine, type Transition } from '../../../packages/ha/src/vrrp/state-machine.js';
import { Witness } from '../../../packages/ha/src/witness/witness.js';
import { FakeTimers } from '../../../packages/ha/test/fake-timers.js';

const DELAY = 1;

export interface SimNode {
  name: string;
  ip: string;
  sm: VrrpStateMachine;
  witness: Witness;
  channel: SimChannel;
  transitions: Transition[];
  alive: boolean;
}

class SimChannel implements VoteChannel {
  readonly listeners = new Set<VoteListener>();
  constructor(
    private readonly sim: PairSim,
    private readonly node: string,
  ) {}
  /** A cut loses packets; the TCP connections stay up (nothing closes them), as with a pulled cable. */
  voters(): string[] {
    return this.sim.agents;
  }
  request(agent: string, vrid: number, seq: number, leaseMs: number): boolean {
    this.sim.deliver(this.node, agent, () => {
      const a = this.sim.voters.get(agent)!.request(this.node, vrid, leaseMs);
      const vote: Vote = { v: 1, type: 'vote', vrid, seq, granted: a.granted, remainingMs: a.remainingMs };
      this.sim.deliver(agent, this.node, () => {
        for (const l of this.listeners) l.vote(agent, vote);
      });
    });
    return true;
  }
  release(agent: string, vrid: number): void {
    this.sim.deliver(this.node, agent, () => this.sim.voters.get(agent)!.release(this.node, vrid));
  }
  subscribe(listener: VoteListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export class PairSim {
  readonly timers = new FakeTimers();
  readonly voters = new Map<string, Voter>();
  readonly nodes = new Map<string, SimNode>();
  /** "a|b" -> cut (both directions). */
  private readonly cuts = new Set<string>();

  constructor(
    readonly agents: string[],
    readonly options: { leaseMs?: number; probeIntervalMs?: number; intervalCs?: number; random?: () => number } = {},
  ) {
    for (const a of agents) this.voters.set(a, new Voter(() => this.timers.now()));
  }

  addNode(name: string, ip: string, priority: number, extra: { preempt?: boolean } = {}): SimNode {
    const channel = new SimChannel(this, name);
    const witness = new Witness({
      agents: this.agents,
      gateways: [],
      leaseMs: this.options.leaseMs ?? 500,
      probeIntervalMs: this.options.probeIntervalMs ?? 50,
      channel,
      timers: this.timers,
      random: this.options.random,
    });
    const gate = witness.gate(51);
    const transitions: Transition[] = [];
    const node = { name, ip, witness, channel, transitions, alive: true } as SimNode;
    node.sm = new VrrpStateMachine(
      { version: 3, priority, intervalCs: this.options.intervalCs ?? 5, preempt: extra.preempt ?? true, preemptDelayMs: 0, primaryAddress: ip, gate },
      {
        send: (p) => this.advert(node, p),
        transition: (t) => transitions.push(t),
      },
      this.timers,
    );
    gate.onChange(() => node.alive && node.sm.gateChanged());
    this.nodes.set(name, node);
    return node;
  }

  start(name: string): void {
    const n = this.nodes.get(name)!;
    n.witness.start();
    n.sm.start();
  }

  private key(a: string, b: string): string {
    return [a, b].sort().join('|');
  }
  cut(a: string, b: string): void {
    this.cuts.add(this.key(a, b));
  }
  heal(a: string, b: string): void {
    this.cuts.delete(this.key(a, b));
  }
  /** Cut (or heal) one node from every other node and agent. */
  isolate(name: string, on = true): void {
    for (const other of [...this.nodes.keys(), ...this.agents]) if (other !== name) (on ? this.cut : this.heal).call(this, name, other);
  }
  deliver(from: string, to: string, fn: () => void): void {
    if (this.cuts.has(this.key(from, to))) return;
    this.timers.setTimeout(() => {
      if (this.cuts.has(this.key(from, to))) return;
      if (this.nodes.has(from) && !this.nodes.get(from)!.alive) return;
      if (this.nodes.has(to) && !this.nodes.get(to)!.alive) return;
      fn();
    }, DELAY);
  }

  private advert(from: SimNode, priority: number): void {
    for (const other of this.nodes.values()) {
      if (other === from) continue;
      this.deliver(from.name, other.name, () =>
        other.sm.receive({ version: 3, vrid: 51, priority, intervalCs: this.options.intervalCs ?? 5, addresses: ['10.77.0.100'] }, from.ip),
      );
    }
  }

  /** kill -9 with the host up: the process stops at once, its kernel ends its agent connections (from its side). */
  crash(name: string): void {
    const n = this.nodes.get(name)!;
    n.alive = false;
    for (const a of this.agents) if (!this.cuts.has(this.key(name, a))) this.timers.setTimeout(() => this.voters.get(a)!.releaseAll(name), DELAY);
  }

  masters(): string[] {
    return [...this.nodes.values()].filter((n) => n.alive && n.sm.state === 'MASTER').map((n) => n.name);
  }

  /** Advance `ms` in steps of `step`, checking after every step; returns the masters seen at each step. */
  run(ms: number, step = 5, check?: (masters: string[], at: number) => void): void {
    for (let t = 0; t < ms; t += step) {
      this.timers.advance(step);
      check?.(this.masters(), this.timers.now());
    }
  }
}
