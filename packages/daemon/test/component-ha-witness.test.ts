import { afterEach, describe, expect, it } from 'vitest';
import { StateStore, type Dataplane } from '@vsd/core';
import { parseHaSection, type HaConfig, type MasterGate, type Transition, type VrrpInstance, type VrrpStatus } from '@vsd/ha';
import { agentVotes } from '../src/component-agents.js';
import { HaComponent } from '../src/component-ha.js';
import type { VsdConfig } from '../src/config.js';
import { componentContext } from './component-context.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

const section = (witness: unknown) => ({
  interface: 'eth0',
  witness,
  instances: [
    { instance: 'VI_1', vrid: 51, vips: ['192.0.2.100/24'] },
    { instance: 'VI_2', vrid: 52, vips: ['192.0.2.101/24'] },
  ],
});
const agents = { listen: '127.0.0.1:0', keyFile: '/unused', agentKeys: {}, requireAgentKey: false };

async function setup(witness: unknown) {
  const store = await StateStore.open({ path: null });
  let config = { ha: parseHaSection(section(witness)), agents, virtual_servers: [] } as unknown as VsdConfig;
  const ctx = componentContext(store, { name: 'none' } as unknown as Dataplane, () => config);
  const gates = new Map<string, MasterGate | undefined>();
  const create = (c: HaConfig, deps: { gate?: MasterGate }) => {
    gates.set(c.instance, deps.gate);
    return {
      start: async () => undefined,
      stop: async () => undefined,
      reconfigure: async () => [],
      status: () => ({ instance: c.instance, vrid: c.vrid, state: 'BACKUP' }) as unknown as VrrpStatus,
      onStateChange: (_l: (t: Transition) => void) => () => undefined,
      onMasterChange: () => () => undefined,
    } as unknown as VrrpInstance;
  };
  const component = new HaComponent(create);
  await component.start(ctx);
  stops.push(() => component.stop());
  const get = () =>
    component
      .routes()
      .find((r) => r.path === '/v1/ha' && r.method === 'GET')!
      .handler({ query: new URLSearchParams() } as never) as {
      witness: { enabled: boolean; instances: Array<{ vrid: number; quorum: string; votesHeld: string[] }> };
    };
  const reload = async (w: unknown) => {
    const next = { ha: parseHaSection(section(w)), agents, virtual_servers: [] } as unknown as VsdConfig;
    component.checkReload(next);
    config = next;
    await component.reload(ctx);
  };
  return { ctx, gates, get, reload };
}

describe('the HA component with the split-brain guard', () => {
  it("gives every instance the gate of its VRID from one witness, fed by the agents hub's vote channel", async () => {
    const { ctx, gates, get } = await setup({ agents: ['web1'], lease: 0.5 });
    expect([...gates.keys()]).toEqual(['VI_1', 'VI_2']);
    expect(get().witness.instances.map((i) => i.vrid)).toEqual([51, 52]);
    const sent: Array<Record<string, unknown>> = [];
    const votes = agentVotes(ctx);
    const token = {};
    votes.admitted('web1', token, ['vote/1'], (t) => sent.push(JSON.parse(t) as Record<string, unknown>));
    const g = gates.get('VI_2')!;
    g.want(true);
    const req = sent.find((m) => m.type === 'vote-request' && m.vrid === 52)!;
    expect(req).toMatchObject({ leaseMs: 500 });
    votes.received('web1', token, { v: 1, type: 'vote', vrid: 52, seq: req.seq as number, granted: true, remainingMs: 500 });
    expect(g.allowed()).toBe(true);
    expect(gates.get('VI_1')!.allowed()).toBe(false);
    expect(get().witness.instances.find((i) => i.vrid === 52)).toMatchObject({ quorum: 'allowed', votesHeld: ['web1'] });
    g.want(false);
    expect(sent.at(-1)).toMatchObject({ type: 'vote-release', vrid: 52 });
  });

  it('runs the witness on the parsed milliseconds: lease, probe_interval, or by default the fastest advert_int', async () => {
    const status = (get: () => unknown) => (get() as { witness: { leaseMs: number; probeIntervalMs: number } }).witness;
    expect(status((await setup({ agents: ['web1'], lease: 0.4 })).get)).toMatchObject({ leaseMs: 400, probeIntervalMs: 50 });
    expect(status((await setup({ agents: ['web1'], lease: 0.4, probe_interval: 0.12 })).get)).toMatchObject({ leaseMs: 400, probeIntervalMs: 120 });
    // At most a quarter of the lease: 0.1 s / 4 = 25 ms, below the 50 ms advert_int.
    expect(status((await setup({ agents: ['web1'], lease: 0.1 })).get)).toMatchObject({ leaseMs: 100, probeIntervalMs: 25 });
  });

  it('refuses a reload that changes ha.witness (nothing changed), takes one that keeps it', async () => {
    const { get, reload } = await setup({ agents: ['web1'] });
    await expect(reload({ agents: ['web1', 'web2'] })).rejects.toMatchObject({ code: 'VSD_ERR_HA_RELOAD', message: expect.stringContaining('ha.witness') });
    await reload({ agents: ['web1'] });
    expect(get().witness.enabled).toBe(true);
  });

  it('reports the guard off when ha.witness is absent or disabled', async () => {
    expect((await setup(undefined)).get().witness).toEqual({ enabled: false });
    const off = await setup({ enabled: false });
    expect(off.get().witness).toEqual({ enabled: false });
    expect(off.gates.get('VI_1')).toBeUndefined();
  });

  it('refuses two instances with one VRID when the witness is on (the agents vote per VRID)', () => {
    const s = {
      interface: 'eth0',
      witness: { agents: ['web1'] },
      instances: [
        { instance: 'VI_1', vrid: 51, vips: ['192.0.2.100/24'] },
        { instance: 'VI_2', interface: 'eth1', vrid: 51, vips: ['192.0.2.101/24'] },
      ],
    };
    expect(() => parseHaSection(s)).toThrow(/ha\.instances\.1\.vrid.*VRID 51 is also used by instance VI_1: with ha\.witness/);
  });
});
