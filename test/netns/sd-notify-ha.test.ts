/**
 * Readiness with real VRRP: vsd in a namespace, started as systemd would (NOTIFY_SOCKET), tells the service manager
 * READY=1 once it has joined the election, then a STATUS= line for each VRRP transition, and STOPPING=1. The test
 * binds the notification socket (a file socket: abstract ones are per network namespace) and plays systemd.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnixDatagramReceiver } from '@vsd/core';
import { createLab, jsonLines, waitFor, type Lab } from '../lib/netns.js';
import { BIN, requireBuild, tempDir, writeFile } from '../lib/vsd-proc.js';

const VIP = '10.77.0.100';

describe('sd_notify with VRRP', () => {
  let lab: Lab;
  let dir: string;
  let manager: UnixDatagramReceiver;

  beforeAll(async () => {
    requireBuild();
    lab = await createLab([{ name: 'lvs1', address: '10.77.0.11/24' }]);
    dir = tempDir('sdnotify');
    manager = new UnixDatagramReceiver(join(dir, 'notify.sock'));
  });

  afterAll(async () => {
    manager?.close();
    await lab?.destroy();
  });

  it('READY=1 after the instance joined the election, STATUS= on becoming MASTER, STOPPING=1 on SIGTERM', async () => {
    const config = writeFile(
      dir,
      'vsd.yaml',
      JSON.stringify({
        dataplane: 'none',
        ha: { instance: 'VI_1', interface: 'eth0', vrid: 51, priority: 150, advert_int: 0.05, vips: [`${VIP}/24`] },
        virtual_servers: [{ address: `${VIP}:80`, lb_algo: 'rr', real_servers: [{ address: '10.77.0.21:80' }] }],
      }),
    );
    const host = lab.host('lvs1');
    const proc = host.spawn(process.execPath, [BIN.vsd, '--config', config, '--socket', join(dir, 'vsd.sock'), '--state', 'none'], {
      env: { ...process.env, NOTIFY_SOCKET: manager.path },
    });
    const logs = jsonLines(proc);
    const ready = (await manager.receive(15_000)).toString();
    // Alone on the segment it starts as BACKUP and waits Master_Down_Interval (about 0.2 s) before taking over.
    expect(ready).toMatch(/^READY=1\nSTATUS=ready: 1 virtual service on the none dataplane, generation 1, VRRP VI_1 (BACKUP|MASTER)$/);
    if (/BACKUP$/.test(ready))
      expect((await manager.receive(5000)).toString()).toBe('STATUS=ready: 1 virtual service on the none dataplane, generation 1, VRRP VI_1 MASTER');
    const addr = await host.exec('ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
    expect(addr.stdout).toContain(VIP);
    await waitFor('the "vsd ready" log line', async () => logs.some((l) => l.msg === 'vsd ready'), 5000);

    proc.kill('SIGTERM');
    expect((await manager.receive(5000)).toString()).toBe('STOPPING=1\nSTATUS=stopping: draining connections');
    await waitFor('vsd exits', async () => proc.exitCode !== null, 10_000);
    expect(proc.exitCode).toBe(0);
  });
});
