import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateStore, type Dataplane, type SyncDaemon } from '@vsd/core';
import { parseHaSection, peerConfigSchema, type HaConfig, type Transition, type VrrpInstance, type VrrpStatus } from '@vsd/ha';
import { HaComponent } from '../src/component-ha.js';
import type { VsdConfig } from '../src/config.js';
import { componentContext } from './component-context.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

/** VRRP instances driven by the test: no raw sockets, transitions on demand, every call recorded. */
function fakeFactory() {
  const made = new Map<string, ReturnType<typeof fakeVrrp>>();
  const calls: string[] = [];
  function fakeVrrp(config: HaConfig) {
    const listeners = new Set<(t: Transition) => void>();
    let state: VrrpStatus['state'] = 'INIT';
    let cfg = config;
    const name = config.instance;
    const vrrp = {
      start: async () => void calls.push(`start ${name}`),
      stop: async () => void calls.push(`stop ${name}`),
      resign: () => (calls.push(`resign ${name}`), state === 'MASTER'),
      takeover: () => (calls.push(`takeover ${name}`), state === 'BACKUP'),
      release: () => void calls.push(`release ${name}`),
      reconfigure: async (next: HaConfig) => {
        calls.push(`reconfigure ${name} priority=${next.priority}`);
        cfg = next;
        return ['priority'];
      },
      setExternalFault: () => undefined,
      onFaultChange: () => () => undefined,
      status: () =>
        ({
          instance: name,
          vrid: cfg.vrid,
          state,
          masterAddress: state === 'BACKUP' ? '10.77.0.11' : null,
          priority: cfg.priority,
          ownFault: false,
          holds: {},
        }) as unknown as VrrpStatus,
      onStateChange: (l: (t: Transition) => void) => (listeners.add(l), () => listeners.delete(l)),
      onVipsChange: () => () => undefined,
      onMasterChange: () => () => undefined,
      settled: async () => undefined,
    } as unknown as VrrpInstance;
    const go = (to: VrrpStatus['state']) => {
      const t = { from: state, to, reason: 'master-down', at: Date.now() } as Transition;
      state = to;
      for (const l of listeners) l(t);
    };
    const entry = { vrrp, go };
    made.set(name, entry);
    return entry;
  }
  return { made, calls, create: (c: HaConfig) => fakeVrrp(c).vrrp };
}

const ha = {
  interface: 'eth0',
  instances: [
    { instance: 'VI_1', vrid: 51, priority: 150, vips: ['192.0.2.100/24'] },
    { instance: 'VI_2', vrid: 52, priority: 100, vips: ['192.0.2.101/24'] },
  ],
};

async function setup(section: unknown = ha, withPeer = false) {
  const dir = mkdtempSync(join(tmpdir(), 'vsd-ha-inst-'));
  const keyFile = join(dir, 'peer.key');
  writeFileSync(keyFile, 'a-key-long-enough-for-the-pair\n');
  const store = await StateStore.open({ path: null });
  const daemons: SyncDaemon[][] = [];
  const dataplane = { name: 'ipvs', syncDaemons: async (d: readonly SyncDaemon[]) => void daemons.push([...d]) } as unknown as Dataplane;
  const peer = withPeer ? peerConfigSchema.parse({ listen: '127.0.0.1:0', key_file: keyFile }) : undefined;
  let config = { ha: parseHaSection(section), peer, virtual_servers: [] } as unknown as VsdConfig;
  const ctx = componentContext(store, dataplane, () => config);
  const fakes = fakeFactory();
  const component = new HaComponent(fakes.create);
  await component.start(ctx);
  stops.push(() => component.stop());
  const route = (method: string, path: string) => component.routes().find((r) => r.path === path && r.method === method)!;
  const call = (path: string, body?: unknown) => route('POST', path).handler({ body, query: new URLSearchParams() } as never);
  const get = (query = '') =>
    route('GET', '/v1/ha').handler({ query: new URLSearchParams(query) } as never) as { vrrp: VrrpStatus; primary: string; instances: VrrpStatus[] };
  const reload = async (next: unknown) => {
    const nextConfig = { ha: parseHaSection(next), peer, virtual_servers: [] } as unknown as VsdConfig;
    component.checkReload(nextConfig);
    config = nextConfig;
    await component.reload(ctx);
  };
  return { store, daemons, fakes, component, call, get, reload };
}

describe('the HA component with several VRRP instances', () => {
  it('starts every instance; GET /v1/ha lists them all, ?instance= one, the primary is the first', async () => {
    const { fakes, get } = await setup();
    expect(fakes.calls).toEqual(['start VI_1', 'start VI_2']);
    fakes.made.get('VI_1')!.go('BACKUP');
    fakes.made.get('VI_2')!.go('MASTER');
    const doc = get();
    expect(doc.primary).toBe('VI_1');
    expect(doc.vrrp).toMatchObject({ instance: 'VI_1', state: 'BACKUP' });
    expect(doc.instances.map((s) => [s.instance, s.state])).toEqual([
      ['VI_1', 'BACKUP'],
      ['VI_2', 'MASTER'],
    ]);
    expect(get('instance=VI_2').instances.map((s) => s.instance)).toEqual(['VI_2']);
    expect(() => get('instance=VI_3')).toThrow(
      expect.objectContaining({
        code: 'VSD_ERR_HA_UNKNOWN_INSTANCE',
        message: expect.stringMatching(/no VRRP instance "VI_3".*did you mean VI_1.*instances: VI_1, VI_2/),
      }),
    );
  });

  it('failover/takeover/release act on the named instance; an unknown or missing name is refused and nothing is called', async () => {
    const { fakes, call } = await setup();
    fakes.made.get('VI_1')!.go('MASTER');
    fakes.made.get('VI_2')!.go('BACKUP');
    fakes.calls.length = 0;
    expect(() => call('/v1/ha/failover', { instance: 'VI_9' })).toThrow(expect.objectContaining({ code: 'VSD_ERR_HA_UNKNOWN_INSTANCE' }));
    expect(() => call('/v1/ha/failover', {})).toThrow(
      expect.objectContaining({ code: 'VSD_ERR_VALIDATION', message: expect.stringContaining('runs 2 VRRP instances (VI_1, VI_2): name one') }),
    );
    expect(() => call('/v1/ha/failover', { instance: 7 })).toThrow(expect.objectContaining({ code: 'VSD_ERR_VALIDATION' }));
    expect(fakes.calls).toEqual([]);
    expect(call('/v1/ha/failover', { instance: 'VI_1' })).toMatchObject({ operation: 'failover', instance: 'VI_1', before: 'MASTER' });
    expect(() => call('/v1/ha/failover', { instance: 'VI_2' })).toThrow(/failover refused: this dispatcher is BACKUP for VI_2.*vsctl failover VI_2/);
    expect(call('/v1/ha/takeover', { instance: 'VI_2' })).toMatchObject({ operation: 'takeover', instance: 'VI_2' });
    call('/v1/ha/release', { instance: 'VI_2' });
    expect(fakes.calls).toEqual(['resign VI_1', 'resign VI_2', 'takeover VI_2', 'release VI_2']);
  });

  it('with one instance the name is optional', async () => {
    const { fakes, call } = await setup({ interface: 'eth0', vrid: 51, vips: ['192.0.2.100/24'] });
    fakes.made.get('VI_1')!.go('MASTER');
    expect(call('/v1/ha/failover', {})).toMatchObject({ instance: 'VI_1' });
    expect(call('/v1/ha/release', undefined)).toMatchObject({ instance: 'VI_1' });
  });

  it('peer-sync role and the connection sync daemon follow the primary instance only (active/active: one writer)', async () => {
    const { store, daemons, fakes } = await setup(ha, true);
    const op = [
      {
        op: 'add-service' as const,
        service: {
          protocol: 'tcp' as const,
          address: '192.0.2.100',
          port: 80,
          scheduler: 'rr',
          schedFlags: [],
          persistence: { timeout: 0 },
          pe: null,
          onePacket: false,
          realServers: [],
        },
      },
    ];
    fakes.made.get('VI_2')!.go('MASTER');
    fakes.made.get('VI_1')!.go('BACKUP');
    await new Promise((r) => setTimeout(r, 10));
    expect(daemons).toEqual([[{ state: 'backup', mcastInterface: 'eth0', syncId: 51 }]]);
    // MASTER of VI_2 but BACKUP of the primary: changes go to the other node.
    await expect(store.apply(op)).rejects.toMatchObject({ code: 'VSD_ERR_NOT_MASTER', message: expect.stringContaining('10.77.0.11') });
    fakes.made.get('VI_2')!.go('BACKUP');
    fakes.made.get('VI_1')!.go('MASTER');
    await new Promise((r) => setTimeout(r, 10));
    expect(daemons.at(-1)).toEqual([{ state: 'master', mcastInterface: 'eth0', syncId: 51 }]);
    await expect(store.apply(op)).resolves.toMatchObject({ generation: 1 });
  });

  it('reload: a kept instance is reconfigured in place, a new one starts, a removed one stops; a VRID change is refused with nothing changed', async () => {
    const { fakes, reload, get } = await setup();
    fakes.calls.length = 0;
    await reload({
      ...ha,
      instances: [
        { ...ha.instances[0], priority: 200 },
        { instance: 'VI_3', vrid: 53, vips: ['192.0.2.102/24'] },
      ],
    });
    expect(fakes.calls).toEqual(['stop VI_2', 'reconfigure VI_1 priority=200', 'start VI_3']);
    expect(get().instances.map((s) => s.instance)).toEqual(['VI_1', 'VI_3']);
    fakes.calls.length = 0;
    await expect(
      reload({
        ...ha,
        instances: [
          { ...ha.instances[0], vrid: 61 },
          { instance: 'VI_3', vrid: 53, vips: ['192.0.2.102/24'] },
        ],
      }),
    ).rejects.toMatchObject({
      code: 'VSD_ERR_HA_RELOAD',
      message: expect.stringMatching(/reload refused for VRRP instance VI_1: vrid 51 -> 61 cannot change on a running instance \(rename the instance/),
    });
    await expect(reload({ ...ha, instances: [{ ...ha.instances[0], vips: ['2001:db8::100/64'] }] })).rejects.toMatchObject({
      code: 'VSD_ERR_HA_RELOAD',
      message: expect.stringContaining('VIP family IPv4 -> IPv6'),
    });
    await expect(reload({ ...ha, instances: [{ ...ha.instances[0], use_vmac: true }] })).rejects.toMatchObject({
      code: 'VSD_ERR_HA_RELOAD',
      message: expect.stringContaining('use_vmac off -> vsd.51'),
    });
    expect(fakes.calls).toEqual([]);
    expect(get().instances.map((s) => [s.instance, s.vrid])).toEqual([
      ['VI_1', 51],
      ['VI_3', 53],
    ]);
    // Renaming is the way to replace an instance (its VRID may be reused at once).
    await reload({
      ...ha,
      instances: [
        { ...ha.instances[0], instance: 'VI_1b', vrid: 61 },
        { instance: 'VI_3', vrid: 53, vips: ['192.0.2.102/24'] },
      ],
    });
    expect(fakes.calls).toEqual(['stop VI_1', 'reconfigure VI_3 priority=100', 'start VI_1b']);
  });
});
