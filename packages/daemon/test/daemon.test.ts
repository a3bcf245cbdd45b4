import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ControlRequestError, createControlClient } from '@vsd/core';
import { raw } from '../../core/test/control/helpers.js';
import { ONE_SERVICE, spawnVsd, startVsd, TempDir, type VsdProcess } from './harness.js';

let dir: TempDir;
let running: VsdProcess | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
  dir?.remove();
});

describe('vsd daemon', () => {
  it('starts empty without a config file, says so, and exits 0 on SIGTERM removing its socket', async () => {
    dir = new TempDir();
    const { vsd, socket } = await startVsd(dir, null);
    running = vsd;
    expect(vsd.logs.some((l) => /no config file: starting with an empty table/.test(l.msg))).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const state = await createControlClient({ socket }).get<{ services: unknown[] }>('/v1/state');
    expect(state.services).toEqual([]);
    const t0 = Date.now();
    expect(await vsd.stop()).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(existsSync(socket)).toBe(false);
    expect(vsd.logs.map((l) => l.msg)).toContain('vsd stopped');
  });

  it('starts empty with an empty config file, and says so', async () => {
    dir = new TempDir();
    const { vsd } = await startVsd(dir, '');
    running = vsd;
    expect(vsd.logs.some((l) => /config file has no virtual services: starting with an empty table/.test(l.msg))).toBe(true);
  });

  it('refuses to start on a misspelt config key, with the hint, exit 1', async () => {
    dir = new TempDir();
    const config = dir.file('vsd.yaml', 'virtual_servers:\n  - address: 10.0.0.1:80\n    lb_algorithm: rr\n');
    const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 's.sock'), '--state', join(dir.path, 'state.json'), '--dataplane', 'none']);
    expect((await vsd.exited).code).toBe(1);
    expect(vsd.stderr).toContain('virtual_servers.0.lb_algorithm: unknown key, did you mean lb_algo?');
    expect(existsSync(join(dir.path, 'state.json'))).toBe(false);
  });

  it('refuses to start when the socket path is a foreign file, and leaves it alone', async () => {
    dir = new TempDir();
    const socket = dir.file('vsd.sock', 'precious data');
    const vsd = spawnVsd(['--config', join(dir.path, 'none.yaml'), '--socket', socket, '--state', join(dir.path, 'state.json'), '--dataplane', 'none']);
    expect((await vsd.exited).code).toBe(1);
    expect(vsd.stderr).toMatch(/control socket .*vsd\.sock: exists and is not a socket/);
    expect(readFileSync(socket, 'utf8')).toBe('precious data');
  });

  it('control API refuses malformed JSON, unknown fields and out-of-range values with nothing changed', async () => {
    dir = new TempDir();
    const { vsd, socket } = await startVsd(dir, ONE_SERVICE);
    running = vsd;
    const client = createControlClient({ socket });
    const before = await client.get<{ generation: number }>('/v1/state');
    const bad = await raw({ socket }, 'POST', '/v1/transactions', '{"ops": [{"op": "clear"}', { 'content-type': 'application/json' });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'VSD_ERR_BAD_REQUEST']);
    const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 };
    const unknown = (await client
      .post('/v1/transactions', { ops: [{ op: 'clear' }, { op: 'add-service', service: { ...svc, port: 81, schedular: 'rr' } }] })
      .catch((e: unknown) => e)) as ControlRequestError;
    expect([unknown.status, unknown.details.field]).toEqual([400, 'ops.1.service.schedular']);
    const range = (await client
      .post('/v1/transactions', { ops: [{ op: 'edit-server', service: svc, server: { address: '10.0.1.1', port: 8080, forwarding: 'masq', weight: 65536 } }] })
      .catch((e: unknown) => e)) as ControlRequestError;
    expect([range.status, range.details.field, range.details.value]).toEqual([400, 'ops.0.server.weight', 65536]);
    expect(await client.get('/v1/state')).toEqual(before);
  });

  it('serves the control API on TCP only with the bearer token', async () => {
    dir = new TempDir();
    const token = dir.file('token', 'tok-123\n');
    const { vsd } = await startVsd(dir, '', ['--listen', '127.0.0.1:0', '--token-file', token]);
    running = vsd;
    const port = (await vsd.waitForLog(/listening on TCP/)).port as number;
    expect((await raw({ host: '127.0.0.1', port }, 'GET', '/v1/state')).status).toBe(401);
    expect((await raw({ host: '127.0.0.1', port }, 'GET', '/v1/state', undefined, { authorization: 'Bearer nope' })).status).toBe(401);
    const ok = await createControlClient({ url: `http://127.0.0.1:${port}`, token: 'tok-123' }).get<{ generation: number }>('/v1/state');
    expect(ok.generation).toBe(0);
  });

  it('prints usage errors with exit 2 and --version', async () => {
    const bad = spawnVsd(['--dataplane', 'fast']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr).toMatch(/--dataplane must be proxy, ipvs, xdp or none/);
    const v = spawnVsd(['--version']);
    let out = '';
    v.child.stdout!.removeAllListeners('data');
    v.child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    expect((await v.exited).code).toBe(0);
    expect(out).toMatch(/^vsd \d+\.\d+\.\d+/);
  });

  it('refuses a second vsd on the same socket, and after a crash (SIGKILL) replaces the stale socket', async () => {
    dir = new TempDir();
    const { vsd, socket, state } = await startVsd(dir, ONE_SERVICE);
    running = vsd;
    const second = spawnVsd(['--config', join(dir.path, 'vsd.yaml'), '--socket', socket, '--state', join(dir.path, 'other.json'), '--dataplane', 'none']);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr).toMatch(/another process is listening on it \(is vsd already running\?\)/);

    vsd.child.kill('SIGKILL');
    await vsd.exited;
    expect(existsSync(socket)).toBe(true);
    const again = await startVsd(dir, ONE_SERVICE);
    running = again.vsd;
    expect(again.state).toBe(state);
    expect(again.vsd.logs.some((l) => /removed a stale control socket/.test(l.msg))).toBe(true);
    expect((await createControlClient({ socket }).get<{ generation: number }>('/v1/state')).generation).toBe(1);
  });
});
