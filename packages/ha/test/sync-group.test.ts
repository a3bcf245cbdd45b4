import { describe, expect, it } from 'vitest';
import { SyncGroup } from '../src/sync-group.js';
import { FakeSegment, fakeNode, FakeTimers, run, states, type FakeNode } from './support/fake-pair.js';

/** Two nodes, each with VI_1 and VI_2 in sync group G1; node 1 has the higher priorities. */
async function groupedPair(track = false) {
  const timers = new FakeTimers();
  const seg = new FakeSegment(timers);
  const nodes: FakeNode[] = [];
  const groups: SyncGroup[] = [];
  for (const [ip, priority] of [
    ['10.77.0.11', 150],
    ['10.77.0.12', 100],
  ] as const) {
    const n = fakeNode(seg, timers, ip);
    n.add({
      instance: 'VI_1',
      vrid: 51,
      priority,
      vips: ['10.77.0.100/24'],
      ...(track ? { track_scripts: [{ script: '/chk', interval: 0.1, weight: 0 }] } : {}),
    });
    n.add({ instance: 'VI_2', vrid: 52, priority, vips: ['10.77.0.101/24'] });
    const g = new SyncGroup('G1', n.instances);
    g.attach();
    groups.push(g);
    nodes.push(n);
  }
  for (const n of nodes) for (const i of n.instances.values()) await i.start();
  await run(timers, 500, nodes);
  expect(states(nodes[0]!)).toEqual({ VI_1: 'MASTER', VI_2: 'MASTER' });
  expect(states(nodes[1]!)).toEqual({ VI_1: 'BACKUP', VI_2: 'BACKUP' });
  return { timers, nodes, groups };
}

describe('vrrp_sync_group', () => {
  it("one member's FAULT holds the others in FAULT; the peer takes every VIP; all return when it clears", async () => {
    const { timers, nodes } = await groupedPair(true);
    const [n1, n2] = nodes as [FakeNode, FakeNode];
    n1.scripts.set('/chk', 1);
    await run(timers, 500, nodes);
    expect(states(n1)).toEqual({ VI_1: 'FAULT', VI_2: 'FAULT' });
    expect(n1.instances.get('VI_2')!.status()).toMatchObject({ ownFault: false, externalFaults: ['sync_group:G1'] });
    expect(states(n2)).toEqual({ VI_1: 'MASTER', VI_2: 'MASTER' });
    expect(n1.addresses.present.size).toBe(0);
    n1.scripts.set('/chk', 0);
    await run(timers, 1000, nodes);
    // Back in the election with preempt: node 1 has the higher priorities again.
    expect(states(n1)).toEqual({ VI_1: 'MASTER', VI_2: 'MASTER' });
    expect(n1.instances.get('VI_2')!.status().externalFaults).toEqual([]);
    expect(states(n2)).toEqual({ VI_1: 'BACKUP', VI_2: 'BACKUP' });
  });

  it('a successor group of the same name (a reload) takes over the FAULT holds without a flap', async () => {
    const { timers, nodes, groups } = await groupedPair(true);
    const [n1] = nodes as [FakeNode, FakeNode];
    n1.scripts.set('/chk', 1);
    await run(timers, 500, nodes);
    expect(states(n1)).toEqual({ VI_1: 'FAULT', VI_2: 'FAULT' });
    const mark = n1.transitions.length;
    groups[0]!.detach(false);
    new SyncGroup('G1', n1.instances).attach();
    await run(timers, 500, nodes);
    expect(n1.transitions.slice(mark)).toEqual([]);
    expect(states(n1)).toEqual({ VI_1: 'FAULT', VI_2: 'FAULT' });
  });

  it('a failover of one member moves the whole group; release on one member ends the holds of all', async () => {
    const { timers, nodes, groups } = await groupedPair();
    const [n1, n2] = nodes as [FakeNode, FakeNode];
    expect(n1.instances.get('VI_1')!.resign()).toBe(true);
    await run(timers, 300, nodes);
    expect(states(n1)).toEqual({ VI_1: 'BACKUP', VI_2: 'BACKUP' });
    expect(states(n2)).toEqual({ VI_1: 'MASTER', VI_2: 'MASTER' });
    expect(n1.instances.get('VI_2')!.status().holds.resign).toBe(true);
    groups[0]!.release();
    await run(timers, 500, nodes);
    expect(states(n1)).toEqual({ VI_1: 'MASTER', VI_2: 'MASTER' });
  });

  it('a takeover of one member takes the whole group', async () => {
    const { timers, nodes } = await groupedPair();
    const [n1, n2] = nodes as [FakeNode, FakeNode];
    expect(n2.instances.get('VI_2')!.takeover()).toBe(true);
    await run(timers, 300, nodes);
    expect(states(n2)).toEqual({ VI_1: 'MASTER', VI_2: 'MASTER' });
    expect(states(n1)).toEqual({ VI_1: 'BACKUP', VI_2: 'BACKUP' });
  });

  it('without a group the instances move alone', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const n1 = fakeNode(seg, timers, '10.77.0.11');
    const n2 = fakeNode(seg, timers, '10.77.0.12');
    for (const [n, p] of [
      [n1, 150],
      [n2, 100],
    ] as const) {
      n.add({ instance: 'VI_1', vrid: 51, priority: p, vips: ['10.77.0.100/24'] });
      n.add({ instance: 'VI_2', vrid: 52, priority: p, vips: ['10.77.0.101/24'] });
    }
    for (const n of [n1, n2]) for (const i of n.instances.values()) await i.start();
    await run(timers, 500, [n1, n2]);
    n1.instances.get('VI_1')!.resign();
    await run(timers, 300, [n1, n2]);
    expect(states(n1)).toEqual({ VI_1: 'BACKUP', VI_2: 'MASTER' });
    expect(states(n2)).toEqual({ VI_1: 'MASTER', VI_2: 'BACKUP' });
  });
});
