/**
 * The split-brain guard end to end on a fake clock: two gated VRRP state machines (@vsd/ha), their witnesses, and agents
 * voting with the real Voter of @vsd/agent (pair-sim.ts; here because it spans both packages). Every check is made after every 5 ms step.
 */
import { describe, expect, it } from 'vitest';
import { PairSim } from './pair-sim.js';

function pair(agents = ['web1', 'web2'], options: ConstructorParameters<typeof PairSim>[1] = {}) {
  const sim = new PairSim(agents, options);
  const lvs1 = sim.addNode('lvs1', '10.77.0.11', 150);
  const lvs2 = sim.addNode('lvs2', '10.77.0.12', 100);
  return { sim, lvs1, lvs2 };
}

const atMostOne = (m: string[], at: number) => {
  if (m.length > 1) throw new Error(`two MASTERs at ${at} ms: ${m.join(', ')}`);
};

describe('split-brain guard (pair on a fake clock)', () => {
  it('elects the higher priority with the votes of both agents; the BACKUP holds none', () => {
    const { sim, lvs1, lvs2 } = pair();
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(1000, 5, atMostOne);
    expect(sim.masters()).toEqual(['lvs1']);
    expect(lvs1.witness.status().instances[0]).toMatchObject({ quorum: 'allowed', votesHeld: ['web1', 'web2'], votesNeeded: 2 });
    expect(lvs2.witness.status().instances[0]!.votesHeld).toEqual([]);
  });

  it('VRRP link cut, both reach the agents: exactly one MASTER for 10 s, and one after the heal', () => {
    const { sim, lvs2 } = pair();
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(1000);
    sim.cut('lvs1', 'lvs2');
    sim.run(10_000, 5, (m, at) => {
      if (m.length !== 1 || m[0] !== 'lvs1') throw new Error(`at ${at} ms masters: ${m.join(', ') || 'none'}`);
    });
    expect(lvs2.sm.contending).toBe(true);
    expect(lvs2.witness.status().instances[0]!.quorum).toBe('contending');
    sim.heal('lvs1', 'lvs2');
    sim.run(2000, 5, atMostOne);
    expect(sim.masters()).toEqual(['lvs1']);
    expect(lvs2.sm.contending).toBe(false);
  });

  it('lvs1 cut from everything: it leaves MASTER before lvs2 takes it, lvs2 stays MASTER; after the heal one MASTER', () => {
    const { sim, lvs1 } = pair();
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(1000);
    const cutAt = sim.timers.now();
    sim.isolate('lvs1');
    let lvs2At: number | undefined;
    let lvs1LeftAt: number | undefined;
    sim.run(5000, 5, (m, at) => {
      atMostOne(m, at);
      if (!m.includes('lvs1')) lvs1LeftAt ??= at;
      if (m.includes('lvs2')) lvs2At ??= at;
    });
    expect(sim.masters()).toEqual(['lvs2']);
    expect(lvs1.sm.state).toBe('BACKUP');
    expect(lvs1.sm.contending).toBe(true);
    expect(lvs1LeftAt!).toBeLessThan(lvs2At!);
    // The lease (500 ms) bounds it: lvs2 asks from Master_Down_Interval on, the agents free lvs1's lease 500 ms after its last renewal.
    expect(lvs2At! - cutAt).toBeLessThanOrEqual(560);
    sim.isolate('lvs1', false);
    sim.run(3000, 5, atMostOne);
    expect(sim.masters()).toHaveLength(1);
  });

  it('crash of the MASTER with its host up: lvs2 is MASTER within Master_Down_Interval plus a round trip', () => {
    const { sim } = pair();
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(1000);
    const crashAt = sim.timers.now();
    sim.crash('lvs1');
    let at: number | undefined;
    sim.run(1000, 1, (m, t) => {
      if (m.includes('lvs2')) at ??= t;
    });
    // Master_Down_Interval for priority 100 at 50 ms: 150 + 30.5 ms.
    expect(at! - crashAt).toBeLessThanOrEqual(190);
  });

  it('an agent cut from lvs1 alone: 1 of 2 votes is no majority, lvs1 gives the other back and lvs2 (reaching both) becomes MASTER', () => {
    const { sim, lvs1 } = pair();
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(1000);
    sim.cut('lvs1', 'web2');
    sim.run(3000, 5, atMostOne);
    expect(sim.masters()).toEqual(['lvs2']);
    expect(lvs1.witness.status().instances[0]!.votesHeld).toEqual([]);
  });

  it('no agent reachable from either side: nobody is MASTER (no VIP anywhere rather than two)', () => {
    const { sim } = pair();
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(1000);
    for (const n of ['lvs1', 'lvs2']) for (const a of ['web1', 'web2']) sim.cut(n, a);
    sim.run(3000, 5, atMostOne);
    expect(sim.masters()).toEqual([]);
  });

  it('a split vote with the VRRP link cut (1 + 1 of 2) is broken by the random back-off', () => {
    let r = 0;
    const seq = [0.9, 0.1, 0.5, 0.3, 0.7];
    const { sim } = pair(['web1', 'web2'], { random: () => seq[r++ % seq.length]! });
    sim.cut('lvs1', 'lvs2');
    // Each dispatcher reaches one agent first: lvs1 gets web1, lvs2 gets web2.
    sim.cut('lvs1', 'web2');
    sim.cut('lvs2', 'web1');
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(500, 5, atMostOne);
    expect(sim.masters()).toEqual([]);
    sim.heal('lvs1', 'web2');
    sim.heal('lvs2', 'web1');
    let first: number | undefined;
    sim.run(5000, 5, (m, at) => {
      atMostOne(m, at);
      if (m.length) first ??= at;
    });
    expect(sim.masters()).toHaveLength(1);
    expect(first).toBeDefined();
  });

  it('preemption still works: lvs1 restarted while lvs2 is MASTER contends, lvs2 yields and releases, lvs1 is MASTER', () => {
    const { sim } = pair();
    sim.start('lvs2');
    sim.run(1000);
    expect(sim.masters()).toEqual(['lvs2']);
    sim.start('lvs1');
    sim.run(2000, 5, atMostOne);
    expect(sim.masters()).toEqual(['lvs1']);
  });

  it('resign (vsctl failover) hands the votes over at once: lvs2 MASTER within ~100 ms', () => {
    const { sim, lvs1 } = pair();
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(1000);
    const t0 = sim.timers.now();
    expect(lvs1.sm.resign()).toBe(true);
    let at: number | undefined;
    sim.run(1000, 1, (m, t) => {
      atMostOne(m, t);
      if (m.includes('lvs2')) at ??= t;
    });
    expect(sim.masters()).toEqual(['lvs2']);
    expect(at! - t0).toBeLessThan(120);
  });

  it('takeover on the BACKUP contends with the raised priority until the MASTER yields', () => {
    const { sim, lvs2 } = pair();
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(1000);
    expect(lvs2.sm.takeover()).toBe(true);
    expect(lvs2.sm.state).toBe('BACKUP');
    sim.run(500, 5, atMostOne);
    expect(sim.masters()).toEqual(['lvs2']);
  });

  it('three agents: losing one keeps the quorum (2 of 3)', () => {
    const { sim } = pair(['web1', 'web2', 'web3']);
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(1000);
    sim.cut('lvs1', 'web3');
    sim.cut('lvs2', 'web3');
    sim.run(3000, 5, (m, at) => {
      if (m.join() !== 'lvs1') throw new Error(`at ${at}: ${m.join()}`);
    });
  });
});

describe('split-brain guard: contention details', () => {
  it('a takeover that is contending keeps its raised priority when the MASTER resigns meanwhile', () => {
    const sim = new PairSim(['web1', 'web2']);
    const lvs1 = sim.addNode('lvs1', '10.77.0.11', 150);
    const lvs2 = sim.addNode('lvs2', '10.77.0.12', 100);
    sim.start('lvs1');
    sim.start('lvs2');
    sim.run(1000);
    // The agents are cut from lvs2 only long enough for the takeover to be contending, not granted.
    sim.cut('lvs2', 'web1');
    sim.cut('lvs2', 'web2');
    expect(lvs2.sm.takeover()).toBe(true);
    sim.run(20);
    expect(lvs2.sm.contending).toBe(true);
    lvs1.sm.resign();
    sim.heal('lvs2', 'web1');
    sim.heal('lvs2', 'web2');
    sim.run(1000, 5, (m, at) => {
      if (m.length > 1) throw new Error(`two MASTERs at ${at}`);
    });
    expect(sim.masters()).toEqual(['lvs2']);
    expect(lvs2.sm.advertisedPriority).toBe(151);
  });
});
