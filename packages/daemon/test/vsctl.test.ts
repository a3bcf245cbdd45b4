import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlClient } from '@vsd/core';
import { ONE_SERVICE, runVsctl, startVsd, TempDir, type VsdProcess } from './harness.js';

let dir: TempDir;
let running: VsdProcess | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
  dir?.remove();
});

describe('vsctl status', () => {
  it('shows the dataplane, generation and real servers with configured and effective weight (text and --json)', async () => {
    dir = new TempDir();
    const { vsd, socket } = await startVsd(dir, ONE_SERVICE);
    running = vsd;
    const text = await runVsctl(['--socket', socket, 'status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/dataplane none, generation 1, 1 virtual service/);
    expect(text.stdout).toMatch(/tcp 10\.0\.0\.1:80 rr/);
    expect(text.stdout).toMatch(/-> 10\.0\.1\.2:8080\s+masq\s+weight\s+3\s+effective\s+3/);

    const json = await runVsctl(['status', '--json'], { VSD_SOCKET: socket });
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ dataplane: 'none', generation: 1 });
    expect(doc.services[0].realServers.map((r: { key: string; weight: number; effectiveWeight: number }) => [r.key, r.weight, r.effectiveWeight])).toEqual([
      ['10.0.1.1:8080', 1, 1],
      ['10.0.1.2:8080', 3, 3],
    ]);
    expect(await createControlClient({ socket }).get('/v1/state')).toMatchObject({ generation: 1 });
  });

  it('says in one line where it looked and how to start vsd when vsd is unreachable, exit 1', async () => {
    dir = new TempDir();
    const socket = join(dir.path, 'nobody.sock');
    const r = await runVsctl(['--socket', socket, 'status']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`cannot reach vsd at ${socket}`);
    expect(r.stderr).toContain(`vsd --socket ${socket}`);
  });

  it('refuses an unknown command with exit 2', async () => {
    const r = await runVsctl(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"; commands: .*status/);
  });
});
