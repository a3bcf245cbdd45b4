import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateStore, type Dataplane, type SyncDaemon } from '@vsd/core';
import { parseHaSection, peerConfigSchema, type Transition, type VrrpInstance, type VrrpStatus } from '@vsd/ha';
import { HaComponent } from '../src/component-ha.js';
import type { VsdConfig } from '../src/config.js';
import { componentContext } from './component-context.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

/** A VRRP instance driven by the test: no raw sockets, transitions on demand. */
function fakeVrrp() {
  const listeners = new Set<(t: Transition) => void>();
  let state: VrrpStatus['state'] = 'INIT';
  const calls: string[] = [];
  const vrrp = {
    start: async () => undefined,
    stop: async () => undefined,
    resign: () => (calls.push('resign'), state === 'MASTER'),
    takeover: () => (calls.push('takeover'), state === 'BACKUP'),
    release: () => void calls.push('release'),
    status: () => ({ state, masterAddress: state === 'BACKUP' ? '10.77.0.11' : null, priority: 100 }) as unknown as VrrpStatus,
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
  return { vrrp, go, calls };
}

async function setup(withPeer: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'vsd-ha-comp-'));
  const keyFile = join(dir, 'peer.key');
  writeFileSync(keyFile, 'a-key-long-enough-for-the-pair\n');
  const store = await StateStore.open({ path: null });
  const daemons: SyncDaemon[][] = [];
  const dataplane = { name: 'ipvs', syncDaemons: async (d: readonly SyncDaemon[]) => void daemons.push([...d]) } as unknown as Dataplane;
  const config = {
    ha: parseHaSection({ interface: 'eth0', vrid: 51, vips: ['10.77.0.100/24'] }),
    peer: withPeer ? peerConfigSchema.parse({ listen: '127.0.0.1:0', key_file: keyFile }) : undefined,
    virtual_servers: [],
  } as unknown as VsdConfig;
  const ctx = componentContext(store, dataplane, () => config);
  const fake = fakeVrrp();
  const component = new HaComponent(() => fake.vrrp);
  await component.start(ctx);
  stops.push(() => component.stop());
  const route = (path: string) => component.routes().find((r) => r.path === path)!;
  return { store, daemons, fake, component, route };
}

const addService = [
  {
    op: 'add-service' as const,
    service: {
      protocol: 'tcp' as const,
      address: '10.77.0.100',
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

describe('the HA daemon component', () => {
  it('switches the kernel connection sync daemon at every transition: master on MASTER, backup on BACKUP', async () => {
    const { daemons, fake } = await setup(false);
    fake.go('BACKUP');
    fake.go('MASTER');
    fake.go('BACKUP');
    await new Promise((r) => setTimeout(r, 10));
    // keepalived's lvs_sync_daemon defaults: the VRRP interface and the VRID as sync id.
    expect(daemons).toEqual([
      [{ state: 'backup', mcastInterface: 'eth0', syncId: 51 }],
      [{ state: 'master', mcastInterface: 'eth0', syncId: 51 }],
      [{ state: 'backup', mcastInterface: 'eth0', syncId: 51 }],
    ]);
  });

  it('refuses local changes while BACKUP (and before VRRP has decided), accepts them as MASTER', async () => {
    const { store, fake } = await setup(true);
    await expect(store.apply(addService)).rejects.toMatchObject({ code: 'VSD_ERR_NOT_MASTER' });
    fake.go('BACKUP');
    await expect(store.apply(addService)).rejects.toMatchObject({ code: 'VSD_ERR_NOT_MASTER', message: expect.stringContaining('10.77.0.11') });
    fake.go('MASTER');
    await expect(store.apply(addService)).resolves.toMatchObject({ generation: 1 });
  });

  it('refuses failover on a BACKUP and takeover on the MASTER with a message saying where they make sense', async () => {
    const { fake, route } = await setup(false);
    fake.go('BACKUP');
    expect(() => route('/v1/ha/failover').handler({} as never)).toThrow(/failover refused: this dispatcher is BACKUP.*MASTER \(10\.77\.0\.11\)/);
    fake.go('MASTER');
    expect(() => route('/v1/ha/takeover').handler({} as never)).toThrow(/takeover refused: this dispatcher is MASTER/);
    expect(route('/v1/ha/failover').handler({} as never)).toMatchObject({ operation: 'failover', before: 'MASTER' });
    expect(fake.calls).toEqual(['resign', 'takeover', 'resign']);
  });
});
