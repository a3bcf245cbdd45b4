import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlClient, type DesiredState } from '@vsd/core';
import { ONE_SERVICE, startVsd, TempDir, type VsdProcess } from './harness.js';

let dir: TempDir;
let running: VsdProcess | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
  dir?.remove();
});

const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 };
const servers = (s: DesiredState) => s.services.flatMap((x) => x.realServers.map((r) => `${r.address}:${r.port}/${r.weight}`));

describe('vsd config reload (SIGHUP)', () => {
  it('applies an edited config, and refuses an invalid one keeping the running table', async () => {
    dir = new TempDir();
    const { vsd, socket } = await startVsd(dir, ONE_SERVICE);
    running = vsd;
    const client = createControlClient({ socket });
    expect(servers(await client.get<DesiredState>('/v1/state'))).toEqual(['10.0.1.1:8080/1', '10.0.1.2:8080/3']);

    writeFileSync(join(dir.path, 'vsd.yaml'), `${ONE_SERVICE}      - address: 10.0.1.3:8080\n`);
    let mark = vsd.logs.length;
    vsd.child.kill('SIGHUP');
    await vsd.waitForLog(/^config file applied/, 15_000, mark);
    expect(servers(await client.get<DesiredState>('/v1/state'))).toEqual(['10.0.1.1:8080/1', '10.0.1.2:8080/3', '10.0.1.3:8080/1']);

    writeFileSync(join(dir.path, 'vsd.yaml'), 'virtual_servers:\n  - address: 10.0.0.1:80\n    lb_algo: fastest\n');
    mark = vsd.logs.length;
    vsd.child.kill('SIGHUP');
    const refused = await vsd.waitForLog(/^config reload refused/, 15_000, mark);
    expect(refused.reason).toMatch(/virtual_servers\.0\.lb_algo: unknown scheduler/);
    expect(refused.level).toBe(50);
    expect(servers(await client.get<DesiredState>('/v1/state'))).toHaveLength(3);
    // Still serving.
    expect(vsd.child.exitCode).toBeNull();

    // The same through the API: POST /v1/reload answers with the refusal.
    const r = await client.post('/v1/reload').catch((e: unknown) => e);
    expect((r as { status: number; code: string }).status).toBe(400);
    expect((r as { code: string }).code).toBe('VSD_ERR_CONFIG');
  });
});

describe('config file vs state file', () => {
  it('keeps runtime changes across a restart while the config file is unchanged; an edited config file wins', async () => {
    dir = new TempDir();
    let { vsd, socket } = await startVsd(dir, ONE_SERVICE);
    running = vsd;
    let client = createControlClient({ socket });
    await client.post('/v1/transactions', {
      ops: [{ op: 'edit-server', service: svc, server: { address: '10.0.1.1', port: 8080, forwarding: 'masq', weight: 7 } }],
    });
    expect((await vsd.stop()).code).toBe(0);

    // Restart, config untouched: the state file (with the runtime change) wins.
    ({ vsd, socket } = await startVsd(dir, ONE_SERVICE));
    running = vsd;
    client = createControlClient({ socket });
    expect(vsd.logs.some((l) => /config file unchanged since it was last applied: the state file wins/.test(l.msg))).toBe(true);
    expect(servers(await client.get<DesiredState>('/v1/state'))).toEqual(['10.0.1.1:8080/7', '10.0.1.2:8080/3']);
    const generation = (await client.get<DesiredState>('/v1/state')).generation;
    expect((await vsd.stop()).code).toBe(0);

    // Restart with an edited config file: the config wins, the runtime change is gone.
    ({ vsd, socket } = await startVsd(dir, ONE_SERVICE.replace('weight: 3', 'weight: 4')));
    running = vsd;
    client = createControlClient({ socket });
    expect(vsd.logs.some((l) => /^config file applied/.test(l.msg) && l.why === 'config file changed since last applied')).toBe(true);
    const state = await client.get<DesiredState>('/v1/state');
    expect(servers(state)).toEqual(['10.0.1.1:8080/1', '10.0.1.2:8080/4']);
    expect(state.generation).toBe(generation + 1);
  });

  it('with --state none, a reload of the unchanged config keeps runtime changes too', async () => {
    dir = new TempDir();
    const { vsd, socket } = await startVsd(dir, ONE_SERVICE, ['--state', 'none']);
    running = vsd;
    const client = createControlClient({ socket });
    await client.post('/v1/transactions', { ops: [{ op: 'delete-server', service: svc, server: { address: '10.0.1.2', port: 8080 } }] });
    expect(await client.post('/v1/reload')).toEqual({ outcome: 'kept-state' });
    expect(servers(await client.get<DesiredState>('/v1/state'))).toEqual(['10.0.1.1:8080/1']);
    writeFileSync(join(dir.path, 'vsd.yaml'), ONE_SERVICE.replace('weight: 3', 'weight: 5'));
    expect(await client.post('/v1/reload')).toEqual({ outcome: 'applied' });
    expect(servers(await client.get<DesiredState>('/v1/state'))).toEqual(['10.0.1.1:8080/1', '10.0.1.2:8080/5']);
  });
});
