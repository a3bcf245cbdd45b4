import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlClient } from '@vsd/core';
import { freePort, listen, runVsctl, spawnVsd, TempDir, type VsdProcess } from './harness.js';

let dir: TempDir;
let running: VsdProcess | null = null;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await running?.stop();
  running = null;
  for (const c of cleanups.splice(0)) c();
  dir?.remove();
});

describe.each([1, 2])('vsd SIGTERM with the proxy dataplane (proxy_threads: %i)', (threads) => {
  it('stops accepting, lets an open connection drain up to --drain-timeout, then exits 0', async () => {
    dir = new TempDir();
    const held: Socket[] = [];
    const backend = createServer((s) => {
      held.push(s);
      s.on('error', () => undefined);
      s.write('hello\n');
    });
    const rsPort = await listen(backend);
    cleanups.push(() => {
      for (const s of held) s.destroy();
      backend.close();
    });
    const vip = await freePort();
    const config = dir.file(
      'vsd.yaml',
      `dataplane: proxy\nproxy_threads: ${threads}\nvirtual_servers:\n  - address: 127.0.0.1:${vip}\n    lb_algo: rr\n    real_servers:\n      - address: 127.0.0.1:${rsPort}\n`,
    );
    const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', join(dir.path, 'state.json'), '--drain-timeout', '1.5']);
    running = vsd;
    await vsd.waitForLog(/^vsd ready$/);
    const status = await createControlClient({ socket: join(dir.path, 'vsd.sock') }).get<{ info: { engine?: string } }>('/v1/status');
    expect(status.info.engine).toBe(threads > 1 ? `epoll, ${threads} threads` : 'epoll');
    const vsctl = await runVsctl(['--socket', join(dir.path, 'vsd.sock'), 'status']);
    expect(vsctl.stdout).toContain(
      threads > 1 ? 'dataplane proxy (engine: epoll, 2 threads; threads accepted 0/0, live 0/0)' : 'dataplane proxy (engine: epoll)',
    );

    // A client connection through the VIP that stays open.
    const client = connect(vip, '127.0.0.1');
    client.on('error', () => undefined);
    cleanups.push(() => client.destroy());
    const greeting = await new Promise<string>((resolve, reject) => {
      client.once('data', (d) => resolve(d.toString()));
      client.once('error', reject);
    });
    expect(greeting).toBe('hello\n');

    const t0 = Date.now();
    vsd.child.kill('SIGTERM');
    await vsd.waitForLog(/^vsd stopping$/);
    // While draining (the held connection keeps vsd up for 1.5 s), the VIP stops taking new connections.
    const tryConnect = () =>
      new Promise<boolean>((resolve) => {
        const late = connect(vip, '127.0.0.1');
        late.once('connect', () => {
          late.destroy();
          resolve(false);
        });
        late.once('error', () => resolve(true));
      });
    let refused = false;
    let refusedWhileDraining = false;
    for (let i = 0; i < 20 && !refused; i++) {
      refused = await tryConnect();
      refusedWhileDraining = refused && vsd.child.exitCode === null;
      if (!refused) await new Promise((r) => setTimeout(r, 50));
    }
    expect(refusedWhileDraining).toBe(true);
    expect(refused).toBe(true);
    const exit = await vsd.exited;
    const elapsed = Date.now() - t0;
    expect(exit).toEqual({ code: 0, signal: null });
    // It waited for the open connection (about the drain timeout), but not much longer.
    expect(elapsed).toBeGreaterThanOrEqual(1200);
    expect(elapsed).toBeLessThan(9000);
    expect(vsd.logs.map((l) => l.msg)).toContain('vsd stopped');
  });
});
