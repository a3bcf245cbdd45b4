/**
 * The partition-heal merge logic on real stores: the winner's document installed, our journal since the common point
 * re-applied where it does not conflict and kept otherwise.
 */
import { describe, expect, it } from 'vitest';
import { diffStates, patchToOps, StateStore, type StateOp, type VirtualService } from '@vsd/core';
import { mergeDivergent, type JournalEntry } from '../../src/sync/merge.js';

const svc = (port: number, scheduler = 'rr'): VirtualService =>
  ({
    protocol: 'tcp',
    address: '10.77.0.100',
    port,
    scheduler,
    schedFlags: [],
    persistence: { timeout: 0 },
    pe: null,
    onePacket: false,
    realServers: [],
  }) as VirtualService;
const id = (port: number) => ({ protocol: 'tcp' as const, address: '10.77.0.100', port });
const rs = (address: string, port = 80, weight = 1) => ({
  address,
  port,
  weight,
  forwarding: 'masq' as const,
  upperThreshold: 0,
  lowerThreshold: 0,
  tunnel: null,
});

/** A common base, then `ours` on one store and `theirs` on another: returns our journal since the base and the winner. */
async function diverge(base: StateOp[][], ours: StateOp[][], theirs: StateOp[][]) {
  const mine = await StateStore.open({ path: null });
  const peer = await StateStore.open({ path: null });
  for (const t of base) {
    await mine.apply(t);
    await peer.apply(t);
  }
  const common = mine.generation;
  for (const t of ours) await mine.apply(t);
  for (const t of theirs) await peer.apply(t);
  const journal = mine.since(common)! as JournalEntry[];
  const winnerKeys = new Set(peer.since(common)!.flatMap((e) => Object.keys(e.patch!)));
  await mine.install(peer.state as never, 'peer');
  let n = 0;
  const outcome = await mergeDivergent(journal, winnerKeys, mine, () => `d-${++n}`);
  return { mine, peer, outcome };
}

const find = (s: StateStore, port: number) => s.state.services.find((v) => 'port' in v && v.port === port);

describe('partition-heal merge', () => {
  it('re-applies changes to keys the winner did not touch, even inside a service the winner edited', async () => {
    const { mine, outcome } = await diverge(
      [[{ op: 'add-service', service: svc(80) }]],
      [[{ op: 'add-server', service: id(80), server: rs('10.77.0.21') }], [{ op: 'add-service', service: svc(81) }]],
      [[{ op: 'edit-service', service: svc(80, 'wlc') }], [{ op: 'add-service', service: svc(90) }]],
    );
    expect(outcome.kept).toEqual([]);
    expect(outcome.reapplied.map((e) => e.generation)).toEqual([2, 3]);
    expect(find(mine, 80)!.scheduler).toBe('wlc');
    expect(find(mine, 80)!.realServers.map((r) => r.address)).toEqual(['10.77.0.21']);
    expect(find(mine, 81)).toBeDefined();
    expect(find(mine, 90)).toBeDefined();
  });

  it('keeps a change to a key both sides changed, with both values', async () => {
    const { mine, outcome } = await diverge(
      [
        [
          { op: 'add-service', service: svc(80) },
          { op: 'add-server', service: id(80), server: rs('10.77.0.21') },
        ],
      ],
      [[{ op: 'edit-server', service: id(80), server: rs('10.77.0.21', 80, 5) }]],
      [[{ op: 'edit-server', service: id(80), server: rs('10.77.0.21', 80, 9) }]],
    );
    expect(outcome.reapplied).toEqual([]);
    expect(outcome.kept).toHaveLength(1);
    expect(outcome.kept[0]!.keys).toEqual([{ key: 'server|tcp 10.77.0.100:80|10.77.0.21:80', ours: rs('10.77.0.21', 80, 5), theirs: rs('10.77.0.21', 80, 9) }]);
    expect(find(mine, 80)!.realServers[0]!.weight).toBe(9);
  });

  it('keeps a real server added to a service the winner deleted, and what depends on a kept change', async () => {
    const { mine, outcome } = await diverge(
      [[{ op: 'add-service', service: svc(80) }], [{ op: 'add-service', service: svc(81) }]],
      [
        [{ op: 'add-server', service: id(80), server: rs('10.77.0.21') }], // the winner deleted :80
        [{ op: 'edit-service', service: svc(81, 'sh') }], // the winner edited :81 too
        [{ op: 'add-server', service: id(81), server: rs('10.77.0.22', 81) }], // depends on the kept edit
        [{ op: 'zero' }], // changes nothing replicated
      ],
      [[{ op: 'delete-service', service: id(80) }], [{ op: 'edit-service', service: svc(81, 'lc') }]],
    );
    expect(outcome.reapplied).toEqual([]);
    expect(outcome.kept.map((k) => k.generation)).toEqual([3, 4, 5]);
    expect(outcome.kept[0]!.reason).toMatch(/changed on both sides|cannot be applied/);
    expect(outcome.kept[2]!.reason).toContain('changed on both sides');
    expect(outcome.empty.map((e) => e.generation)).toEqual([6]);
    expect(find(mine, 80)).toBeUndefined();
    expect(find(mine, 81)!.scheduler).toBe('lc');
  });

  it("re-applies only what a config reload's replace changed", async () => {
    const { mine, outcome } = await diverge(
      [
        [
          { op: 'add-service', service: svc(80) },
          { op: 'add-service', service: svc(81) },
        ],
      ],
      [[{ op: 'replace', services: [svc(80), svc(81, 'wrr'), svc(82)] }]],
      [[{ op: 'edit-service', service: svc(80, 'lc') }]],
    );
    expect(outcome.kept).toEqual([]);
    expect(find(mine, 80)!.scheduler).toBe('lc'); // the winner's, untouched by our reload
    expect(find(mine, 81)!.scheduler).toBe('wrr');
    expect(find(mine, 82)).toBeDefined();
  });

  it('keeps everything when the winner cannot say what it changed', async () => {
    const mine = await StateStore.open({ path: null });
    await mine.apply([{ op: 'add-service', service: svc(80) }]);
    const journal = mine.since(0)! as JournalEntry[];
    const outcome = await mergeDivergent(journal, null, mine, () => 'd-1');
    expect(outcome.kept).toHaveLength(1);
    expect(outcome.kept[0]!.reason).toContain('journal');
  });
});

describe('journal patches', () => {
  it('give back the document after the transaction when applied on the one before it', async () => {
    const s = await StateStore.open({ path: null });
    const txs: StateOp[][] = [
      [{ op: 'add-service', service: { ...svc(80), realServers: [rs('10.77.0.21'), rs('10.77.0.22')] } }],
      [
        { op: 'edit-server', service: id(80), server: rs('10.77.0.21', 80, 7) },
        { op: 'delete-server', service: id(80), server: { address: '10.77.0.22', port: 80 } },
      ],
      [{ op: 'set-timeouts', timeouts: { tcp: 100, tcpfin: 0, udp: 0 } }],
      [{ op: 'replace', services: [svc(90), { ...svc(80, 'sh'), realServers: [rs('10.77.0.23')] }] }],
      [{ op: 'clear' }],
    ];
    for (const t of txs) {
      const before = structuredClone(s.state);
      const change = await s.apply(t);
      expect(change.patch).toEqual(diffStates(before, s.state, t));
      const replay = await StateStore.open({ path: null });
      await replay.install(before, 'test');
      await replay.apply(patchToOps(change.patch!, before));
      expect(diffStates(replay.state, s.state, [{ op: 'clear' }])).toEqual({});
    }
  });
});
