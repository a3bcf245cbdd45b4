import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@vsd/core';
import type { HaConfig, VrrpInstance, VrrpStatus } from '@vsd/ha';
import { HaComponent } from '../src/component-ha.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { ONE_SERVICE } from './harness.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function fakeVrrp(config: HaConfig, log: string[]): VrrpInstance {
  let cfg = config;
  return {
    start: async () => void log.push(`start ${cfg.instance}`),
    stop: async () => void log.push(`stop ${cfg.instance}`),
    reconfigure: async (next: HaConfig) => {
      log.push(`reconfigure ${next.instance} priority=${next.priority}`);
      cfg = next;
      return ['priority'];
    },
    status: () => ({ instance: cfg.instance, vrid: cfg.vrid, priority: cfg.priority, state: 'BACKUP', ownFault: false }) as unknown as VrrpStatus,
    onStateChange: () => () => undefined,
    onFaultChange: () => () => undefined,
    onMasterChange: () => () => undefined,
    setExternalFault: () => undefined,
  } as unknown as VrrpInstance;
}

const haYaml = (vrid: number, priority: number) => `
ha:
  interface: eth0
  instances:
    - { instance: VI_1, vrid: ${vrid}, priority: ${priority}, vips: [192.0.2.100/24] }
`;

describe('vsd reload with an ha: section', () => {
  it('a reload that would break the election is refused before anything is applied; a valid one reconfigures in place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsd-reload-ha-'));
    const config = join(dir, 'vsd.yaml');
    writeFileSync(config, `${ONE_SERVICE}${haYaml(51, 150)}`);
    const log: string[] = [];
    const daemon: Daemon = await startDaemon({
      configPath: config,
      statePath: null,
      logger: silentLogger,
      socketPath: join(dir, 'vsd.sock'),
      dataplane: 'none',
      components: [() => new HaComponent((c) => fakeVrrp(c, log))],
    });
    cleanup.push(() => daemon.stop());
    const realServers = () => daemon.store.state.services[0]!.realServers.length;
    expect(realServers()).toBe(2);

    // VRID changed on the running instance, plus a new real server: the whole reload is refused.
    writeFileSync(config, `${ONE_SERVICE}      - address: 10.0.1.3:8080\n${haYaml(52, 150)}`);
    const refused = await daemon.reload();
    expect(refused).toMatchObject({ ok: false, error: { code: 'VSD_ERR_HA_RELOAD', message: expect.stringContaining('vrid 51 -> 52') } });
    expect(realServers()).toBe(2);
    expect(daemon.loaded().config.ha!.instances[0]!.vrid).toBe(51);
    expect(log).toEqual(['start VI_1']);

    writeFileSync(config, `${ONE_SERVICE}      - address: 10.0.1.3:8080\n${haYaml(51, 200)}`);
    expect(await daemon.reload()).toMatchObject({ ok: true });
    expect(realServers()).toBe(3);
    expect(log).toEqual(['start VI_1', 'reconfigure VI_1 priority=200']);
  });
});
