/**
 * vsd under a service manager (systemd Type=notify) without systemd: the test binds the notification socket
 * itself (a unix datagram socket through libc, as systemd's) and plays the service manager.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { channel } from 'node:diagnostics_channel';
import { silentLogger, UnixDatagramReceiver, type ServiceNotifier } from '@vsd/core';
import { VRRP_STATE_CHANNEL } from '@vsd/ha';
import type { Daemon } from '../src/daemon.js';
import { daemonNotifier } from '../src/service-notify.js';
import { ONE_SERVICE, spawnVsd, TempDir, type VsdProcess } from './harness.js';

let dir: TempDir;
let running: VsdProcess | null = null;
let manager: UnixDatagramReceiver | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
  manager?.close();
  manager = null;
  dir?.remove();
});

const fields = (b: Buffer) =>
  Object.fromEntries(
    b
      .toString()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('vsd and the service manager (sd_notify)', () => {
  it('sends READY=1 after it is ready, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM', async () => {
    dir = new TempDir();
    manager = new UnixDatagramReceiver(join(dir.path, 'notify.sock'));
    const config = dir.file('vsd.yaml', ONE_SERVICE);
    const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', 'none', '--dataplane', 'none'], {
      NOTIFY_SOCKET: manager.path,
    });
    running = vsd;
    const ready = fields(await manager.receive(15_000));
    const readyAt = Date.now();
    // Readiness comes after the daemon is up (its "vsd ready" line was written first), not before.
    expect((await vsd.waitForLog(/^vsd ready$/)).time as number).toBeLessThanOrEqual(readyAt);
    expect(ready).toEqual({ READY: '1', STATUS: 'ready: 1 virtual service on the none dataplane, generation 1' });

    vsd.child.kill('SIGHUP');
    const reloading = fields(await manager.receive());
    expect(reloading).toMatchObject({ RELOADING: '1', MONOTONIC_USEC: expect.stringMatching(/^\d+$/) });
    expect(fields(await manager.receive())).toEqual({ READY: '1', STATUS: 'reloaded: 1 virtual service on the none dataplane, generation 1' });

    // A broken file: still READY (the running config stays), and the status says the reload was refused.
    dir.file('vsd.yaml', 'virtual_servers: 7\n');
    vsd.child.kill('SIGHUP');
    expect(fields(await manager.receive())).toMatchObject({ RELOADING: '1' });
    expect(fields(await manager.receive())).toEqual({
      READY: '1',
      STATUS: expect.stringMatching(/^reload refused, the running config stays: .*virtual_servers.*; 1 virtual service on the none dataplane/),
    });

    vsd.child.kill('SIGTERM');
    expect(fields(await manager.receive())).toEqual({ STOPPING: '1', STATUS: 'stopping: draining connections' });
    expect((await vsd.exited).code).toBe(0);
  });

  it('never says READY when start fails; the status says why', async () => {
    dir = new TempDir();
    manager = new UnixDatagramReceiver(`@vsd-test-${process.pid}-${Date.now()}`);
    const config = dir.file('vsd.yaml', ONE_SERVICE.replace('lb_algo: rr', 'lb_algo: nope'));
    const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', 'none', '--dataplane', 'none'], {
      NOTIFY_SOCKET: manager.path,
    });
    running = vsd;
    expect((await vsd.exited).code).toBe(1);
    const msg = fields(await manager.receive());
    expect(msg).toEqual({ STATUS: expect.stringMatching(/^cannot start: .*lb_algo/) });
    expect(manager.tryReceive()).toBeNull();
  });
});

describe('STATUS= follows VRRP', () => {
  it('names every instance with its state, and is refreshed on each transition', async () => {
    const sent: Array<Record<string, string>> = [];
    const fake: ServiceNotifier = {
      enabled: true,
      notify: () => undefined,
      ready: (status) => void sent.push({ READY: '1', STATUS: status }),
      reloading: () => undefined,
      stopping: () => void sent.push({ STOPPING: '1' }),
      status: (text) => void sent.push({ STATUS: text }),
      close: () => undefined,
    };
    const states: Record<string, string> = { VI_1: 'BACKUP', VI_2: 'BACKUP' };
    const daemon = {
      store: { state: { services: [{}, {}] }, generation: 7 },
      dataplane: { name: 'ipvs' },
      components: [
        {
          name: 'ha',
          routes: () => [
            { method: 'GET', path: '/v1/ha', handler: () => ({ instances: Object.entries(states).map(([instance, state]) => ({ instance, state })) }) },
          ],
        },
      ],
    } as unknown as Daemon;
    const sd = daemonNotifier(silentLogger, fake);
    try {
      sd.started(daemon);
      expect(sent).toEqual([{ READY: '1', STATUS: 'ready: 2 virtual services on the ipvs dataplane, generation 7, VRRP VI_1 BACKUP, VI_2 BACKUP' }]);
      states.VI_1 = 'MASTER';
      channel(VRRP_STATE_CHANNEL).publish({ instance: 'VI_1', vrid: 51, from: 'BACKUP', to: 'MASTER' });
      await new Promise((r) => setImmediate(r));
      expect(sent.at(-1)).toEqual({ STATUS: 'ready: 2 virtual services on the ipvs dataplane, generation 7, VRRP VI_1 MASTER, VI_2 BACKUP' });
      sd.stopping();
      channel(VRRP_STATE_CHANNEL).publish({ instance: 'VI_1', vrid: 51, from: 'MASTER', to: 'STOP' });
      await new Promise((r) => setImmediate(r));
      // Once stopping, transitions (the STOP of shutdown) no longer overwrite "stopping".
      expect(sent.at(-1)).toEqual({ STOPPING: '1' });
    } finally {
      sd.close();
    }
  });
});
